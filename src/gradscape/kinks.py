"""One-sided derivatives at points where a function is not smooth (``|x|`` at 0, ``relu``, a
``max`` whose arguments tie, ``sqrt`` of 0, a jump of ``sign``).

Autodiff returns *a* number at a kink (JAX's convention picks one side), and central differences
return the average of the two sides; neither is a derivative. Here ``f`` is probed along rays
``θ + t·d`` for shrinking ``t > 0``: the slope ``φ'(t) = ∇f(θ + t d)·d`` and curvature
``φ''(t) = dᵀ H(θ + t d) d`` just beside the point tend to the one-sided directional derivatives

.. math:: D_d f(θ) = \\lim_{t \\to 0^+} \\frac{f(θ + t d) - f(θ)}{t}, \\qquad
          D^2_d f(θ) = \\lim_{t \\to 0^+} φ''(t),

which are extrapolated from four steps (Aitken's Δ², exact when the error shrinks
geometrically). A value that does not settle but grows is an infinite slope (``x^(1/3)`` at 0);
a value ``f(θ + t d) − f(θ)`` that does not shrink with ``t`` is a jump (``sign`` at 0).

From the coordinate directions ``±e_i`` come the left and right partial derivatives; ``f`` is
differentiable when they agree and every other probed direction ``d`` has
``D_d f = ∇f · d``. The kind of point follows from the sign of each direction's first
non-zero term ``D_d f · t + D^2_d f · t²/2``: up in every direction is a minimum (for one
variable the two directions are all there are; with more, the verdict rests on the directions
probed, which are said).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .objectives import Objective

#: Steps ``t`` of the probes, relative to ``max(1, |θ|)``: small enough to see the side of a
#: kink, large enough that ``θ + t d`` differs from ``θ`` in float64.
PROBE_STEPS = (1e-5, 1e-6, 1e-7, 1e-8)
#: Random directions probed beyond the coordinate axes when there are two or more variables.
RANDOM_DIRECTIONS = 24
#: Most variables probed (2n + extra directions, each a vector of n numbers).
MAX_PROBE_VARIABLES = 500
_SETTLED = 1e-7  # relative change below which a probed sequence has converged


@dataclass(frozen=True)
class OneSided:
    """What the probes found at one point.

    Attributes:
        names: the parameter names.
        left, right: the one-sided partial derivatives ``∂f/∂θ_i`` from below and above,
            shape ``(n,)``; ``±inf`` for an infinite slope or a jump, ``nan`` where ``f`` is
            undefined on that side.
        jumps: names whose coordinate line has a jump of ``f`` at the point.
        differentiable: the one-sided partials agree and every probed direction's slope is
            ``∇f · d``.
        gradient: the common value of the one-sided partials when ``differentiable``.
        kind: ``"minimum"``, ``"maximum"``, ``"not an extremum"`` or ``"undecided"``.
        kind_basis: how the kind was decided, in words.
        directions: how many directions were probed.
    """

    names: tuple[str, ...]
    left: np.ndarray
    right: np.ndarray
    jumps: tuple[str, ...]
    differentiable: bool
    gradient: np.ndarray | None
    kind: str
    kind_basis: str
    directions: int


def _limit(seq: np.ndarray) -> float:
    """The limit of a sequence sampled at steps shrinking tenfold: its settled value, an
    Aitken extrapolation of a converging tail, ``±inf`` for a growing one, else ``nan``."""
    if not np.all(np.isfinite(seq)):
        return math.nan
    a, b, c = (float(v) for v in seq[-3:])
    d1, d2 = b - a, c - b
    size = max(abs(a), abs(b), abs(c))
    if abs(d2) <= _SETTLED * size or size == 0.0:
        return c
    if abs(d2) < 0.9 * abs(d1):  # shrinking differences: converging, perhaps slowly
        return c - d2 * d2 / (d2 - d1)
    if abs(c) > abs(b) > abs(a) and np.sign(a) == np.sign(b) == np.sign(c):
        return math.copysign(math.inf, c)
    return math.nan


def _directions(n: int, seed: int = 0) -> np.ndarray:
    """``+e_i`` then ``−e_i`` for every axis, then (for n ≥ 2) diagonals of small problems and
    seeded random unit directions with their opposites."""
    eye = np.eye(n)
    dirs = [eye, -eye]
    if n >= 2:
        if n <= 6:
            pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
            diag = np.array([eye[i] + s * eye[j] for i, j in pairs for s in (1, -1)])
            dirs += [diag / math.sqrt(2), -diag / math.sqrt(2)]
        rand = np.random.default_rng(seed).normal(size=(RANDOM_DIRECTIONS, n))
        rand /= np.linalg.norm(rand, axis=1, keepdims=True)
        dirs += [rand, -rand]
    return np.concatenate(dirs)


def _probe_kernel(obj: Objective) -> Any:
    """``(f, φ', φ'')`` at ``θ + t·d`` for batches of ``(d, t)``, compiled once per objective."""
    import jax

    key = "one-sided probes"
    if key not in obj.compiled:

        def probe(theta: Any, d: Any, t: Any) -> Any:
            x = theta + t * d

            def slope(y: Any) -> Any:
                return jax.jvp(obj.fn, (y,), (d,))[1]

            fx, g = jax.jvp(obj.fn, (x,), (d,))
            return fx, g, jax.jvp(slope, (x,), (d,))[1]

        obj.compiled[key] = jax.jit(jax.vmap(probe, in_axes=(None, 0, 0)))
    return obj.compiled[key]


@with_x64
def one_sided(obj: Objective, at: Any, *, seed: int = 0) -> OneSided:
    """Probe ``obj`` around ``at`` from every side: one-sided partial derivatives, whether it is
    differentiable, and the kind of point where that can be decided.

    Args:
        at: the point (mapping, sequence or array).
        seed: seeds the random directions probed beyond the axes.

    Raises:
        InputError: more than :data:`MAX_PROBE_VARIABLES` parameters.
    """
    import jax.numpy as jnp

    from .errors import InputError

    theta = obj.vector(at)
    n = theta.size
    if n > MAX_PROBE_VARIABLES:
        raise InputError(
            f"One-sided derivatives are probed for at most {MAX_PROBE_VARIABLES:,} parameters; "
            f"{obj.signature()} has {n:,}."
        )
    f0 = float(obj.jit_value(jnp.asarray(theta)))
    dirs = _directions(n, seed)
    scale = max(1.0, float(np.max(np.abs(theta))))
    steps = scale * np.asarray(PROBE_STEPS)
    k, m = dirs.shape[0], steps.size
    d_all = np.repeat(dirs, m, axis=0)
    t_all = np.tile(steps, k)
    fx, g, q = (
        np.asarray(a, np.float64).reshape(k, m)
        for a in _probe_kernel(obj)(jnp.asarray(theta), jnp.asarray(d_all), jnp.asarray(t_all))
    )
    rise = fx - f0
    slope = np.array([_limit(g[i]) for i in range(k)])
    for j in np.flatnonzero(np.isnan(slope)):  # autodiff undefined beside the point: quotients
        slope[j] = _limit(rise[j] / steps)
    curve = np.array([_limit(q[i]) for i in range(k)])
    jump = np.zeros(k, dtype=bool)
    for i in range(k):
        if not np.all(np.isfinite(fx[i])):
            slope[i] = curve[i] = math.nan  # undefined on this side: the edge of the domain
        elif _jumps(rise[i], f0):
            jump[i] = True  # f(θ + t d) − f(θ) does not shrink with t
            slope[i] = math.copysign(math.inf, rise[i, -1])
            curve[i] = math.nan
    right, left = slope[:n], -slope[n : 2 * n]
    names = obj.names
    jumps = tuple(names[i] for i in range(n) if jump[i] or jump[n + i])
    # Rounding floors: a slope or curvature this small beside the point counts as zero.
    floor_g = 1e-6 * float(np.max(np.abs(g[np.isfinite(g)]), initial=0.0))
    floor_q = 1e-6 * float(np.max(np.abs(q[np.isfinite(q)]), initial=0.0))
    left, right = (np.where(np.abs(v) <= floor_g, 0.0, v) for v in (left, right))  # no -0, dust
    gradient, differentiable = _gradient(left, right, dirs, slope, jump, floor_g)
    kind, basis = _kind(n, slope, curve, rise, floor_g, floor_q)
    return OneSided(
        names=names,
        left=left,
        right=right,
        jumps=jumps,
        differentiable=differentiable,
        gradient=gradient,
        kind=kind,
        kind_basis=basis,
        directions=k,
    )


def _jumps(rise: np.ndarray, f0: float) -> bool:
    """Whether ``f(θ + t d) − f(θ)`` stays put as ``t`` shrinks tenfold: a jump, not a slope."""
    last = abs(float(rise[-1]))
    return last > 1e-9 * max(1.0, abs(f0)) and abs(float(rise[-1] - rise[-2])) <= 1e-3 * last


def _gradient(
    left: np.ndarray,
    right: np.ndarray,
    dirs: np.ndarray,
    slope: np.ndarray,
    jump: np.ndarray,
    floor: float,
) -> tuple[np.ndarray | None, bool]:
    """The gradient if the one-sided partials agree and predict every probed slope."""
    if jump.any() or not (np.all(np.isfinite(left)) and np.all(np.isfinite(slope))):
        return None, False
    tol = max(1e-6 * float(np.max(np.abs(slope))), floor, np.finfo(np.float64).tiny)
    if np.max(np.abs(left - right)) > tol:
        return None, False
    g = (left + right) / 2
    if np.max(np.abs(dirs @ g - slope)) > tol:
        return None, False  # partials exist, yet some other direction does not follow them
    return g, True


def _side(s: float, c: float, rise: np.ndarray, floor_g: float, floor_q: float) -> int | None:
    """+1 if f rises along a direction, −1 if it falls, 0 if level; ``None`` if undefined."""
    if math.isnan(s):
        return None
    if abs(s) > floor_g:
        return int(np.sign(s))
    if math.isfinite(c) and abs(c) > floor_q:
        return int(np.sign(c))
    signs = np.sign(rise)  # flat to second order: the values themselves decide
    return int(signs[0]) if np.all(signs == signs[0]) else 0


def _kind(
    n: int,
    slope: np.ndarray,
    curve: np.ndarray,
    rise: np.ndarray,
    floor_g: float,
    floor_q: float,
) -> tuple[str, str]:
    """Up, down or level along each direction from its first non-zero term; the verdict."""
    sides = [_side(*a, floor_g, floor_q) for a in zip(slope, curve, rise, strict=True)]
    signs = [s for s in sides if s is not None]
    edge = len(signs) < slope.size
    if n == 1:
        where = (
            "both sides" if not edge else "the side where it is defined (the edge of its domain)"
        )
    else:
        where = f"every one of the {len(signs)} directions probed (the axes and others)"
        where += " where it is defined (the edge of its domain)" if edge else ""
    if not signs:
        return "undecided", "f is undefined on every side probed"
    if 1 in signs and -1 in signs:
        return "not an extremum", "f rises along some directions and falls along others"
    level = " or stays level (not a strict extremum)" if 0 in signs else ""
    if all(s == 0 for s in signs):
        return "undecided", "f stays level along every direction probed"
    if all(s >= 0 for s in signs):
        return "minimum", f"f rises{level} along {where}"
    return "maximum", f"f falls{level} along {where}"
