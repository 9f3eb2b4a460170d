"""One-sided derivatives at points where a function is not smooth (``|x|`` at 0, ``relu``, a
``max`` whose arguments tie, ``sqrt`` of 0, a jump of ``sign``).

Autodiff returns *a* number at a kink (JAX's convention picks one side), and central differences
return the average of the two sides; neither is a derivative. Here ``f`` is probed along rays
``θ + t·d`` for shrinking ``t > 0``: the slope ``φ'(t) = ∇f(θ + t d)·d`` and curvature
``φ''(t) = dᵀ H(θ + t d) d`` just beside the point tend to the one-sided directional derivatives

.. math:: D_d f(θ) = \\lim_{t \\to 0^+} \\frac{f(θ + t d) - f(θ)}{t}, \\qquad
          D^2_d f(θ) = \\lim_{t \\to 0^+} φ''(t),

which are read from the smallest steps of a ladder shrinking tenfold (Aitken's Δ² where they
still move, exact when the error shrinks geometrically). A value that does not settle but grows
is an infinite slope (``x^(1/3)`` at 0); a value ``f(θ + t d) − f(θ)`` that does not shrink with
``t`` is a jump (``sign`` at 0).

*At* a corner or only *near* it: a part's corner is at the point when the part's own argument
is zero there, or within its rounding (:func:`corners`). A corner near the point but not at it
(``|x|`` at ``x = 1e-9``) leaves ``f`` smooth there; the probes then stay closer than that
corner along every direction, and where it is nearer than float64 lets them step, they say so.

From the coordinate directions ``±e_i`` come the left and right partial derivatives; ``f`` is
differentiable when they agree and every other probed direction ``d`` has
``D_d f = ∇f · d``. The kind of point follows from the sign of each direction's first
non-zero term ``D_d f · t + D^2_d f · t²/2``: up in every direction is a minimum (for one
variable the two directions are all there are; with more, the verdict rests on the directions
probed, which are said).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from ._x64 import with_x64, x64
from .errors import InputError
from .expr import relu, to_jax
from .expr.expression import _kink, _value
from .objectives import Objective

#: Steps ``t`` of the probes, relative to ``max(1, |θ|)``: the largest is small enough to see the
#: side of a kink; they shrink tenfold down to :data:`PROBE_LADDER` steps, or to a few dozen
#: ulps of the point, whichever comes first. Autodiff slopes beside the point need no
#: cancellation, so the smallest steps are exact; they see the point's own side of a corner
#: that lies near it (``|x|`` at ``1e-9``) where larger steps straddle it.
PROBE_STEPS = (1e-5, 1e-6, 1e-7, 1e-8)
#: Most steps in a probe's ladder (each a tenth of the one before).
PROBE_LADDER = 10
#: Steps used for difference quotients (where autodiff is undefined beside the point):
#: no smaller than this, relative to ``max(1, |θ|)``, so rounding stays small.
_QUOTIENT_STEP = 1e-8
#: Random directions probed beyond the coordinate axes when there are two or more variables.
RANDOM_DIRECTIONS = 24
#: Most variables probed (2n + extra directions, each a vector of n numbers).
MAX_PROBE_VARIABLES = 500
_SETTLED = 1e-7  # relative change below which a probed sequence has converged
_ULPS = 64  # smallest step, in units of the point's rounding (eps·|θ|): θ + t·d is then exact to 2%
_MARGIN = 10.0  # a probe's largest step is this many times closer than a nearby corner


@dataclass(frozen=True)
class Corner:
    """A part of an expression that is not smooth somewhere, seen from one point.

    Attributes:
        phrase: the part and its corner in words (``"abs(x) has a corner where x = 0"``).
        u: the part's own argument measured from its corner (``x`` for ``abs(x)``, the gap
            between the tied arguments of a ``max``), at the point.
        grad_u: ``∇u`` at the point, shape ``(n,)``.
        at: the corner is at the point: ``u`` is zero, or within its rounding
            (``|u| <= 4 ε Σ_i |∂u/∂θ_i| |θ_i|``: closer than float64 can tell from the point).
    """

    phrase: str
    u: float
    grad_u: np.ndarray
    at: bool

    def distance(self, dirs: np.ndarray) -> np.ndarray:
        """How far along each direction (rows of ``dirs``) the corner lies, to first order:
        ``|u| / |∇u · d|`` (``inf`` along directions that keep ``u`` level)."""
        with np.errstate(divide="ignore"):
            d: np.ndarray = np.abs(self.u) / np.abs(dirs @ self.grad_u)
        return d


def may_kink(obj: Objective) -> bool:
    """Whether ``obj`` may fail to be smooth somewhere: its formula holds a part that can
    (``abs``, ``relu``, ``max``, ``sqrt``…), or it has no formula to tell."""
    if obj.expression is None:
        return not obj.smooth
    return bool(obj.expression._may_kink)


def corners(expression: Any, theta: Any) -> list[Corner]:
    """Every part of ``expression`` that can fail to be smooth (``abs``, ``relu``, ``max``/``min``,
    ``sign``, ``heaviside``, powers below 1, ``asin``…), with how far its corner lies from
    ``theta`` and whether it lies at ``theta`` (within rounding).

    The argument ``u`` of each part and its gradient come from one autodiff pass over all the
    parts; a part whose argument is not finite at ``theta`` is left out."""
    if not expression._may_kink:
        return []
    theta = np.asarray(theta, dtype=np.float64)
    try:
        values, nodes = expression._values(theta)
    except Exception:
        return []
    found: list[tuple[str, Any, float]] = []
    seen: set[str] = set()
    for node in nodes:
        args = [_value(values, a) for a in node.args]
        phrase = _kink(node, args, math.inf)  # every part that has a corner somewhere
        if phrase is None or phrase in seen:
            continue
        gap = _gap(node, args)
        if gap is None:
            continue
        u_expr, u = gap
        seen.add(phrase)
        found.append((phrase, u_expr, u))
    if not found:
        return []
    grads = _gradients(expression, [e for _, e, _ in found], theta)
    eps = float(np.finfo(np.float64).eps)
    out = []
    for (phrase, _, u), gu in zip(found, grads, strict=True):
        rounding = 4 * eps * float(np.sum(np.abs(gu) * np.abs(theta)))
        out.append(Corner(phrase, u, gu, at=bool(u == 0 or abs(u) <= rounding)))
    return out


def on_corners(obj: Objective, points: np.ndarray) -> np.ndarray:
    """Which rows of ``points`` sit exactly on the corner of some part of ``obj``'s formula
    (an argument of ``abs``/``relu``/``sign`` or a power's base at 0, a ``max``/``min`` tie,
    ``asin`` at ±1…), all rows at once. False everywhere for an objective without a formula."""
    out = np.zeros(len(points), dtype=bool)
    expr = obj.expression
    if expr is None or not expr._may_kink or not len(points):
        return out
    nodes = [
        node
        for node in sp.postorder_traversal(expr.sympy)
        if not node.is_Atom and _kink(node, [0.0] * len(node.args), math.inf) is not None
    ]
    key = "corner arguments"
    if key not in obj.compiled:
        flat = [a for node in nodes for a in node.args]

        def args(t: Any) -> Any:
            memo: dict[Any, Any] = {}
            return jnp.stack([jnp.asarray(to_jax(a, expr.symbols, memo=memo)(t), t.dtype)
                              for a in flat])  # fmt: skip

        obj.compiled[key] = jax.jit(jax.vmap(args)) if flat else None
    if obj.compiled[key] is None:
        return out
    with x64():
        values = np.asarray(obj.compiled[key](jnp.asarray(points, jnp.float64)), np.float64)
    col = 0
    for node in nodes:
        a = values[:, col : col + len(node.args)]
        col += len(node.args)
        out |= _on_corner(node, a)
    return out


def _on_corner(node: Any, a: np.ndarray) -> np.ndarray:
    """Rows of arguments ``a`` (shape ``(P, args)``) at which ``node`` is at its corner."""
    f = node.func
    if f in (sp.Max, sp.Min):
        top = np.sort(a, axis=1)
        pair = top[:, -2:] if f is sp.Max else top[:, :2]
        at: np.ndarray = (pair[:, 0] == pair[:, 1]) & (a.shape[1] > 1)
    elif f in (sp.asin, sp.acos, sp.atanh):
        at = np.abs(a[:, 0]) == 1
    elif f is sp.acosh:
        at = a[:, 0] == 1
    else:
        at = a[:, 0] == 0  # abs, relu, sign, heaviside, a power's base
    return at


def _gap(node: Any, args: list[float]) -> tuple[Any, float] | None:
    """``(u, value of u)``: the argument of a part measured from its corner."""
    f = node.func
    if f in (sp.Abs, relu, sp.sign, sp.Heaviside):
        return node.args[0], args[0]
    if node.is_Pow:
        return node.base, args[0]
    if f in (sp.asin, sp.acos, sp.atanh):
        side = 1 if args[0] >= 0 else -1  # the nearer of ±1
        return node.args[0] - side, args[0] - side
    if f is sp.acosh:
        return node.args[0] - 1, args[0] - 1
    if f in (sp.Max, sp.Min):
        order = np.argsort(args)
        i, j = (order[-1], order[-2]) if f is sp.Max else (order[1], order[0])
        return node.args[i] - node.args[j], args[i] - args[j]  # winner minus the runner-up
    return None


def _gradients(expression: Any, parts: list[Any], theta: np.ndarray) -> np.ndarray:
    """``∇u`` of every part's argument at ``theta``, shape ``(k, n)``, in one reverse pass."""

    def args(t: Any) -> Any:
        memo: dict[Any, Any] = {}  # shared: a subexpression common to parts is computed once
        return jnp.stack(
            [jnp.asarray(to_jax(p, expression.symbols, memo=memo)(t), t.dtype) for p in parts]
        )

    with x64():
        jac = jax.jacrev(args)(jnp.asarray(theta))
    return np.asarray(jac, dtype=np.float64).reshape(len(parts), theta.size)


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
        level: f stays level along some direction probed (not a strict extremum).
        smallest: the smallest step probed: a corner nearer the point than that looks like
            one at it.
        crowded: directions along which a corner near the point lies closer than the probes
            can step beside it (their slopes may mix both sides of it).
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
    level: bool = False
    smallest: float = 0.0
    crowded: int = 0


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
def one_sided(
    obj: Objective,
    at: Any,
    *,
    seed: int = 0,
    near: Sequence[Corner] = (),
    largest: float | None = None,
    smallest: float = 0.0,
) -> OneSided:
    """Probe ``obj`` around ``at`` from every side: one-sided partial derivatives, whether it is
    differentiable, and the kind of point where that can be decided.

    Each direction is probed at steps shrinking tenfold from ``largest`` down to a few dozen
    ulps of the point; the limits are read from the smallest. A corner that lies near the point
    but not at it is seen from the point's own side once the steps pass below its distance.

    Args:
        at: the point (mapping, sequence or array).
        seed: seeds the random directions probed beyond the axes.
        near: corners known to lie near the point but not at it (:func:`corners`): along each
            direction every step stays :data:`_MARGIN` times closer than the nearest of them.
        largest: the largest step (default ``PROBE_STEPS[0] · max(1, |θ|)``).
        smallest: no step below this (a point known only to this precision).

    Raises:
        InputError: more than :data:`MAX_PROBE_VARIABLES` parameters.
    """
    theta = obj.vector(at)
    n = theta.size
    if n > MAX_PROBE_VARIABLES:
        raise InputError(
            f"One-sided derivatives are probed for at most {MAX_PROBE_VARIABLES:,} parameters; "
            f"{obj.signature()} has {n:,}."
        )
    f0 = float(obj.jit_value(jnp.asarray(theta)))
    dirs = _directions(n, seed)
    k, m = dirs.shape[0], PROBE_LADDER
    scale = max(1.0, float(np.max(np.abs(theta))))
    reach = np.full(k, np.inf)
    for c in near:
        reach = np.minimum(reach, c.distance(dirs))
    first = np.minimum(PROBE_STEPS[0] * scale if largest is None else largest, reach / _MARGIN)
    steps = first[:, None] * 10.0 ** -np.arange(m)
    floor = _ULPS * float(np.finfo(np.float64).eps) * float(np.max(np.abs(theta)))
    floor = max(floor, smallest, float(np.finfo(np.float64).tiny))
    use = steps >= floor
    crowded = use.sum(axis=1) < 3  # a corner nearer than the probes can step beside the point
    steps[crowded] = floor * 10.0 ** (2 - np.arange(m))
    use[crowded] = steps[crowded] >= floor
    steps = np.where(use, steps, floor)  # unused entries: computed, never read
    fx, g, q = (
        np.asarray(a, np.float64).reshape(k, m)
        for a in _probe_kernel(obj)(
            jnp.asarray(theta), jnp.asarray(np.repeat(dirs, m, axis=0)), jnp.asarray(steps.ravel())
        )
    )
    rise = fx - f0
    slope, curve = np.empty(k), np.empty(k)
    jump = np.zeros(k, dtype=bool)
    for i in range(k):
        u = use[i]
        slope[i], curve[i] = _limit(g[i, u]), _limit(q[i, u])
        if math.isnan(slope[i]):  # autodiff undefined beside the point: difference quotients
            coarse = u & (steps[i] >= _QUOTIENT_STEP * scale)
            coarse = coarse if coarse.sum() >= 3 else u
            slope[i] = _limit(rise[i, coarse] / steps[i, coarse])
        if not np.all(np.isfinite(fx[i, u])):
            slope[i] = curve[i] = math.nan  # undefined on this side: the edge of the domain
        elif _jumps(rise[i, u], f0):
            jump[i] = True  # f(θ + t d) − f(θ) does not shrink with t
            slope[i] = math.copysign(math.inf, rise[i, u][-1])
            curve[i] = math.nan
    right, left = slope[:n], -slope[n : 2 * n]
    names = obj.names
    jumps = tuple(names[i] for i in range(n) if jump[i] or jump[n + i])
    # Rounding floors: a slope or curvature this small beside the point counts as zero.
    floor_g = 1e-6 * float(np.max(np.abs(g[use & np.isfinite(g)]), initial=0.0))
    floor_q = 1e-6 * float(np.max(np.abs(q[use & np.isfinite(q)]), initial=0.0))
    left, right = (np.where(np.abs(v) <= floor_g, 0.0, v) for v in (left, right))  # no -0, dust
    gradient, differentiable = _gradient(left, right, dirs, slope, jump, floor_g)
    resolved = np.where(use & (np.abs(rise) > 8 * np.finfo(np.float64).eps * abs(f0)), rise, 0.0)
    kind, basis, level = _kind(n, slope, curve, resolved, floor_g, floor_q)
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
        level=level,
        smallest=float(np.min(steps[use])),
        crowded=int(np.sum(crowded)),
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
    signs = np.sign(rise[rise != 0])  # flat to second order: the values themselves decide
    return int(signs[0]) if signs.size and np.all(signs == signs[0]) else 0


def _kind(
    n: int,
    slope: np.ndarray,
    curve: np.ndarray,
    rise: np.ndarray,
    floor_g: float,
    floor_q: float,
) -> tuple[str, str, bool]:
    """Up, down or level along each direction from its first non-zero term; the verdict, and
    whether some direction stays level."""
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
    flat = 0 in signs
    if not signs:
        return "undecided", "f is undefined on every side probed", False
    if 1 in signs and -1 in signs:
        return "not an extremum", "f rises along some directions and falls along others", flat
    level = " or stays level (not a strict extremum)" if flat else ""
    if all(s == 0 for s in signs):
        return "undecided", "f stays level along every direction probed", True
    if all(s >= 0 for s in signs):
        return "minimum", f"f rises{level} along {where}", flat
    return "maximum", f"f falls{level} along {where}", flat
