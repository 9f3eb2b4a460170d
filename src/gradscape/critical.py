"""Critical points and minima from many starts at once.

:func:`critical_points` solves ``∇f = 0`` from a grid of starts in a box with a damped Newton
iteration on the gradient (every kind of critical point attracts it: minima, maxima, saddles),
merges the solutions that coincide, polishes each in float64 and classifies it by its Hessian.

:func:`multistart` descends from many starts (``vmap``, chunked; :mod:`gradscape.runs`), merges the
end points into distinct minima, and reports each with its value, kind and basin share (the share of
starts that reached it), the best one, and how many starts failed. In two variables the starts form
a grid, so the basins can be drawn as a map.

Where f may have corners (its formula holds ``abs``, ``relu``, ``max``, ``sqrt``…, or it has no
formula), a descent that stalls (at a cone's tip the gradient never shrinks) is walked on to the
corner by gradient sampling (:mod:`gradscape.nonsmooth`), and :func:`critical_points` also walks
from a sample of its starts, down f and up f. A corner where f is not differentiable is listed as
``"minimum (non-smooth)"`` (or maximum), its kind from probing every side, with no Hessian.

Points that lie on one connected set of equal value (a line, a curve or a surface of minima,
``relu(x) + y^2``) are one entry, described by :mod:`gradscape.flat_sets` and counted with the
starts of all its points.

Both answer "what is in this box": a start may converge to a point outside it (a search wanders up
to one box width out); such points are counted and kept apart, never listed as the box's. Both run
through :func:`gradscape.runs.minimize_many`, so they share its caps (Newton's dimension, memory,
projected time) and stop between compiled segments on Ctrl-C.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .calculus import classify
from .errors import InputError, listing, whole_number
from .objectives import Objective, check_range
from .optimizers import newton_roots
from .point_sets import (
    at_corners,
    base_kind,
    corners_from,
    ends_and_corners,
    entries,
    probe_corners,
    value_tolerance,
)
from .results import Result
from .runs import (
    CONVERGED,
    MAX_NEWTON_DIM,
    STATUS,
    budget_for,
    check_memory,
    minimize_many,
    typical_gradient,
)

#: Most starts accepted in one call (they are processed in chunks, so memory stays bounded).
MAX_STARTS = 10_000_000
#: Most Newton steps per start in a search for critical points (the time limit bounds the work).
MAX_NEWTON_STEPS = 10_000_000
#: Widest range a search accepts on either side of zero: the box with a margin of one width
#: around it must stay finite in float64.
_WIDEST = 4e307
#: Labels of starts in :class:`Minima` that reached no minimum of the box.
FAILED, OUTSIDE = -1, -2


# -- shared pieces ---------------------------------------------------------------------------------
def _box(obj: Objective, ranges: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
    ranges = dict(obj.ranges if ranges is None else ranges)
    unknown = [k for k in ranges if k not in obj.names]
    if unknown:
        raise InputError(
            f"{listing(unknown)} is not a variable of {obj.signature()}; its variables are "
            f"{listing(obj.names)}."
        )
    missing = [n for n in obj.names if n not in ranges]
    if missing:
        raise InputError(
            f"Give a range for every variable of {obj.signature()}; missing "
            f"{listing(missing)} (e.g. {missing[0]}=-5:5)."
        )
    # check_range already refuses a width that overflows; here the margin around the box
    lo, hi = np.array([check_range(n, ranges[n]) for n in obj.names]).T
    with np.errstate(over="ignore"):
        width = hi - lo
        margin_ok = np.isfinite(lo - width) & np.isfinite(hi + width)
    for name, a, b, ok in zip(obj.names, lo, hi, margin_ok, strict=True):
        if not ok:
            raise InputError(
                f"The range of {name}, {a:g}:{b:g}, is too wide to search: the margin of one width "
                "around it, where starts may wander, overflows float64 (largest "
                f"{np.finfo(np.float64).max:.3g}); narrow it to within ±{_WIDEST:.0e}."
            )
    return lo, hi


def box_dict(names: tuple[str, ...], lo: np.ndarray, hi: np.ndarray) -> dict[str, list[float]]:
    """The box as ``{name: [low, high]}`` for JSON."""
    return {n: [float(a), float(b)] for n, a, b in zip(names, lo, hi, strict=True)}


def _check_starts(n: Any) -> int:
    return whole_number(n, "starts", 1, MAX_STARTS, "MAX_STARTS")


def start_grid(count: int) -> tuple[int, int]:
    """``(ny, nx)`` of the grid of ``count`` starts in two variables: exactly ``count`` points
    when they form a grid at most twice as wide as tall (1,000 = 40 × 25), else the fewest
    points above ``count`` that do (1,001 → 36 × 28 = 1,008); at least 2 × 2."""
    best = (math.inf, math.inf, 2, 2)
    for ny in range(2, math.isqrt(count) + 2):
        nx = max(ny, -(-count // ny))
        if nx <= 2 * ny:
            best = min(best, (nx * ny, nx - ny, ny, nx))
    return int(best[2]), int(best[3])


def starts_note(asked: int, ran: int) -> str:
    """Why a search in two variables ran ``ran`` starts when ``asked`` were asked for ("" when
    they are the same): see :func:`start_grid`."""
    if asked == ran:
        return ""
    ny, nx = start_grid(asked)
    return (
        f"{asked:,} starts asked, {ran:,} run: in two variables the starts form a grid (so the "
        f"basins can be mapped), and {nx} × {ny} is the smallest one holding {asked:,} that is "
        "at most twice as wide as tall"
    )


def _starts(
    lo: np.ndarray, hi: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Starts in the box: a grid in two variables (so basins can be mapped; see
    :func:`start_grid`), else seeded uniform random points. Returns
    ``(starts, grid_shape or None)``."""
    if lo.size == 2:
        ny, nx = start_grid(count)
        mx, my = np.meshgrid(np.linspace(lo[0], hi[0], nx), np.linspace(lo[1], hi[1], ny))
        return np.column_stack([mx.ravel(), my.ravel()]), (ny, nx)
    if lo.size == 1:
        return np.linspace(lo[0], hi[0], count)[:, None], None
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, size=(count, lo.size)), None


def _merge(points: np.ndarray, order: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy clustering: visit points in ``order``; each joins the first centre within ``tol``
    (max-norm) or starts a new one. Returns ``(centres, label per point)``.

    Points are first binned into cells of ``tol/2`` (one representative per cell, the first in
    ``order``), so millions of end points cost one ``np.unique`` and the greedy pass sees only
    the occupied cells."""
    cells = np.floor(points / (tol / 2)).astype(np.int64)
    _, first, inverse = np.unique(cells[order], axis=0, return_index=True, return_inverse=True)
    reps = order[np.sort(first)]  # representatives, still in visiting order
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    centres: list[np.ndarray] = []
    stack = np.empty((0, points.shape[1]))
    rep_label = np.empty(reps.size, dtype=np.int64)
    for r, i in enumerate(reps):
        p = points[i]
        if stack.shape[0]:
            d = np.max(np.abs(stack - p), axis=1)
            j = int(np.argmin(d))
            if d[j] <= tol:
                rep_label[r] = j
                continue
        centres.append(p)
        stack = np.vstack([stack, p])
        rep_label[r] = len(centres) - 1
    labels = np.empty(len(points), dtype=np.int64)
    labels[order] = rep_label[rank[inverse.reshape(-1)]]
    return stack, labels


def _chunked(fn: Any, points: np.ndarray, rows: int) -> list[np.ndarray]:
    """``fn`` over ``points`` in blocks of ``rows`` (the last padded, so one shape compiles),
    each output concatenated back along the first axis."""
    import jax.numpy as jnp

    parts: list[list[np.ndarray]] = []
    size = min(rows, len(points))
    for lo in range(0, len(points), size):
        block = points[lo : lo + size]
        pad = size - len(block)
        if pad:
            block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
        parts.append([np.asarray(a)[: size - pad] for a in fn(jnp.asarray(block))])
    return [np.concatenate(p) for p in zip(*parts, strict=True)]


def _describe(
    obj: Objective, points: np.ndarray, curvature: float = 0.0
) -> tuple[np.ndarray, list[str], list[int], np.ndarray, np.ndarray]:
    """Values, kinds, indices, eigenvalues and gradient norms of points, in float64 (in blocks of
    bounded memory: each point has an ``n × n`` Hessian).

    An eigenvalue counts as zero below ``1e-8 · max(max|λ| there, curvature)``: ``curvature``
    (:func:`_curvature_scale`) is the function's own, so a degenerate point found a little off
    (the monkey saddle's Hessian is 6e-9 at 1e-9 from it) stays degenerate, while a function of
    small scale (``1e-9·(x² + y²)``) keeps its minimum."""
    if len(points) == 0:
        empty = np.empty((0, obj.n))
        return np.empty(0), [], [], empty, np.empty(0)
    v, g, eig = _hessians(obj, points)
    kinds, index = [], []
    for lam in eig:
        top = float(np.max(np.abs(lam))) if lam.size else 0.0
        k, i = classify(lam, tol=1e-8 * max(top, curvature))
        kinds.append(k)
        index.append(i)
    with np.errstate(over="ignore", invalid="ignore"):
        gn = np.linalg.norm(g, axis=1)
    return v, kinds, index, eig, gn


def _name_corners(
    obj: Objective, centres: np.ndarray, walked_only: np.ndarray, boxed: np.ndarray, wide: float,
    kinds: list[str], eig: np.ndarray, index: list[int], counted: tuple[str, ...],
) -> tuple[np.ndarray, dict[int, bool]]:  # fmt: skip
    """Probe the points reached only by a walk, and those at a corner, in the box: where f has no
    Hessian the probes' kind replaces the Hessian's (in ``kinds``, ``eig``, ``index``).

    Returns:
        ``(level, reached)``: which points lie on a level set of corners, and per probed point
        whether its kind is one of ``counted`` or it lies on a flat set.
    """
    level = np.zeros(len(centres), dtype=bool)
    reached: dict[int, bool] = {}
    at_corner = at_corners(obj, centres, boxed)
    for i, verdict in probe_corners(obj, centres, (walked_only | at_corner) & boxed, wide).items():
        if not verdict.differentiable or at_corner[i]:  # no Hessian here: the probes' kind
            kinds[i], eig[i], level[i] = verdict.kind, np.nan, verdict.level
            index[i] = 0 if base_kind(verdict.kind) == "minimum" else obj.n
        reached[i] = base_kind(verdict.kind) in counted or verdict.flat
    return level, reached


def _hessians(obj: Objective, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f``, ``∇f`` and the Hessian's eigenvalues (ascending) at every point."""
    import jax

    key = "describe"
    if key not in obj.compiled:
        obj.compiled[key] = jax.jit(
            jax.vmap(lambda x: (obj.fn(x), jax.grad(obj.fn)(x), jax.hessian(obj.fn)(x)))
        )
    rows = max(1, min(4096, (64 * 1024**2) // (8 * obj.n * obj.n)))
    v, g, h = _chunked(obj.compiled[key], points, rows)
    return v, g, np.linalg.eigvalsh(0.5 * (h + np.swapaxes(h, 1, 2)))


def _curvature_scale(obj: Objective, starts: np.ndarray) -> float:
    """The function's typical curvature: the median of ``max|λ|`` of the Hessian over (up to 64
    of) the starts, leaving out zeros and non-finite values; 0 when none is left."""
    if not len(starts):
        return 0.0
    _, _, eig = _hessians(obj, starts[:: max(1, len(starts) // 64)])
    with np.errstate(invalid="ignore"):
        top = np.max(np.abs(eig), axis=1)
    top = top[np.isfinite(top) & (top > 0)]
    return float(np.median(top)) if top.size else 0.0


def _inside(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float) -> np.ndarray:
    """Which points lie in the box (within ``tol`` of its faces)."""
    inside: np.ndarray = np.all(points >= lo - tol, axis=1) & np.all(points <= hi + tol, axis=1)
    return inside


def _rows(a: np.ndarray | None) -> Any:
    return a if a is not None else ()


def _named(names: tuple[str, ...], p: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(names, p, strict=True)}


def _eigenvalues(lam: np.ndarray) -> list[float] | None:
    """Eigenvalues for JSON; ``None`` where f is not differentiable (they are NaN)."""
    return [float(x) for x in lam] if np.all(np.isfinite(lam)) else None


def _sets(sets: tuple[dict[str, Any] | None, ...], k: int) -> tuple[dict[str, Any] | None, ...]:
    """One set description (or ``None``) per point, also for results saved without them."""
    return sets if len(sets) == k else (None,) * k


class _Found:
    """What the results of both searches decide for every view: the set each point stands for,
    the value a table shows, the size of the box, and why the starts run differ from those
    asked for."""

    values: np.ndarray
    kinds: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    sets: tuple[dict[str, Any] | None, ...]
    starts_requested: int | None

    @property
    def point_sets(self) -> tuple[dict[str, Any] | None, ...]:
        """Per point, ``None`` for an isolated point, else the set it stands for (all ``None``
        for a result saved without sets)."""
        return _sets(self.sets, len(self.kinds))

    @property
    def shown_values(self) -> np.ndarray:
        """Per point, the value to show: a set's value as :mod:`gradscape.flat_sets` rounded it
        (rounding dust is 0), else the point's own."""
        return np.array(
            [float(st["value"]) if st else float(v)
             for v, st in zip(self.values, self.point_sets, strict=True)],
            dtype=np.float64,
        )  # fmt: skip

    @property
    def scale(self) -> float:
        """The size of the box (at least 1): a coordinate below 1e-12 of it is rounding dust."""
        return float(max(1.0, *np.abs(self.lo), *np.abs(self.hi)))

    def _starts_ran(self) -> int:
        raise NotImplementedError

    @property
    def starts_note(self) -> str:
        """Why the search ran another number of starts than asked ("" when it did not): see
        :func:`starts_note`."""
        asked = self.starts_requested
        return starts_note(asked, self._starts_ran()) if asked is not None else ""

    def _asked(self) -> dict[str, Any]:
        """``starts_requested`` and ``starts_note`` for a summary, when they differ."""
        note = self.starts_note
        return {"starts_requested": self.starts_requested, "starts_note": note} if note else {}


# -- critical points -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CriticalPoints(_Found, Result):
    """The distinct critical points found in a box.

    Attributes:
        names: variables.
        points: shape ``(k, n)``; values ``(k,)``; eigenvalues ``(k, n)`` (ascending);
        kinds: ``minimum``, ``maximum``, ``saddle`` or ``degenerate``; indices: negative
            eigenvalues (a saddle's index).
        lo, hi: the box.
        starts: how many starts were used.
        outside: starts whose solution is a critical point outside the box (not listed);
            ``outside_points``: those critical points, distinct, shape ``(j, n)``.
        unresolved: starts that reached no critical point within the Newton steps.
        sets: per point, ``None`` for an isolated point, or the description of the set of
            critical points of equal value it stands for (:func:`gradscape.flat_sets.describe`).

    Where f is not differentiable (a corner found by gradient sampling, see
    :mod:`gradscape.nonsmooth`) the kind is ``"minimum (non-smooth)"`` or
    ``"maximum (non-smooth)"`` and the eigenvalues are NaN.
    """

    names: tuple[str, ...]
    points: np.ndarray
    values: np.ndarray
    eigenvalues: np.ndarray
    kinds: tuple[str, ...]
    indices: tuple[int, ...]
    lo: np.ndarray
    hi: np.ndarray
    starts: int
    outside: int = 0
    outside_points: np.ndarray | None = None
    unresolved: int = 0
    sets: tuple[dict[str, Any] | None, ...] = ()
    starts_requested: int | None = None

    def _starts_ran(self) -> int:
        return self.starts

    def summary(self) -> dict[str, Any]:
        outside = self.outside_points if self.outside_points is not None else np.empty((0, 0))
        return {
            "variables": list(self.names),
            "box": box_dict(self.names, self.lo, self.hi),
            "starts": self.starts,
            "points": [
                {
                    "point": _named(self.names, p),
                    "value": float(v),
                    "kind": k,
                    "index": i,
                    "eigenvalues": _eigenvalues(lam),
                    "set": st,
                }
                for p, v, k, i, lam, st in zip(
                    self.points,
                    self.values,
                    self.kinds,
                    self.indices,
                    self.eigenvalues,
                    _sets(self.sets, len(self.points)),
                    strict=True,
                )
            ],
            "outside_box": {
                "starts": self.outside,
                "points": [_named(self.names, p) for p in outside],
            },
            "unresolved_starts": self.unresolved,
            **self._asked(),
        }


def check_critical_dims(n: int) -> None:
    """Refuse a search for critical points in more than :data:`gradscape.runs.MAX_NEWTON_DIM`
    variables (Newton's method on ∇f = 0 forms the n × n Hessian at every step)."""
    if n > MAX_NEWTON_DIM:
        raise InputError(
            f"The search for critical points uses Newton's method, which forms the {n:,} × "
            f"{n:,} Hessian and its eigendecomposition (about {10 * n**3:.0e} operations) at "
            f"every step of every start; it is capped at {MAX_NEWTON_DIM} variables "
            "(gradscape.runs.MAX_NEWTON_DIM)."
        )


@with_x64
def critical_points(
    obj: Objective,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    *,
    starts: int = 2500,
    steps: int = 60,
    seed: int = 0,
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CriticalPoints:
    """Every critical point (``∇f = 0``) found in the box, merged and classified.

    Starts whose solution lies outside the box are counted (``outside``) and their points kept
    apart (``outside_points``), never listed as the box's.

    Args:
        ranges: ``{name: (low, high)}`` for every variable (default: the objective's ranges).
        starts: how many starts (a grid in two variables, exactly this many where they form
            one, see :func:`start_grid`; else seeded uniform points).
        steps: Newton iterations per start (:func:`newton_roots`).
        time_limit: cap on the projected seconds (default :data:`gradscape.runs.TIME_LIMIT`).

    Raises:
        InputError: a bad box or count; more than :data:`gradscape.runs.MAX_NEWTON_DIM`
            variables; results or projected time over their caps.

    Example:
        >>> cp = critical_points(gs.objective("x^2 - y^2"), {"x": (-1, 1), "y": (-1, 1)})
        >>> cp.kinds, cp.indices
        (('saddle',), (1,))
    """
    lo, hi = _box(obj, ranges)
    count = _check_starts(starts)
    steps = whole_number(steps, "Newton steps", 1, MAX_NEWTON_STEPS, "MAX_NEWTON_STEPS")
    check_critical_dims(obj.n)
    check_memory("A search for critical points", count, obj.n)
    x0, _ = _starts(lo, hi, count, seed)
    batch = minimize_many(obj, x0, newton_roots(), max_steps=steps, gtol=0.0,
                          time_limit=time_limit, progress=progress)  # fmt: skip
    ends = batch.params
    typical = _curvature_scale(obj, x0)
    v, _, _, eig, gn = _describe(obj, ends, typical)
    scale = max(1.0, float(np.max(hi - lo)))
    with np.errstate(invalid="ignore"):
        curv = np.maximum(typical, np.max(np.abs(eig), axis=1))
    solved = np.all(np.isfinite(ends), axis=1) & np.isfinite(v) & (gn <= 1e-7 * curv * scale)
    idx = np.flatnonzero(solved)
    centres = np.empty((0, obj.n))
    if idx.size:
        centres, _ = _merge(ends[idx], np.argsort(gn[idx]), 1e-6 * scale)
        centres = minimize_many(obj, centres, newton_roots(), max_steps=5, gtol=0.0).params
        centres, _ = _merge(centres, np.arange(len(centres)), 1e-6 * scale)  # polished
    tol = 1e-7 * scale  # a critical point on a face of the box belongs to it
    near = _inside(ends, lo, hi, tol)  # where each start ended
    wide = float(np.max(hi - lo))
    found = len(centres)
    corners, walked_from = corners_from(obj, x0, ~solved, wide, seed)
    if len(corners):
        centres, lab = _merge(np.concatenate([centres, corners]),
                              np.arange(found + len(corners)), 1e-6 * scale)  # fmt: skip
        by_walk = np.zeros(len(centres), dtype=bool)
        by_walk[lab[found:]] = True
        by_root = np.bincount(lab[:found], minlength=len(centres)) > 0
    else:
        by_walk, by_root = np.zeros(found, dtype=bool), np.ones(found, dtype=bool)
    values, kinds, index, eig, _ = _describe(obj, centres, typical)
    keep = by_root.copy()  # a walk counts where the probes find a corner worth listing
    boxed = _inside(centres, lo, hi, 1e-7 * scale)
    # a walk counts where it ends at a minimum or a maximum (a corner, or a flat set)
    level, reached = _name_corners(obj, centres, by_walk & ~by_root, boxed, wide, kinds, eig,
                                   index, ("minimum", "maximum"))  # fmt: skip
    for i, ok in reached.items():
        keep[i] = by_root[i] or ok
    inside = _inside(centres, lo, hi, tol) & keep
    box = np.flatnonzero(inside)
    grouped = entries(obj, centres[box], values[box], eig[box], [kinds[i] for i in box],
                       [index[i] for i in box], level[box], lo, hi,
                       lambda: value_tolerance(obj, x0, values), typical, seed,
                       "degenerate")  # fmt: skip
    reps = box[grouped.centre]
    order = np.lexsort((centres[reps, 0], values[reps]))
    chosen = reps[order]
    resolved = walked_from[keep[lab[found:]]] if len(corners) else np.empty(0, np.int64)
    return CriticalPoints(
        names=obj.names,
        points=centres[chosen],
        values=values[chosen],
        eigenvalues=eig[chosen],
        kinds=tuple(grouped.kinds[i] for i in order),
        indices=tuple(grouped.indices[i] for i in order),
        lo=lo,
        hi=hi,
        starts=len(x0),
        outside=int(np.sum(solved & ~near)),
        outside_points=centres[~_inside(centres, lo, hi, tol) & keep],
        unresolved=int(np.sum(~solved)) - int(np.unique(resolved[~solved[resolved]]).size),
        sets=tuple(grouped.sets[i] for i in order),
        starts_requested=count,
    )


# -- multistart ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Minima(_Found, Result):
    """Distinct minima reached from many starts, with their basins.

    Attributes:
        names: variables.
        points, values, eigenvalues, kinds: per distinct end point, ordered by value.
        counts: how many starts reached each; ``shares`` is counts / all starts.
        labels: per start, the index of the minimum it reached; :data:`FAILED` (-1) when it did
            not converge, :data:`OUTSIDE` (-2) when it converged to a point outside the box.
        starts: the starts, shape ``(m, n)``; ``grid``: ``(ny, nx)`` when they form a grid.
        status: per start, the stop code (see :data:`gradscape.runs.STATUS`).
        optimizer, settings, lr, lr_reason, seed, lo, hi: how it was run.
        outside_points, outside_values, outside_counts: the distinct points outside the box
            that starts converged to (they wandered out; not minima of the box), by value.
        sets: per minimum, ``None`` for an isolated point, or the description of the set of
            minima it stands for (:func:`gradscape.flat_sets.describe`: dimension, shape,
            extent, phrase), whose points are counted as one minimum with the starts of all.

    A minimum where f is not differentiable has kind ``"minimum (non-smooth)"`` and NaN
    eigenvalues: no Hessian exists there.
    """

    names: tuple[str, ...]
    points: np.ndarray
    values: np.ndarray
    eigenvalues: np.ndarray
    kinds: tuple[str, ...]
    counts: np.ndarray
    labels: np.ndarray
    starts: np.ndarray
    status: np.ndarray
    grid: tuple[int, ...] | None
    optimizer: str
    settings: str
    lr: float | None
    lr_reason: str
    seed: int
    lo: np.ndarray
    hi: np.ndarray
    outside_points: np.ndarray | None = None
    outside_values: np.ndarray | None = None
    outside_counts: np.ndarray | None = None
    sets: tuple[dict[str, Any] | None, ...] = ()
    starts_requested: int | None = None

    def _starts_ran(self) -> int:
        return int(self.labels.size)

    @property
    def shares(self) -> np.ndarray:
        return self.counts / max(1, self.labels.size)

    @property
    def outside(self) -> int:
        """Starts that converged to a point outside the box."""
        return int(np.sum(self.labels == OUTSIDE))

    @property
    def walked(self) -> int:
        """Starts whose descent stalled (at a corner, where the gradient never shrinks) and
        that gradient sampling took on to a minimum."""
        return int(np.sum((self.labels >= 0) & (self.status != CONVERGED)))

    def failed(self) -> dict[str, int]:
        """Starts that reached no minimum, by the reason their descent stopped (a descent that
        stalled at a corner and was walked to it reached that minimum)."""
        lost = self.labels == FAILED
        return {
            STATUS[i]: int(np.sum(lost & (self.status == i)))
            for i in range(1, len(STATUS))
            if i != CONVERGED and np.any(lost & (self.status == i))
        }

    def summary(self) -> dict[str, Any]:
        items = [
            {
                "point": _named(self.names, p),
                "value": float(v),
                "kind": k,
                "count": int(c),
                "share": float(c) / max(1, self.labels.size),
                "eigenvalues": _eigenvalues(lam),
                "set": st,
            }
            for p, v, k, c, lam, st in zip(
                self.points, self.values, self.kinds, self.counts, self.eigenvalues,
                _sets(self.sets, len(self.points)), strict=True,
            )
        ]  # fmt: skip
        return {
            "variables": list(self.names),
            "box": box_dict(self.names, self.lo, self.hi),
            "starts": int(self.labels.size),
            "optimizer": self.settings,
            "lr_reason": self.lr_reason,
            "seed": self.seed,
            "minima": items,
            "best": items[0] if items else None,
            "failed": self.failed(),
            "failed_total": int(np.sum(self.labels == FAILED)),
            "walked_to_corners": self.walked,
            "outside_box": {
                "starts": self.outside,
                "points": [
                    {"point": _named(self.names, p), "value": float(v), "count": int(c)}
                    for p, v, c in zip(
                        _rows(self.outside_points),
                        _rows(self.outside_values),
                        _rows(self.outside_counts),
                        strict=True,
                    )
                ],
            },
            **self._asked(),
        }


def _values_at(obj: Objective, points: np.ndarray) -> np.ndarray:
    from .nonsmooth import values_at

    return values_at(obj, points) if len(points) else np.empty(0)


def _single_precision_gtol(obj: Objective, x0: np.ndarray) -> float:
    """A gradient norm single precision can resolve: √eps32 times the typical one at the starts."""
    return float(np.sqrt(np.finfo(np.float32).eps)) * typical_gradient(obj, x0)


def _polish(obj: Objective, batch: Any, gtol: float, bounds: Any) -> Any:
    """Steps in float64 (Newton, or L-BFGS beyond Newton's dimension cap) from every converged
    end point of a single-precision search."""
    from dataclasses import replace

    done = np.flatnonzero(batch.status == CONVERGED)
    if done.size == 0:
        return batch
    method = "newton" if obj.n <= MAX_NEWTON_DIM else "lbfgs"
    fine = minimize_many(obj, batch.params[done], method, max_steps=50, gtol=gtol, bounds=bounds)
    params, values, gnorms, status = (a.copy() for a in (batch.params, batch.values,
                                                          batch.grad_norms, batch.status))  # fmt: skip
    params[done], values[done], gnorms[done], status[done] = (
        fine.params,
        fine.values,
        fine.grad_norms,
        fine.status,
    )
    return replace(batch, params=params, values=values, grad_norms=gnorms, status=status)


@with_x64
def multistart(
    obj: Objective,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    *,
    starts: Any = 10_000,
    method: Any = "newton",
    lr: float | None = None,
    max_steps: int = 1000,
    gtol: float | None = None,
    seed: int = 0,
    precision: str = "float64",
    chunk: int | None = None,
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Minima:
    """Descend from many starts in the box at once and report the distinct minima reached.

    Only minima in the box are listed. A start may wander up to one box width outside it; one
    that converges out there is counted apart (``Minima.outside``, label :data:`OUTSIDE`) with
    the points it reached (``outside_points``), never listed among the box's minima.

    Args:
        ranges: ``{name: (low, high)}`` for every variable (default: the objective's ranges).
        starts: how many (in two variables a grid of exactly ``m`` where they form one at most
            twice as wide as tall, else the next larger, see :func:`start_grid`; else seeded
            uniform points), or
            the starts themselves as an array of shape ``(m, n)``.
        method: any optimizer of the family; the default ``newton`` adapts its steps to the
            curvature (damped, with a line search), so it needs no tuning on steep, rugged
            functions; ``gd`` without ``lr`` takes ``1/|λ|max`` over the starts.
        max_steps, gtol: per start (``gtol`` by default
            :func:`gradscape.runs.default_gtol` over the starts); starts that leave a margin of
            one box width around the box, diverge or run out of steps count as failed.
        precision: of the search. ``float64`` (default) throughout. ``float32`` descends in
            single precision until the gradient is within single-precision noise
            (``max(gtol, 3.5e-4·median |∇f| at the starts)``), then polishes every converged end
            point in float64 with Newton steps to ``gtol``; everything reported is float64. It
            pays off for long first-order searches (thousands of cheap steps: about 3x faster
            per step on a CPU), not for Newton, which converges in a few steps anyway.
        chunk: most starts per compiled chunk (default: set by memory and work per step).
        time_limit: cap on the projected seconds (default :data:`gradscape.runs.TIME_LIMIT`).

    Raises:
        InputError: a bad box, count or setting; Newton beyond
            :data:`gradscape.runs.MAX_NEWTON_DIM` variables; results or projected time over
            their caps.

    Example:
        >>> m = multistart(gs.objective("himmelblau"), starts=400)
        >>> len(m.points), round(float(m.values[0]), 12)
        (4, 0.0)
    """
    from .optimizers import optimizer
    from .runs import check_newton_size

    lo, hi = _box(obj, ranges)
    check_newton_size(optimizer(method, lr=lr), obj)  # before making the starts
    count: int | None = None  # starts given as an array were not asked for by number
    if isinstance(starts, int | np.integer) and not isinstance(starts, bool):
        count = _check_starts(starts)
        check_memory("A multistart", count, obj.n)
        x0, grid = _starts(lo, hi, count, seed)
    else:
        x0, grid = np.asarray(starts, dtype=np.float64), None
        if x0.ndim != 2 or x0.shape[1] != obj.n or not len(x0):
            raise InputError(f"starts must be a count or an array of shape (m, {obj.n}).")
    width = hi - lo
    bounds = {
        n: (float(a - w), float(b + w)) for n, a, b, w in zip(obj.names, lo, hi, width, strict=True)
    }
    x0, max_steps, gtol = budget_for(obj, x0, max_steps, gtol)
    search_gtol = gtol if precision == "float64" else max(gtol, _single_precision_gtol(obj, x0))
    batch = minimize_many(
        obj, x0, method, lr=lr, max_steps=max_steps, gtol=search_gtol, bounds=bounds,
        chunk=chunk, precision=precision, progress=progress, time_limit=time_limit,
    )  # fmt: skip
    if precision != "float64":
        batch = _polish(obj, batch, gtol, bounds)
    done = np.flatnonzero(batch.status == CONVERGED)
    scale = max(1.0, float(np.max(width)))
    wide = float(np.max(width))
    ends, origin, walked = ends_and_corners(obj, batch, done, lo - width, hi + width, wide, seed)
    centres, lab = (
        _merge(ends, np.argsort(_values_at(obj, ends)), 1e-4 * scale)
        if len(ends)
        else (np.empty((0, obj.n)), np.empty(0, np.int64))
    )
    curvature = _curvature_scale(obj, x0)
    values, kinds, index, eig, _ = _describe(obj, centres, curvature)
    by_walk = np.bincount(lab, weights=walked, minlength=len(centres)) > 0
    by_descent = np.bincount(lab, weights=~walked, minlength=len(centres)) > 0
    boxed = _inside(centres, lo, hi, 1e-7 * scale)
    keep = by_descent | (by_walk & ~boxed)  # in the box a walk counts where it finds a minimum
    # a walk counts where it ends at a minimum (a corner, or past one on a flat set)
    level, reached = _name_corners(obj, centres, by_walk & ~by_descent, boxed, wide, kinds, eig,
                                   index, ("minimum",))  # fmt: skip
    for i, ok in reached.items():
        keep[i] = by_descent[i] or ok
    inside = _inside(centres, lo, hi, 1e-7 * scale) & keep  # a minimum on a face belongs to the box
    box = np.flatnonzero(inside)
    grouped = entries(obj, centres[box], values[box], eig[box], [kinds[i] for i in box],
                       [index[i] for i in box], level[box], lo, hi,
                       lambda: value_tolerance(obj, x0, values), curvature, seed,
                       "minimum")  # fmt: skip
    reps = box[grouped.centre]
    order = np.lexsort((centres[reps, 0], values[reps]))
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    rank = np.where(keep, OUTSIDE, FAILED).astype(np.int64)
    rank[box] = place[grouped.entry]
    labels = np.full(len(x0), FAILED, dtype=np.int64)
    labels[origin] = rank[lab]
    away = np.flatnonzero(~inside & keep)
    away = away[np.lexsort((centres[away, 0], values[away]))]
    chosen = reps[order]
    return Minima(
        names=obj.names,
        points=centres[chosen],
        values=values[chosen],
        eigenvalues=eig[chosen],
        kinds=tuple(grouped.kinds[i] for i in order),
        counts=np.bincount(labels[labels >= 0], minlength=order.size),
        labels=labels,
        starts=x0,
        status=batch.status,
        grid=grid,
        optimizer=batch.optimizer,
        settings=batch.settings,
        lr=batch.lr,
        lr_reason=batch.lr_reason,
        seed=seed,
        lo=lo,
        hi=hi,
        outside_points=centres[away],
        outside_values=values[away],
        outside_counts=np.bincount(lab, minlength=len(centres))[away],
        sets=tuple(grouped.sets[i] for i in order),
        starts_requested=count,
    )
