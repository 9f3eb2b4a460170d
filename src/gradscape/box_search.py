"""What the box searches share: the box and its starts, merging end points that coincide, naming
what each found point is, and :class:`Found`, the decisions both results carry for every view.

:func:`gradscape.critical.critical_points` (solve ``∇f = 0``) and
:func:`gradscape.multistarts.multistart` (descend from many starts) are built from these pieces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .calculus import classify
from .errors import InputError, listing, whole_number
from .nonsmooth import values_at
from .objectives import Objective, check_range
from .point_sets import (
    SANE_SPREAD,
    Soundness,
    at_corners,
    base_kind,
    entries,
    probe_corners,
    sane_band,
    soundness,
    unsound_notes,
    value_tolerance,
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


def search_box(obj: Objective, ranges: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
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


def check_starts(n: Any) -> int:
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
        f"{asked:,} {'start' if asked == 1 else 'starts'} asked, {ran:,} run: in two variables the starts form a grid (so the "
        f"basins can be mapped), and {nx} × {ny} is the smallest one holding {asked:,} that is "
        "at most twice as wide as tall"
    )


def box_starts(
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


def merge_points(
    points: np.ndarray, order: np.ndarray, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy clustering: visit points in ``order``; each joins the first centre within ``tol``
    (max-norm) or starts a new one. Returns ``(centres, label per point)``.

    Points are first binned into cells of ``tol/2`` (one representative per cell, the first in
    ``order``), so millions of end points cost one ``np.unique`` and the greedy pass sees only
    the occupied cells."""
    # cells as floats: an end far out (a search that ran off to 1e20) has no int64 cell
    with np.errstate(over="ignore", invalid="ignore"):
        cells = np.nan_to_num(np.floor(points / (tol / 2)), nan=np.inf)
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


def chunked(fn: Any, points: np.ndarray, rows: int) -> list[np.ndarray]:
    """``fn`` over ``points`` in blocks of ``rows`` (the last padded, so one shape compiles),
    each output concatenated back along the first axis."""

    parts: list[list[np.ndarray]] = []
    size = min(rows, len(points))
    for lo in range(0, len(points), size):
        block = points[lo : lo + size]
        pad = size - len(block)
        if pad:
            block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
        parts.append([np.asarray(a)[: size - pad] for a in fn(jnp.asarray(block))])
    return [np.concatenate(p) for p in zip(*parts, strict=True)]


def describe_points(
    obj: Objective, points: np.ndarray, curvature: float = 0.0
) -> tuple[np.ndarray, list[str], list[int], np.ndarray, np.ndarray]:
    """Values, kinds, indices, eigenvalues and gradient norms of points, in float64 (in blocks of
    bounded memory: each point has an ``n × n`` Hessian).

    An eigenvalue counts as zero below ``1e-8 · max(max|λ| there, curvature)``: ``curvature``
    (:func:`curvature_scale`) is the function's own, so a degenerate point found a little off
    (the monkey saddle's Hessian is 6e-9 at 1e-9 from it) stays degenerate, while a function of
    small scale (``1e-9·(x² + y²)``) keeps its minimum."""
    if len(points) == 0:
        empty = np.empty((0, obj.n))
        return np.empty(0), [], [], empty, np.empty(0)
    v, g, eig = hessians_at(obj, points)
    kinds, index = [], []
    for lam in eig:
        top = float(np.max(np.abs(lam))) if lam.size else 0.0
        k, i = classify(lam, tol=1e-8 * max(top, curvature))
        kinds.append(k)
        index.append(i)
    with np.errstate(over="ignore", invalid="ignore"):
        gn = np.linalg.norm(g, axis=1)
    return v, kinds, index, eig, gn


def name_corners(
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


def hessians_at(obj: Objective, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f``, ``∇f`` and the Hessian's eigenvalues (ascending) at every point."""

    key = "describe"
    if key not in obj.compiled:
        obj.compiled[key] = jax.jit(
            jax.vmap(lambda x: (obj.fn(x), jax.grad(obj.fn)(x), jax.hessian(obj.fn)(x)))
        )
    rows = max(1, min(4096, (64 * 1024**2) // (8 * obj.n * obj.n)))
    v, g, h = chunked(obj.compiled[key], points, rows)
    # NaN where the Hessian is not finite (f undefined or overflowing there): LAPACK refuses it
    eig = np.full(h.shape[:2], np.nan)
    ok = np.all(np.isfinite(h), axis=(1, 2))
    eig[ok] = np.linalg.eigvalsh(0.5 * (h[ok] + np.swapaxes(h[ok], 1, 2)))
    return v, g, eig


def curvature_scale(obj: Objective, starts: np.ndarray) -> float:
    """The function's typical curvature: the median of ``max|λ|`` of the Hessian over (up to 64
    of) the starts, leaving out zeros and non-finite values; 0 when none is left."""
    if not len(starts):
        return 0.0
    _, _, eig = hessians_at(obj, starts[:: max(1, len(starts) // 64)])
    with np.errstate(invalid="ignore"):
        top = np.max(np.abs(eig), axis=1)
    top = top[np.isfinite(top) & (top > 0)]
    return float(np.median(top)) if top.size else 0.0


def inside_box(points: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float) -> np.ndarray:
    """Which points lie in the box (within ``tol`` of its faces)."""
    inside: np.ndarray = np.all(points >= lo - tol, axis=1) & np.all(points <= hi + tol, axis=1)
    return inside


def rows_or_none(a: np.ndarray | None) -> Any:
    return a if a is not None else ()


def named_point(names: tuple[str, ...], p: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(names, p, strict=True)}


def eigenvalue_list(lam: np.ndarray) -> list[float] | None:
    """Eigenvalues for JSON; ``None`` where f is not differentiable (they are NaN)."""
    return [float(x) for x in lam] if np.all(np.isfinite(lam)) else None


def sets_per_point(
    sets: tuple[dict[str, Any] | None, ...], k: int
) -> tuple[dict[str, Any] | None, ...]:
    """One set description (or ``None``) per point, also for results saved without them."""
    return sets if len(sets) == k else (None,) * k


class Found:
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
        return sets_per_point(self.sets, len(self.kinds))

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


@dataclass(frozen=True)
class Settled:
    """The found points of a search settled into what it lists: per centre its value, Hessian
    eigenvalues and whether it is kept and in the box; the entries (:func:`entries`, a flat set
    once) and their order by value (``chosen``: the centre each listed entry stands on)."""

    values: np.ndarray
    eig: np.ndarray
    keep: np.ndarray
    inside: np.ndarray
    box: np.ndarray
    grouped: Any
    order: np.ndarray
    chosen: np.ndarray
    notes: tuple[str, ...] = ()

    def listed(self, names: tuple[str, ...], centres: np.ndarray) -> dict[str, Any]:
        """The fields both results list per entry, in order of value: names, points, values,
        Hessian eigenvalues, kinds and the flat set each stands for."""
        order, chosen, grouped = self.order, self.chosen, self.grouped
        return {
            "names": names,
            "points": centres[chosen],
            "values": self.values[chosen],
            "eigenvalues": self.eig[chosen],
            "kinds": tuple(grouped.kinds[i] for i in order),
            "sets": tuple(grouped.sets[i] for i in order),
        }


def settle(
    obj: Objective, centres: np.ndarray, by_search: np.ndarray, by_walk: np.ndarray,
    lo: np.ndarray, hi: np.ndarray, curvature: float, x0: np.ndarray, seed: int,
    counted: tuple[str, ...], kind: str, keep_walks_outside: bool,
    stalled: np.ndarray | None = None,
) -> Settled:  # fmt: skip
    """The one sequence both searches end with: classify the merged centres, probe those only a
    walk reached (a corner counts where it is one of ``counted``), keep the box's, group points on
    one flat set into one entry of ``kind`` and order the entries by value.

    ``by_search``/``by_walk``: which centres the search itself and a gradient-sampling walk
    reached; ``keep_walks_outside``: whether a walk's end outside the box is kept (to be counted
    as outside) or dropped.

    A centre where f is not finite, bounded and continuous nearby (:func:`soundness`: a pole,
    a jump, the edge of ``log``'s domain) is never kept, nor one beyond the margin of one width
    around the box (the search ran off); ``stalled``: where descents that reached nothing
    stopped, checked the same way where f there lies outside the values seen in the box. What
    was seen is said in ``notes``."""
    width = float(np.max(hi - lo))
    scale = max(1.0, width)
    values, kinds, index, eig, _ = describe_points(obj, centres, curvature)
    boxed = inside_box(centres, lo, hi, 1e-7 * scale)  # a point on a face belongs to the box
    keep = by_search | (by_walk & ~boxed) if keep_walks_outside else by_search.copy()
    level, reached = name_corners(
        obj, centres, by_walk & ~by_search, boxed, width, kinds, eig, index, counted
    )
    for i, ok in reached.items():
        keep[i] = by_search[i] or ok
    keep &= inside_box(centres, lo - (hi - lo), hi + (hi - lo), 1e-7 * scale)  # not run off
    band = sane_band(obj, x0)
    check = np.flatnonzero(keep)
    sound = soundness(obj, centres[check], width, band, seed)
    keep[check[~sound.ok]] = False
    said = ~sound.ok & boxed[check]  # what f does beyond the box is not the box's to say
    bad_points, bad = centres[check[said]], _subset(sound, said)
    if stalled is not None and len(stalled):  # evidence from within the box only
        with np.errstate(invalid="ignore"):
            stalled = stalled[inside_box(stalled, lo, hi, 1e-7 * scale)]
        with np.errstate(all="ignore"):
            fs = values_at(obj, stalled) if len(stalled) else np.empty(0)
        reach = (SANE_SPREAD - 10) * band[2]  # beyond ten spreads of the values seen
        odd = stalled[~np.isnan(fs) & ~((fs >= band[0] + reach) & (fs <= band[1] - reach))]
        odd = odd[np.all(np.isfinite(odd), axis=1)][:: max(1, len(odd) // 256)]
        more = soundness(obj, odd, width, band, seed)
        bad_points = np.concatenate([bad_points, odd[~more.ok]])
        bad = _join(bad, _subset(more, ~more.ok))
    inside = boxed & keep
    box = np.flatnonzero(inside)
    grouped = entries(obj, centres[box], values[box], eig[box], [kinds[i] for i in box],
                      [index[i] for i in box], level[box], lo, hi,
                      lambda: value_tolerance(obj, x0, values), curvature, seed, kind)  # fmt: skip
    reps = box[grouped.centre]
    order = np.lexsort((centres[reps, 0], values[reps]))
    search = "minimum" if counted == ("minimum",) else "critical"
    big = float(max(1.0, *np.abs(lo), *np.abs(hi)))
    notes = unsound_notes(obj.names, bad_points, bad, big, search, bool(order.size))
    return Settled(values, eig, keep, inside, box, grouped, order, reps[order], notes)


def _subset(s: Soundness, rows: np.ndarray) -> Soundness:
    return Soundness(s.ok[rows], s.trend[rows], s.axes[rows])


def _join(a: Soundness, b: Soundness) -> Soundness:
    return Soundness(*(np.concatenate([x, y]) for x, y in
                       ((a.ok, b.ok), (a.trend, b.trend), (a.axes, b.axes))))  # fmt: skip
