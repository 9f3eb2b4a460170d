"""Minima where f is not differentiable, found from the starts a descent could not finish.

A descent stalls at a corner: near the tip of a cone (``|x|``, ``sqrt(x^2 + y^2)``, Ackley's
minimum) the gradient keeps its size, so no gradient tolerance is ever met, and the start ends
with ``max_steps`` somewhere around the tip. From where such starts stopped, *gradient sampling*
(Burke, Lewis and Overton, SIAM J. Optim. 15, 2005) walks to the corner: the gradients at the
point and at ``n`` random points within a radius ``ε`` of it span a convex hull whose point
nearest 0, ``g*``, is the steepest-descent direction of f over that ball (``g* = 0`` when the
ball holds a minimum's corner: the gradients around it point every way). A line search along
``−g*`` takes the lowest of a ladder of steps (halving, none longer than ``10 ε``); where none
lowers f the radius shrinks tenfold. A point whose radius has shrunk below
:data:`LAST_RADIUS` of the box is a corner to that precision (it is *Clarke stationary*).

Whether it is a minimum and not differentiable is decided by probing it from every side
(:func:`gradscape.kinks.one_sided`) at steps far above that precision and far below the box.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import combinations
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._x64 import with_x64
from .kinks import one_sided
from .objectives import Objective

#: First sampling radius, relative to the box's width.
FIRST_RADIUS = 1e-2
#: The radius below which a point counts as a corner, relative to the box's width.
LAST_RADIUS = 1e-12
#: Probes of a corner found: from this step (relative to the box's width)...
PROBE_LARGEST = 1e-5
#: ...down to this one, a thousand times the precision of the corner.
PROBE_SMALLEST = 1e-9
#: Radius of the gradients sampled around a corner found to tell its subdifferential's
#: dimension (relative to the box's width): far above the corner's precision.
THIN_RADIUS = 1e-8
#: Most gradient-sampling iterations per point.
MAX_ITERATIONS = 200
#: Most variables searched for corners (each iteration samples 2n + 1 gradients per point).
MAX_CORNER_DIM = 10
#: Work allowed to one search for corners, in gradient evaluations × variables per iteration:
#: up to 10,000 points walked in two variables, 476 in ten (see :func:`most_walks`).
CORNER_WORK = 100_000
_LADDER = 52  # line-search steps, halving: down to 2^-51 of the first (below float64 rounding)
_EXACT_SUPPORTS = 128  # up to this many supports, the nearest point of a hull is solved exactly


def most_walks(n: int) -> int:
    """How many points one search walks to corners in ``n`` variables (each iteration
    evaluates ``2n + 1`` gradients of ``n`` numbers per point): :data:`CORNER_WORK` over that;
    the rest of the stalled starts are left as they ended."""
    return max(1, CORNER_WORK // ((2 * n + 1) * n))


def min_norm_point(g: np.ndarray) -> np.ndarray:
    r"""The point of the convex hull of each set of vectors nearest the origin,
    :math:`\arg\min \{\|G^\top \lambda\| : \lambda \ge 0, \sum \lambda = 1\}`.

    Args:
        g: shape ``(P, m, n)``: ``P`` sets of ``m`` vectors in ``n`` dimensions.

    Returns:
        shape ``(P, n)``. Exact (to rounding) where the supports of at most ``n + 1`` vectors
        number at most :data:`_EXACT_SUPPORTS`: the best of the equality-constrained solutions
        over every support; above, by accelerated projected gradient on ``λ``.
    """
    p, m, n = g.shape
    size = np.maximum(np.max(np.abs(g), axis=(1, 2)), np.finfo(np.float64).tiny)
    g = g / size[:, None, None]  # unit scale: the constraint row and Q are comparable
    largest = min(m, n + 1)  # Carathéodory: the nearest point is a mix of at most n + 1
    if sum(math.comb(m, k) for k in range(1, largest + 1)) > _EXACT_SUPPORTS:
        hull: np.ndarray = _projected_gradient(g) * size[:, None]
        return hull
    best = g[:, 0, :].copy()
    best_norm = np.linalg.norm(best, axis=1)
    for k in range(1, largest + 1):
        for support in combinations(range(m), k):
            gs = g[:, list(support), :]
            kkt = np.zeros((p, k + 1, k + 1))
            # a ridge of 1e-13 keeps repeated vectors (one smooth piece) from a singular system
            kkt[:, :k, :k] = gs @ gs.transpose(0, 2, 1) + 1e-13 * np.eye(k)
            kkt[:, :k, k] = kkt[:, k, :k] = 1.0
            rhs = np.zeros((p, k + 1, 1))
            rhs[:, k] = 1.0
            lam = np.linalg.solve(kkt, rhs)[:, :k, 0]
            z = np.einsum("pk,pkn->pn", lam, gs)
            norm = np.linalg.norm(z, axis=1)
            ok = np.all(lam >= -1e-9, axis=1) & np.all(np.isfinite(z), axis=1)
            better = ok & (norm < best_norm)
            best[better], best_norm[better] = z[better], norm[better]
    nearest: np.ndarray = best * size[:, None]
    return nearest


def _projected_gradient(g: np.ndarray, iterations: int = 300) -> np.ndarray:
    """The nearest point of each hull by FISTA on the simplex (for many vectors)."""
    q = g @ g.transpose(0, 2, 1)
    step = 1.0 / np.maximum(np.linalg.norm(q, ord=2, axis=(1, 2)), 1e-300)
    lam = np.full(q.shape[:2], 1.0 / q.shape[1])
    y, t = lam.copy(), 1.0
    for _ in range(iterations):
        new = _simplex(y - step[:, None] * np.einsum("pij,pj->pi", q, y))
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        y = new + ((t - 1) / t_next) * (new - lam)
        lam, t = new, t_next
    out: np.ndarray = np.einsum("pk,pkn->pn", lam, g)
    return out


def _simplex(v: np.ndarray) -> np.ndarray:
    """Each row of ``v`` projected onto the probability simplex (Duchi et al. 2008)."""
    u = -np.sort(-v, axis=1)
    css = np.cumsum(u, axis=1) - 1
    ind = np.arange(1, v.shape[1] + 1)
    rho = np.sum(u - css / ind > 0, axis=1)
    theta = css[np.arange(len(v)), rho - 1] / rho
    out: np.ndarray = np.maximum(v - theta[:, None], 0.0)
    return out


def _batched(obj: Objective, key: str, build: Callable[[], Any], x: np.ndarray) -> list[Any]:
    """A compiled batch function over the rows of ``x``, padded to a power of two rows (so few
    shapes compile), in blocks of at most 4,096 rows."""

    if key not in obj.compiled:
        obj.compiled[key] = build()
    fn = obj.compiled[key]
    rows = min(4096, 1 << max(0, (len(x) - 1).bit_length()))
    parts: list[list[np.ndarray]] = []
    for lo in range(0, len(x), rows):
        block = x[lo : lo + rows]
        pad = rows - len(block)
        if pad:
            block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
        out = fn(jnp.asarray(block))
        parts.append([np.asarray(a, np.float64)[: rows - pad] for a in out])
    return [np.concatenate(p) for p in zip(*parts, strict=True)]


def values_at(obj: Objective, x: np.ndarray) -> np.ndarray:
    """f at every row of ``x`` (compiled once per objective, in padded blocks)."""

    def build() -> Any:
        return jax.jit(jax.vmap(lambda t: (obj.fn(t),)))

    v: np.ndarray = _batched(obj, "corner values", build, x)[0]
    return v


def gradients_at(obj: Objective, x: np.ndarray) -> np.ndarray:
    """∇f at every row of ``x`` (compiled once per objective, in padded blocks)."""
    return _gradients(obj, x)


def _gradients(obj: Objective, x: np.ndarray) -> np.ndarray:

    def build() -> Any:
        return jax.jit(jax.vmap(lambda t: (jax.grad(obj.fn)(t),)))

    g: np.ndarray = _batched(obj, "corner gradients", build, x)[0]
    return g


@with_x64
def walk_to_corners(
    obj: Objective,
    points: np.ndarray,
    width: float,
    *,
    seed: int = 0,
    first: float | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient sampling from every row of ``points`` (shape ``(P, n)``) to a corner of f.

    Args:
        width: the box's width; radii and steps are relative to it.
        seed: seeds the sampled points.
        first: the first radius, per point or for all (default :data:`FIRST_RADIUS` of
            ``width``); a walk stays within about ten radii of where it is.

    Returns:
        ``(points, found)``: where each walk ended, and whether its radius shrank below
        :data:`LAST_RADIUS` (a corner, or a smooth stationary point, to that precision).
        Rows that start or stay non-finite are returned as they are, not found.
    """
    x = np.array(points, dtype=np.float64)
    p, n = x.shape
    found = np.zeros(p, dtype=bool)
    if p == 0:
        return x, found
    fx = values_at(obj, x)
    start = FIRST_RADIUS * width if first is None else first
    radius = np.where(np.all(np.isfinite(x), axis=1) & np.isfinite(fx), start, 0.0)
    last = LAST_RADIUS * width
    active = radius > 0
    rng = np.random.default_rng(seed)
    eps = float(np.finfo(np.float64).eps)
    samples = 2 * n  # twice the n + 1 the method needs: both sides of a corner seen more often
    # near a pole gradients reach 1e200: their norms overflow to inf, which is handled
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(MAX_ITERATIONS):
            act = np.flatnonzero(active)
            if not act.size:
                break
            xa, ra = x[act], radius[act]
            u = rng.normal(size=(act.size, samples, n))
            u *= (rng.uniform(size=(act.size, samples, 1)) ** (1 / n)) / np.linalg.norm(u, axis=2)[
                ..., None
            ]
            cloud = np.concatenate([xa[:, None, :], xa[:, None, :] + ra[:, None, None] * u], axis=1)
            g = _gradients(obj, cloud.reshape(-1, n)).reshape(act.size, samples + 1, n)
            ok = np.all(np.isfinite(g), axis=2)  # a gradient may be undefined at a domain's edge
            g = np.where(ok[..., None], g, g[np.arange(act.size), np.argmax(ok, axis=1)][:, None])
            g = np.where(ok.any(axis=1)[:, None, None], g, 0.0)  # none defined: no step
            z = min_norm_point(g)
            zn = np.linalg.norm(z, axis=1)
            moving = ok.any(axis=1) & (zn > 0) & np.isfinite(zn)
            d = -z / np.where(moving, zn, 1.0)[:, None]
            top = np.minimum(10 * ra, width)
            ladder = top[:, None] * 0.5 ** np.arange(_LADDER)
            trials = xa[:, None, :] + ladder[..., None] * d[:, None, :]
            ft = values_at(obj, trials.reshape(-1, n)).reshape(act.size, _LADDER)
            ft = np.where(np.isfinite(ft), ft, np.inf)
            j = np.argmin(ft, axis=1)
            best = ft[np.arange(act.size), j]
            # lower by more than f's rounding (its size, and its terms' ~ |∇f|·|x|): no drift
            noise = (
                8
                * eps
                * (np.abs(fx[act]) + np.linalg.norm(g[:, 0], axis=1) * np.abs(xa).max(axis=1))
            )
            lower = moving & (best < fx[act] - noise)
            x[act[lower]] = trials[lower, j[lower]]
            fx[act[lower]] = best[lower]
            radius[act[~lower]] *= 0.1  # no step lowers f: the ball is too coarse for the corner
            done = radius[act] < last
            found[act[done]] = True
            active[act[done]] = False
    return x, found


def corner_kind(obj: Objective, point: np.ndarray, width: float) -> Any:
    """Probe a point found by :func:`walk_to_corners` at steps between
    :data:`PROBE_SMALLEST` and :data:`PROBE_LARGEST` of the box's width
    (a :class:`gradscape.kinks.OneSided`)."""

    return one_sided(obj, point, largest=PROBE_LARGEST * width, smallest=PROBE_SMALLEST * width)


def thin(obj: Objective, point: np.ndarray, width: float, *, seed: int = 0) -> bool:
    """Whether the gradients around a corner span fewer than ``n`` directions (its
    subdifferential is thin): f then has directions along which it is smooth to first order,
    so the corner may lie on a set of them (``|x + y|`` along ``x + y = 0``, ``|x^2 + y^2 - 1|``
    along the circle), unlike the tip of a cone (``|x| + |y|``, Ackley's minimum).

    The gradients at ``4n`` points within :data:`THIN_RADIUS` of the box's width, less their
    mean, count a direction where their spread passes ``1e-3`` of the largest."""
    n = point.size
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(4 * n, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    g = _gradients(obj, point[None, :] + THIN_RADIUS * width * u)
    g = g[np.all(np.isfinite(g), axis=1)]
    if len(g) < 2:
        return False
    s = np.linalg.svd(g - g.mean(axis=0), compute_uv=False)
    return bool(s[0] == 0 or np.sum(s >= 1e-3 * s[0]) < n)
