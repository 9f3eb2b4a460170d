"""The optimizer family by name, every member an optax ``GradientTransformation``.

``gd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop``, ``adam`` and ``adamw`` are optax's
own; ``lbfgs`` is optax's L-BFGS with its zoom line search; ``newton`` is written here (optax has
no exact-Hessian method): the Newton direction from the Hessian with each eigenvalue replaced by
its absolute value (floored), so the step always goes downhill, away from saddles and maxima
("saddle-free Newton", Dauphin et al. 2014), followed by a backtracking (Armijo) line search.

Any optax transformation a user builds plugs into the same engine (:mod:`gradscape.runs`).
The learning rate of a named optimizer lives in its state (``optax.inject_hyperparams``), so one
compiled loop serves every learning rate, and many learning rates can run side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import optax

from .errors import InputError, ParameterError, listing

#: Named optimizers, in the order they are listed.
NAMES = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "newton", "lbfgs")

#: Plain gradient descent and its momentum variants: stable below about 2/λmax.
GD_FAMILY = ("gd", "momentum", "nesterov")

#: Default learning rates; ``None``: chosen from the curvature at the start (gd, momentum,
#: nesterov: ``1/λmax``) or by the method's line search (newton takes full steps, lbfgs).
DEFAULT_LR: dict[str, float | None] = {
    "gd": None,
    "momentum": None,
    "nesterov": None,
    "adagrad": 0.1,
    "rmsprop": 0.01,
    "adam": 0.01,
    "adamw": 0.01,
    "newton": 1.0,
    "lbfgs": None,
}

# name -> {option: (default, check, what the check wants)}
_OPTIONS: dict[str, dict[str, tuple[Any, Callable[[float], bool], str]]] = {
    "momentum": {"momentum": (0.9, lambda v: 0 <= v < 1, "in [0, 1)")},
    "nesterov": {"momentum": (0.9, lambda v: 0 <= v < 1, "in [0, 1)")},
    "adagrad": {"eps": (1e-7, lambda v: v > 0, "> 0")},
    "rmsprop": {"decay": (0.9, lambda v: 0 <= v < 1, "in [0, 1)"), "eps": (1e-8, lambda v: v > 0, "> 0")},
    "adam": {
        "b1": (0.9, lambda v: 0 <= v < 1, "in [0, 1)"),
        "b2": (0.999, lambda v: 0 <= v < 1, "in [0, 1)"),
        "eps": (1e-8, lambda v: v > 0, "> 0"),
    },
    "adamw": {
        "b1": (0.9, lambda v: 0 <= v < 1, "in [0, 1)"),
        "b2": (0.999, lambda v: 0 <= v < 1, "in [0, 1)"),
        "eps": (1e-8, lambda v: v > 0, "> 0"),
        "weight_decay": (1e-4, lambda v: v >= 0, ">= 0"),
    },
    "newton": {"floor": (1e-8, lambda v: v > 0, "> 0")},
    "lbfgs": {"memory_size": (10, lambda v: v >= 1 and float(v).is_integer(), "a whole number >= 1")},
}  # fmt: skip


@dataclass(frozen=True)
class Optimizer:
    """A chosen optimizer: its name, learning rate (``None``: the default rule) and options.

    Build one with :func:`optimizer`. ``transformation`` is the optax transformation; for named
    optimizers its learning rate is injected as state, so :func:`gradscape.runs` can set it.
    """

    name: str
    lr: float | None
    options: Mapping[str, float] = field(default_factory=dict)
    custom: Any = field(default=None, repr=False, compare=False)

    @property
    def injects_lr(self) -> bool:
        """Whether the learning rate is a state entry the engine sets (named optimizers)."""
        return self.custom is None and self.name != "lbfgs"

    def describe(self) -> str:
        """``"adam (lr 0.01, b1 0.9, b2 0.999, eps 1e-08)"``."""
        parts = [f"lr {self.lr:g}"] if self.lr is not None else []
        parts += [f"{k} {v:g}" for k, v in self.options.items()]
        return f"{self.name} ({', '.join(parts)})" if parts else self.name

    def transformation(self) -> Any:
        """The optax transformation (with extra-args support: value, grad, value_fn)."""

        if self.custom is not None:
            return optax.with_extra_args_support(self.custom)
        o = dict(self.options)
        lr = 1.0 if self.lr is None else self.lr  # a placeholder where the engine sets it
        inject = optax.inject_hyperparams
        if self.name == "gd":
            return inject(optax.sgd)(learning_rate=lr)
        if self.name in ("momentum", "nesterov"):
            return inject(optax.sgd, static_args=("nesterov",))(
                learning_rate=lr, momentum=o["momentum"], nesterov=self.name == "nesterov"
            )
        if self.name == "adagrad":
            return inject(optax.adagrad)(learning_rate=lr, eps=o["eps"])
        if self.name == "rmsprop":
            return inject(optax.rmsprop)(learning_rate=lr, decay=o["decay"], eps=o["eps"])
        if self.name == "adam":
            return inject(optax.adam)(learning_rate=lr, b1=o["b1"], b2=o["b2"], eps=o["eps"])
        if self.name == "adamw":
            return inject(optax.adamw)(
                learning_rate=lr, b1=o["b1"], b2=o["b2"], eps=o["eps"],
                weight_decay=o["weight_decay"],
            )  # fmt: skip
        if self.name == "newton":
            return inject(newton, static_args=("halvings",))(learning_rate=lr, floor=o["floor"])
        if self.name == "lbfgs":
            return optax.lbfgs(learning_rate=self.lr, memory_size=int(o["memory_size"]))
        raise AssertionError(self.name)  # pragma: no cover - names are checked on creation


def optimizer(name: Any = "gd", *, lr: float | None = None, **options: float) -> Optimizer:
    """Choose an optimizer by name, or wrap an optax ``GradientTransformation``.

    Args:
        name: one of :data:`NAMES`, an :class:`Optimizer` (returned as is), or any optax
            transformation (its own learning rate applies; ``lr`` must not be given).
        lr: learning rate > 0 (default: :data:`DEFAULT_LR`).
        options: the method's hyperparameters, e.g. ``momentum=0.8`` or ``b1=0.95``.

    Raises:
        InputError: unknown name (the known ones are listed), a bad learning rate or option.

    Example:
        >>> optimizer("adam", lr=0.05).describe()
        'adam (lr 0.05, b1 0.9, b2 0.999, eps 1e-08)'
    """
    if isinstance(name, Optimizer):
        return name
    if hasattr(name, "init") and hasattr(name, "update"):
        if lr is not None or options:
            raise InputError(
                "A custom optax transformation carries its own learning rate and options; "
                "do not pass lr or options with it."
            )
        return Optimizer(name=getattr(name, "__name__", "custom"), lr=None, custom=name)
    if not isinstance(name, str):
        raise ParameterError(
            f"An optimizer is a name ({', '.join(NAMES)}) or an optax transformation; "
            f"got {type(name).__name__}."
        )
    key = name.strip().lower()
    if key not in NAMES:
        raise InputError(f"Unknown optimizer {name!r}; the optimizers are {', '.join(NAMES)}.")
    if lr is not None:
        lr = check_lr(lr)
    spec = _OPTIONS.get(key, {})
    unknown = sorted(set(options) - set(spec))
    if unknown:
        known = ", ".join(spec) or "none"
        raise InputError(f"{key} has no option {listing(unknown)}; its options are {known}.")
    values: dict[str, float] = {}
    for opt, (default, ok, want) in spec.items():
        v = options.get(opt, default)
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise InputError(f"{key}: {opt} must be a number {want}; got {v!r}.") from None
        if not (math.isfinite(v) and ok(v)):
            raise InputError(f"{key}: {opt} must be {want}; got {v:g}.")
        values[opt] = v
    return Optimizer(name=key, lr=lr if lr is not None else DEFAULT_LR[key], options=values)


def check_lr(lr: Any) -> float:
    """A learning rate: a finite number > 0."""
    try:
        v = float(lr)
    except (TypeError, ValueError):
        raise InputError(f"The learning rate must be a number > 0; got {lr!r}.") from None
    if not (math.isfinite(v) and v > 0):
        raise InputError(f"The learning rate must be a number > 0; got {v:g}.")
    return v


# -- Newton's method, damped so it only goes downhill ------------------------------------------
def newton(learning_rate: float = 1.0, floor: float = 1e-8, halvings: int = 30) -> Any:
    r"""Exact-Hessian Newton steps that never climb.

    With :math:`H = Q \Lambda Q^\top`, the direction is
    :math:`p = -Q\,|\Lambda|_\delta^{-1} Q^\top g`, each eigenvalue replaced by
    :math:`\max(|\lambda|, \delta)` with :math:`\delta = \text{floor}\cdot\max|\lambda|` (``floor`` when the Hessian is zero).
    On a convex quadratic this is the exact Newton step (the minimum in one step); near a saddle
    or a maximum the negative-curvature directions are followed downhill instead of uphill.
    The step ``t·p`` starts at ``t = learning_rate`` and is halved (up to ``halvings`` times)
    until it decreases ``f`` enough (Armijo, ``c = 1e-4``); if none does, no step is taken. Near a
    minimum, where the decrease falls below the rounding of ``f``, the full step is taken when it
    does not raise ``f`` (beyond 1e-10 relative) and it shrinks the gradient.

    An optax ``GradientTransformationExtraArgs``: ``update`` needs ``params``, ``value`` and
    ``value_fn`` (the engine passes them), and works on flat parameter vectors.
    """

    def init(params: Any) -> Any:
        return optax.EmptyState()

    def update(
        updates: Any, state: Any, params: Any = None, *, value: Any = None,
        value_fn: Callable[[Any], Any] | None = None, **extra: Any,
    ) -> tuple[Any, Any]:  # fmt: skip
        if params is None or value_fn is None or value is None:
            raise ValueError("newton needs params, value and value_fn")
        g = updates
        h = jax.hessian(value_fn)(params)
        lam, q = jnp.linalg.eigh(0.5 * (h + h.T))
        top = jnp.max(jnp.abs(lam))
        delta = floor * jnp.where(top > 0, top, 1.0)  # relative: 1e-9·f steps like f
        p = -q @ ((q.T @ g) / jnp.maximum(jnp.abs(lam), delta))
        ts = learning_rate * 0.5 ** jnp.arange(halvings + 1)
        trial = jax.vmap(value_fn)(params[None, :] + ts[:, None] * p[None, :])
        ok = jnp.isfinite(trial) & (trial <= value + 1e-4 * ts * jnp.dot(g, p))
        # Near a minimum the decrease of f falls below its rounding and Armijo cannot see it;
        # the full step (onto the minimum of the local quadratic) is then taken when it does not
        # raise f beyond rounding and it shrinks the gradient.
        g_full = jax.grad(value_fn)(params + ts[0] * p)
        full = (
            jnp.isfinite(trial[0])
            & (trial[0] <= value + 1e-10 * (1 + jnp.abs(value)))
            & (jnp.linalg.norm(g_full) < jnp.linalg.norm(g))
        )
        t = jnp.where(full | ok[0], ts[0], jnp.where(jnp.any(ok), ts[jnp.argmax(ok)], 0.0))
        return t * p, state

    return optax.GradientTransformationExtraArgs(init, update)


# -- Newton's method on the gradient, for critical points of every kind --------------------------
_ROOTS: list[Any] = []  # the transformation below, built once (its id keys the compiled loop)


def newton_roots() -> Any:
    """Newton's method on ``∇f = 0`` as an optimizer of :mod:`gradscape.runs`: every kind of
    critical point attracts it (minima, maxima, saddles).

    The step solves ``H p = −∇f`` through the eigenvalues of ``H``, ignoring directions whose
    curvature is below 1e-14 of the largest (a pseudo-inverse: no damping of the weakly curved
    directions, so degenerate critical points are still reached), then halves ``t`` (up to 19
    times) until ``‖∇f(x + t p)‖² < ‖∇f(x)‖²``; no step when none does."""
    if _ROOTS:
        return _ROOTS[0]

    def init(params: Any) -> Any:
        return optax.EmptyState()

    def update(
        updates: Any, state: Any, params: Any = None, *, value_fn: Any = None, **extra: Any
    ) -> tuple[Any, Any]:
        g, x = updates, params
        grad = jax.grad(value_fn)
        h = jax.hessian(value_fn)(x)
        lam, q = jnp.linalg.eigh(0.5 * (h + h.T))
        big = jnp.abs(lam) > 1e-14 * jnp.max(jnp.abs(lam))
        p = -q @ jnp.where(big, (q.T @ g) / jnp.where(big, lam, 1.0), 0.0)
        finite = jnp.all(jnp.isfinite(p))
        p = jnp.where(finite, p, 0.0)
        ts = 0.5 ** jnp.arange(20)
        trial = jax.vmap(lambda t: jnp.sum(grad(x + t * p) ** 2))(ts)
        ok = jnp.isfinite(trial) & (trial < jnp.sum(g * g))
        t = jnp.where(jnp.any(ok) & finite, ts[jnp.argmax(ok)], 0.0)
        return t * p, state

    tx = optax.GradientTransformationExtraArgs(init, update)
    _ROOTS.append(Optimizer(name="newton_roots", lr=None, custom=tx))
    return _ROOTS[0]
