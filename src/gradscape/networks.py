"""Models as pure ``init`` / ``apply`` functions over pytrees, with their losses and metrics.

A model is anything with ``init(key) -> params`` and ``apply(params, x) -> outputs``: the
built-in ones below (linear regression, logistic/softmax regression, multilayer perceptrons), or
a user's own JAX model (plain functions, Equinox, Flax), which plugs into the same training and
analysis. Parameters are float32 (neural networks); outputs have shape ``(batch, n_out)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "softplus")
LOSSES = ("mse", "sse", "cross_entropy")
#: Most weights of a built-in model (float32: 80 MB for the weights, about 5× that to train).
MAX_WEIGHTS = 20_000_000


@dataclass(frozen=True)
class Model:
    """A dense network: ``sizes`` from inputs to outputs, ``activation`` between layers.

    ``Model("linear", (n_in, n_out))`` has no hidden layer (linear or softmax regression);
    ``mlp`` models have hidden layers. Weights use He (relu-like) or Glorot initialisation.
    """

    kind: str
    sizes: tuple[int, ...]
    activation: str = "relu"

    @property
    def spec(self) -> str:
        """The model as written on the command line, e.g. ``mlp:64,32``."""
        if self.kind == "mlp":
            return "mlp:" + ",".join(map(str, self.sizes[1:-1]))
        return self.kind

    def init(self, key: Any) -> list[dict[str, Any]]:
        import jax
        import jax.numpy as jnp

        params = []
        keys = jax.random.split(key, len(self.sizes) - 1)
        gain = 2.0 if self.activation in ("relu", "gelu", "softplus") else 1.0
        for k, (n_in, n_out) in zip(
            keys, zip(self.sizes[:-1], self.sizes[1:], strict=True), strict=True
        ):
            std = math.sqrt(gain / n_in) if len(self.sizes) > 2 else 0.0
            w = (
                std * jax.random.normal(k, (n_in, n_out), jnp.float32)
                if std
                else jnp.zeros((n_in, n_out), jnp.float32)
            )
            params.append({"w": w, "b": jnp.zeros((n_out,), jnp.float32)})
        return params

    def apply(self, params: list[dict[str, Any]], x: Any) -> Any:
        act = _activation(self.activation)
        h = x
        for i, layer in enumerate(params):
            h = h @ layer["w"] + layer["b"]
            if i < len(params) - 1:
                h = act(h)
        return h

    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True))


def _activation(name: str) -> Callable[[Any], Any]:
    import jax

    return {
        "relu": jax.nn.relu, "tanh": jax.numpy.tanh, "sigmoid": jax.nn.sigmoid,
        "gelu": jax.nn.gelu, "softplus": jax.nn.softplus,
    }[name]  # fmt: skip


_SPEC = re.compile(r"\s*(linear|logistic|softmax|mlp)\s*(?::\s*([0-9 ,]+))?\s*", re.IGNORECASE)


def model(spec: str, n_in: int, n_out: int, *, activation: str = "relu") -> Model:
    """A built-in model from its spec: ``linear``, ``logistic`` (= ``softmax``), ``mlp:64,32``.

    Raises:
        InputError: an unknown spec or activation, or layer sizes that are not whole numbers >= 1.
    """
    m = _SPEC.fullmatch(spec or "")
    if m is None:
        raise InputError(
            f"Unknown model {spec!r}; write linear, logistic or mlp:H1,H2,... (e.g. mlp:64,32)."
        )
    if activation not in ACTIVATIONS:
        raise InputError(
            f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}."
        )
    kind = m.group(1).lower()
    if kind in ("linear", "logistic", "softmax"):
        if m.group(2):
            raise InputError(
                f"{kind} has no hidden layers; for hidden layers write mlp:{m.group(2).strip()}."
            )
        return Model("linear" if kind == "linear" else "logistic", (n_in, n_out), activation)
    if not m.group(2):
        raise InputError("mlp needs its hidden layer sizes, e.g. mlp:64 or mlp:64,32.")
    try:
        hidden = tuple(int(v) for v in m.group(2).split(",") if v.strip())
    except ValueError:
        raise InputError(f"mlp layer sizes must be whole numbers; got {m.group(2)!r}.") from None
    if not hidden or min(hidden) < 1 or max(hidden) > 65536:
        raise InputError(
            f"mlp layer sizes must be whole numbers from 1 to 65536; got {m.group(2)!r}."
        )
    net = Model("mlp", (n_in, *hidden, n_out), activation)
    if net.n_params() > MAX_WEIGHTS:
        raise InputError(
            f"{spec} on {n_in} features has {net.n_params():,} weights; the limit is "
            f"{MAX_WEIGHTS:,} (MAX_WEIGHTS). Use smaller layers."
        )
    return net


# -- losses and metrics ---------------------------------------------------------------------------
def loss_fn(name: str) -> Callable[[Any, Any, Any], Any]:
    """``loss(outputs, targets, weights)``: a weighted mean over the batch (``sse``: a sum)."""
    import jax.numpy as jnp
    import optax

    if name == "cross_entropy":

        def ce(out: Any, y: Any, w: Any) -> Any:
            per = optax.softmax_cross_entropy_with_integer_labels(out, y)
            return jnp.sum(w * per) / jnp.maximum(jnp.sum(w), 1.0)

        return ce
    if name in ("mse", "sse"):

        def sq(out: Any, y: Any, w: Any) -> Any:
            per = (out[:, 0] - y) ** 2
            total = jnp.sum(w * per)
            return total if name == "sse" else total / jnp.maximum(jnp.sum(w), 1.0)

        return sq
    raise InputError(f"Unknown loss {name!r}; choose one of {', '.join(LOSSES)}.")


def metric(task: str, outputs: np.ndarray, y: np.ndarray) -> float:
    """Accuracy for classification, R² for regression."""
    outputs = np.asarray(outputs)
    if task == "classification":
        return float(np.mean(np.argmax(outputs, axis=1) == y))
    pred = outputs[:, 0]
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - np.mean(y)) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def metric_name(task: str) -> str:
    return "accuracy" if task == "classification" else "r2"
