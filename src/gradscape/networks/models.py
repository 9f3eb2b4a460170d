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

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..errors import InputError, printable

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
    return {
        "relu": jax.nn.relu, "tanh": jax.numpy.tanh, "sigmoid": jax.nn.sigmoid,
        "gelu": jax.nn.gelu, "softplus": jax.nn.softplus,
    }[name]  # fmt: skip


#: Model kinds a spec may name (``softmax`` is ``logistic``).
KINDS = ("linear", "logistic", "softmax", "mlp")
#: Widest hidden layer and most hidden layers an ``mlp`` spec may ask for.
MAX_WIDTH = 65_536
MAX_LAYERS = 32
_WIDTH = re.compile(r"[0-9]+")
_HOW = "write linear, logistic or mlp:H1,H2,... (e.g. mlp:64,32)"


def _hidden_sizes(spec: str, sizes: str) -> tuple[int, ...]:
    """The hidden layer widths of ``mlp:SIZES``, read strictly: whole numbers from 1 to
    :data:`MAX_WIDTH`, one comma between them, no spaces, no empty parts."""
    shown = f"'{printable(spec.strip(), 60)}'"
    if not sizes:
        raise InputError(
            f"mlp needs its hidden layer sizes, e.g. mlp:64 or mlp:64,32; got {shown}."
        )
    parts = sizes.split(",")
    if len(parts) > MAX_LAYERS:
        raise InputError(
            f"{shown} asks for {len(parts):,} hidden layers; at most {MAX_LAYERS} (MAX_LAYERS)."
        )
    out = []
    for k, part in enumerate(parts, 1):
        if not part:
            raise InputError(
                f"{shown} has an empty layer size (part {k}); separate the sizes by single "
                "commas, with none at either end, e.g. mlp:64,32."
            )
        if part != part.strip() or " " in part:
            raise InputError(
                f"{shown} holds a space; write the sizes without spaces, e.g. mlp:64,32."
            )
        # at most 6 digits before int(): a 5,000-digit size would pass Python's digit limit
        width = int(part) if _WIDTH.fullmatch(part) and len(part) <= 6 else 0
        if not 1 <= width <= MAX_WIDTH:
            raise InputError(
                f"mlp layer sizes must be whole numbers from 1 to {MAX_WIDTH:,} (MAX_WIDTH); "
                f"got {printable(part, 30)!r} in {shown}."
            )
        out.append(width)
    return tuple(out)


def model(spec: str, n_in: int, n_out: int, *, activation: str = "relu") -> Model:
    """A built-in model from its spec: ``linear``, ``logistic`` (= ``softmax``), ``mlp:64,32``.

    The spec is read strictly (surrounding spaces aside): an empty size (``mlp:64,,3``), a
    trailing comma, a space, zero, a sign or a fraction is refused with the rule.

    Raises:
        InputError: an unknown spec or activation; layer sizes that are not whole numbers from 1
            to :data:`MAX_WIDTH`, more than :data:`MAX_LAYERS` of them, or more than
            :data:`MAX_WEIGHTS` weights in all.
    """
    if not isinstance(spec, str):
        raise InputError(f"A model spec is text such as mlp:64,32; got {type(spec).__name__}.")
    kind, colon, sizes = spec.strip().partition(":")
    shown = f"'{printable(spec.strip(), 60)}'"
    if kind.strip().lower() in KINDS and kind != kind.strip():
        raise InputError(f"{shown} holds a space; {_HOW}.")
    if kind.lower() not in KINDS:
        raise InputError(f"Unknown model {shown}; {_HOW}.")
    if activation not in ACTIVATIONS:
        raise InputError(
            f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}."
        )
    kind = kind.lower()
    if kind != "mlp":
        if colon:
            raise InputError(
                f"{kind} has no hidden layers; for hidden layers write mlp:{printable(sizes, 40)}."
            )
        return Model("linear" if kind == "linear" else "logistic", (n_in, n_out), activation)
    hidden = _hidden_sizes(spec, sizes)
    net = Model("mlp", (n_in, *hidden, n_out), activation)
    if net.n_params() > MAX_WEIGHTS:
        raise InputError(
            f"{spec.strip()} on {n_in} features has {net.n_params():,} weights; the limit is "
            f"{MAX_WEIGHTS:,} (MAX_WEIGHTS). Use smaller layers."
        )
    return net


# -- losses and metrics ---------------------------------------------------------------------------
def loss_fn(name: str) -> Callable[[Any, Any, Any], Any]:
    """``loss(outputs, targets, weights)``: a weighted mean over the batch (``sse``: a sum)."""

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
