"""What a network predicts over the box of its inputs, for pictures of one or two features: the
decision boundary of a classifier (the probability of a class, or the class, on a grid) and the
fitted curve or surface of a regression.

The grid lies in the data's own units (the standardisation of the split is undone for the
axes and applied before the model sees a point), over the box of every row with a margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import InputError, whole_number
from .datasets import Split

#: Most points along each side of a prediction grid.
MAX_SIDE = 401
#: Most rows :func:`data_points` returns per part.
MAX_POINTS = 5_000


@dataclass(frozen=True)
class PredictionGrid:
    """A model's predictions on a grid over the inputs' box.

    Attributes:
        xs: grid coordinates of the first feature, shape ``(n,)``; ``ys``: of the second (empty
            for one feature), shape ``(m,)``.
        values: shape ``(m, n)`` (two features) or ``(n,)`` (one): ``probability`` of class 1
            (two classes; the decision boundary is where it crosses 0.5), the predicted
            ``class`` (more classes) or the predicted ``value`` (regression), per ``kind``.
        features: the two (or one) feature names.
    """

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    kind: str
    features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"xs": self.xs, "ys": self.ys, "values": self.values, "kind": self.kind,
                "features": list(self.features)}  # fmt: skip


def _check_plottable(split: Split) -> None:
    if split.n_features not in (1, 2):
        raise InputError(
            f"{split.name} has {split.n_features} features; a picture of the predictions needs "
            "one or two."
        )


def box(split: Split, margin: float = 0.1) -> np.ndarray:
    """The inputs' box in the data's units, every part's rows, widened by ``margin`` of its
    width on each side: shape ``(n_features, 2)`` (low, high)."""
    _check_plottable(split)
    x = np.concatenate([split.x_train, split.x_val, split.x_test]).astype(np.float64)
    raw = x * split.scale + split.mean
    lo, hi = raw.min(axis=0), raw.max(axis=0)
    pad = margin * np.where(hi > lo, hi - lo, 1.0)
    return np.column_stack([lo - pad, hi + pad])


_APPLY: dict[Any, Any] = {}


def _apply(net: Any) -> Any:
    """``net.apply`` compiled, kept per model (a user's model that cannot be a key is not)."""
    try:
        hash(net)
    except TypeError:
        return net.apply
    if net not in _APPLY:
        if len(_APPLY) > 32:
            _APPLY.clear()
        _APPLY[net] = jax.jit(net.apply)
    return _APPLY[net]


def prediction_grid(net: Any, params: Any, split: Split, side: int = 61) -> PredictionGrid:
    """The predictions of ``net`` with weights ``params`` on a grid over the box of ``split``'s
    inputs (:func:`box`): ``side`` points per feature (one or two features).

    Raises:
        InputError: more than two features, or ``side`` outside ``2 … MAX_SIDE``.
    """
    side = whole_number(side, "side", 2, MAX_SIDE, "MAX_SIDE")
    b = box(split)
    axes = [np.linspace(lo, hi, side) for lo, hi in b]
    if split.n_features == 2:
        gx, gy = np.meshgrid(axes[0], axes[1])
        raw = np.column_stack([gx.ravel(), gy.ravel()])
    else:
        raw = axes[0][:, None]
    x = ((raw - split.mean) / split.scale).astype(np.float32)
    out = np.asarray(_apply(net)(params, jnp.asarray(x)), dtype=np.float64)
    if split.task == "classification":
        if out.shape[1] == 2:
            z = out[:, 1] - out[:, 0]
            values, kind = 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700))), "probability"
        else:
            values, kind = np.argmax(out, axis=1).astype(np.float64), "class"
    else:
        values, kind = out[:, 0], "value"
    shape = (side, side) if split.n_features == 2 else (side,)
    ys = axes[1] if split.n_features == 2 else np.empty(0)
    return PredictionGrid(axes[0], ys, values.reshape(shape), kind, tuple(split.features))


def data_points(split: Split, parts: tuple[str, ...] = ("train", "val"),
                limit: int = MAX_POINTS) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """The rows of ``parts`` in the data's own units (standardisation undone), at most ``limit``
    each (the first ones): ``{part: {"x": (k, n_features), "y": (k,)}}``."""
    limit = whole_number(limit, "limit", 1, MAX_POINTS, "MAX_POINTS")
    out = {}
    for part in parts:
        x = np.asarray(getattr(split, f"x_{part}"), np.float64)[:limit]
        out[part] = {"x": x * split.scale + split.mean,
                     "y": np.asarray(getattr(split, f"y_{part}"))[:limit]}  # fmt: skip
    return out
