"""Curvature where a descent starts and ends: the largest Hessian eigenvalue, the stable step
``2/λmax`` of gradient descent, the condition number; the default learning rate of each optimizer
from it; and the size caps of the methods that form the full Hessian (:data:`MAX_NEWTON_DIM`).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .calculus import hessian
from .errors import InputError, NumericalError
from .objectives import Objective
from .optimizers import DEFAULT_LR, Optimizer

#: Most variables for Newton's method: each step forms the n x n Hessian (n Hessian-vector
#: products) and its eigendecomposition (about 10 n^3 operations, a second at n = 1000).
MAX_NEWTON_DIM = 500
#: Methods that form the full Hessian at every step.
HESSIAN_METHODS = ("newton", "newton_roots")


def hessian_at(obj: Objective, theta: Any) -> np.ndarray | None:
    """The Hessian at ``theta`` in float64, or ``None`` where there is none (a kink or a pole)."""
    try:
        return np.asarray(hessian(obj, theta), dtype=np.float64)
    except (InputError, NumericalError):  # a kink or a pole there: no curvature to report
        return None


def curvature_of(h: np.ndarray | None) -> dict[str, Any] | None:
    """``λmax``, ``λmin``, condition number ``|λ|max/|λ|min`` and the largest stable GD learning
    rate ``2/λmax`` of the Hessian ``h`` (``None`` for ``None``)."""
    if h is None:
        return None
    lam = np.linalg.eigvalsh(0.5 * (h + h.T))
    top, low = float(lam[-1]), float(lam[0])
    absmin = float(np.min(np.abs(lam)))
    return {
        "lambda_max": top,
        "lambda_min": low,
        "condition": float(np.max(np.abs(lam)) / absmin) if absmin > 0 else math.inf,
        "stable_lr": 2.0 / top if top > 0 else None,
    }


def curvature(obj: Objective, theta: Any) -> dict[str, Any] | None:
    """:func:`curvature_of` the Hessian at ``theta`` (``None`` where it is not finite)."""
    return curvature_of(hessian_at(obj, theta))


#: Above this many variables curvature comes from Hessian-vector products (power iteration)
#: instead of the full Hessian.
FULL_HESSIAN_DIM = 500


def spectral_radius(obj: Objective, points: np.ndarray, iters: int = 100) -> np.ndarray:
    """``|λ|max`` of the Hessian at each row of ``points`` by power iteration on Hessian-vector
    products (``n`` numbers per iterate, never the ``n × n`` matrix); shape ``(k,)``.

    ``‖Hv‖`` for a unit ``v`` never exceeds ``|λ|max`` and climbs to it as the iteration
    converges; the largest iterate seen is returned."""

    grad = jax.grad(obj.fn)
    draw = np.random.default_rng(0).normal(size=obj.n)  # fixed: not orthogonal to the top one
    v0 = jnp.asarray(draw / np.linalg.norm(draw))

    def one(x: Any) -> Any:
        def body(_: int, state: Any) -> Any:
            v, top = state
            w = jax.jvp(grad, (x,), (v,))[1]
            size = jnp.linalg.norm(w)
            return jnp.where(size > 0, w / jnp.where(size > 0, size, 1.0), v), jnp.maximum(
                top, size
            )

        return jax.lax.fori_loop(0, iters, body, (v0, jnp.zeros((), x.dtype)))[1]

    key = ("spectral radius", iters)
    if key not in obj.compiled:
        obj.compiled[key] = jax.jit(jax.vmap(one))
    return np.asarray(obj.compiled[key](jnp.asarray(points, dtype=jnp.float64)))


def default_lr(opt: Optimizer, obj: Objective, theta: np.ndarray) -> tuple[float | None, str]:
    """The learning rate a run uses, and why."""
    if opt.custom is not None:
        return None, "set inside the custom transformation"
    if opt.lr is not None:
        if DEFAULT_LR.get(opt.name) == opt.lr:
            return opt.lr, f"the default for {opt.name}"
        return opt.lr, "given"
    if opt.name == "lbfgs":
        return None, "chosen at every step by the zoom line search"
    if obj.n > FULL_HESSIAN_DIM:
        scale = float(spectral_radius(obj, theta[None, :])[0])
        how = "by power iteration on Hessian-vector products at the start"
    else:
        c = curvature(obj, theta)
        scale = max(abs(c["lambda_max"]), abs(c["lambda_min"])) if c else 0.0
        how = "from the Hessian at the start"
    if math.isfinite(scale) and scale > 0:
        return 1.0 / scale, f"1/|λ|max = 1/{scale:.4g} {how}"
    return 0.1, "0.1 (the Hessian at the start is zero, so curvature cannot set it)"


def check_newton_size(opt: Optimizer, obj: Objective) -> None:
    """Refuse a method that forms the full Hessian at every step on more than
    :data:`MAX_NEWTON_DIM` variables."""
    check_newton_dims(opt.name, obj.n, obj.label)


def check_newton_dims(method: str, n: int, label: str) -> None:
    """:func:`check_newton_size` from a method's name, a dimension and a function's name (so a
    caller can refuse before building a large objective)."""
    if method in HESSIAN_METHODS and n > MAX_NEWTON_DIM:
        gib = 8 * n**2 / 2**30
        raise InputError(
            f"{method} forms the {n:,} × {n:,} Hessian ({gib:.2g} GiB) and its "
            f"eigendecomposition (about {10 * n**3:.0e} operations) at every step; it is "
            f"capped at {MAX_NEWTON_DIM} variables (gradscape.runs.MAX_NEWTON_DIM). Use a "
            f"first-order method (lbfgs, adam, gd) for {label} in {n:,} variables."
        )


#: Standard starts from the literature: the pattern (repeated over the variables) and its source.
