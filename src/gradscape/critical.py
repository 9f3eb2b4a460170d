"""Critical points of every kind (minima, maxima, saddles) in a box, from many starts at once.

:func:`critical_points` solves ``∇f = 0`` from a grid of starts in a box with a damped Newton
iteration on the gradient (every kind of critical point attracts it: minima, maxima, saddles),
merges the solutions that coincide, polishes each in float64 and classifies it by its Hessian.

:func:`gradscape.multistarts.multistart` is its sibling: it descends from many starts instead.

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
through :func:`gradscape.batches.minimize_many`, so they share its caps (Newton's dimension, memory,
projected time) and stop between compiled segments on Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .batches import check_memory, minimize_many
from .box_search import (
    MAX_NEWTON_STEPS,
    Found,
    box_dict,
    box_starts,
    check_starts,
    curvature_scale,
    describe_points,
    eigenvalue_list,
    inside_box,
    merge_points,
    named_point,
    search_box,
    sets_per_point,
    settle,
)
from .curvature import MAX_NEWTON_DIM
from .errors import InputError, whole_number
from .objectives import Objective
from .optimizers import newton_roots
from .point_sets import corners_from, lookout
from .results import Result
from .sources import objective


@dataclass(frozen=True, eq=False)
class CriticalPoints(Found, Result):
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
        ran_off: starts whose solution lay beyond the margin of one box width around the box
            (Newton ran off toward infinity where ∇f fades, as for ``1/x``): not critical points.
        notes: where f was seen to fall or rise without bound or to jump
            (:func:`gradscape.point_sets.unsound_notes`); see :attr:`warnings`.
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
    ran_off: int = 0
    notes: tuple[str, ...] = ()

    def _starts_ran(self) -> int:
        return self.starts

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a view must say beside the points (one line each): where f was seen to run off
        without bound or jump (never listed as critical points), and starts that ran off toward
        infinity."""
        off: tuple[str, ...] = ()
        if self.ran_off:
            s = "start" if self.ran_off == 1 else "starts"
            off = (f"{self.ran_off:,} {s} ran off toward infinity, where ∇f fades (f levels off "
                   "or grows ever more slowly): no critical point there",)  # fmt: skip
        return tuple(self.notes) + off

    def summary(self) -> dict[str, Any]:
        outside = self.outside_points if self.outside_points is not None else np.empty((0, 0))
        return {
            "variables": list(self.names),
            "box": box_dict(self.names, self.lo, self.hi),
            "starts": self.starts,
            "points": [
                {
                    "point": named_point(self.names, p),
                    "value": float(v),
                    "kind": k,
                    "index": i,
                    "eigenvalues": eigenvalue_list(lam),
                    "set": st,
                }
                for p, v, k, i, lam, st in zip(
                    self.points,
                    self.values,
                    self.kinds,
                    self.indices,
                    self.eigenvalues,
                    sets_per_point(self.sets, len(self.points)),
                    strict=True,
                )
            ],
            "outside_box": {
                "starts": self.outside,
                "points": [named_point(self.names, p) for p in outside],
            },
            "unresolved_starts": self.unresolved,
            "ran_off": self.ran_off,
            "warnings": list(self.warnings),
            **self._asked(),
        }


def check_critical_dims(n: int) -> None:
    """Refuse a search for critical points in more than :data:`gradscape.curvature.MAX_NEWTON_DIM`
    variables (Newton's method on ∇f = 0 forms the n × n Hessian at every step)."""
    if n > MAX_NEWTON_DIM:
        raise InputError(
            f"The search for critical points uses Newton's method, which forms the {n:,} × "
            f"{n:,} Hessian and its eigendecomposition (about {10 * n**3:.0e} operations) at "
            f"every step of every start; it is capped at {MAX_NEWTON_DIM} variables "
            "(gradscape.curvature.MAX_NEWTON_DIM)."
        )


@with_x64
def critical_points(
    obj: Objective | str | Callable[..., Any],
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
        time_limit: cap on the projected seconds (default :data:`gradscape.batches.TIME_LIMIT`).

    Raises:
        InputError: a bad box or count; more than :data:`gradscape.curvature.MAX_NEWTON_DIM`
            variables; results or projected time over their caps.

    Example:
        >>> cp = critical_points(gs.objective("x^2 - y^2"), {"x": (-1, 1), "y": (-1, 1)})
        >>> cp.kinds, cp.indices
        (('saddle',), (1,))
    """
    obj = objective(obj)
    lo, hi = search_box(obj, ranges)
    count = check_starts(starts)
    steps = whole_number(steps, "Newton steps", 1, MAX_NEWTON_STEPS, "MAX_NEWTON_STEPS")
    check_critical_dims(obj.n)
    check_memory("A search for critical points", count, obj.n)
    x0, _ = box_starts(lo, hi, count, seed)
    batch = minimize_many(obj, x0, newton_roots(), max_steps=steps, gtol=0.0,
                          time_limit=time_limit, progress=progress)  # fmt: skip
    ends = batch.params
    typical = curvature_scale(obj, x0)
    v, _, _, eig, gn = describe_points(obj, ends, typical)
    scale = max(1.0, float(np.max(hi - lo)))
    with np.errstate(invalid="ignore"):
        curv = np.maximum(typical, np.max(np.abs(eig), axis=1))
    solved = np.all(np.isfinite(ends), axis=1) & np.isfinite(v) & (gn <= 1e-7 * curv * scale)
    idx = np.flatnonzero(solved)
    centres = np.empty((0, obj.n))
    if idx.size:
        centres, _ = merge_points(ends[idx], np.argsort(gn[idx]), 1e-6 * scale)
        centres = minimize_many(obj, centres, newton_roots(), max_steps=5, gtol=0.0).params
        centres, _ = merge_points(centres, np.arange(len(centres)), 1e-6 * scale)  # polished
    tol = 1e-7 * scale  # a critical point on a face of the box belongs to it
    near = inside_box(ends, lo, hi, tol)  # where each start ended
    wide = float(np.max(hi - lo))
    with np.errstate(invalid="ignore"):
        far = solved & ~inside_box(ends, lo - wide, hi + wide, tol)  # ran off toward infinity
    found = len(centres)
    corners, walked_from = corners_from(obj, x0, ~solved, wide, seed)
    if len(corners):
        centres, lab = merge_points(np.concatenate([centres, corners]),
                              np.arange(found + len(corners)), 1e-6 * scale)  # fmt: skip
        by_walk = np.zeros(len(centres), dtype=bool)
        by_walk[lab[found:]] = True
        by_root = np.bincount(lab[:found], minlength=len(centres)) > 0
    else:
        by_walk, by_root = np.zeros(found, dtype=bool), np.ones(found, dtype=bool)
    st = settle(obj, centres, by_root, by_walk, lo, hi, typical, x0, seed,
                ("minimum", "maximum"), "degenerate", keep_walks_outside=False,
                stalled=np.concatenate([ends[~solved], lookout(obj, x0, wide)]))  # fmt: skip
    keep, order, grouped = st.keep, st.order, st.grouped
    resolved = walked_from[keep[lab[found:]]] if len(corners) else np.empty(0, np.int64)
    return CriticalPoints(
        **st.listed(obj.names, centres),
        indices=tuple(grouped.indices[i] for i in order),
        lo=lo,
        hi=hi,
        starts=len(x0),
        outside=int(np.sum(solved & ~near & ~far)),
        outside_points=centres[~inside_box(centres, lo, hi, tol) & keep],
        unresolved=int(np.sum(~solved)) - int(np.unique(resolved[~solved[resolved]]).size),
        starts_requested=count,
        ran_off=int(np.sum(far)),
        notes=st.notes,
    )
