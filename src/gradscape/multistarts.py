"""Distinct minima and their basins from many starts at once.

:func:`multistart` descends from many starts (``vmap``, chunked; :mod:`gradscape.runs`), merges the
end points into distinct minima, and reports each with its value, kind and basin share (the share of
starts that reached it), the best one, and how many starts failed. In two variables the starts form
a grid, so the basins can be drawn as a map. A descent that stalls at a corner is walked on to it
(:mod:`gradscape.nonsmooth`); minima on one flat set are one entry (:mod:`gradscape.flat_sets`). The
pieces it shares with :func:`gradscape.critical.critical_points` live in :mod:`gradscape.box_search`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ._x64 import with_x64
from .batches import check_memory, minimize_many
from .box_search import (
    FAILED,
    OUTSIDE,
    Found,
    box_dict,
    box_starts,
    check_starts,
    curvature_scale,
    eigenvalue_list,
    merge_points,
    named_point,
    rows_or_none,
    search_box,
    sets_per_point,
    settle,
)
from .curvature import MAX_NEWTON_DIM, check_newton_size
from .engine import CONVERGED, STATUS, budget_for, typical_gradient
from .errors import InputError
from .executors import ChunkStore
from .nonsmooth import values_at
from .objectives import Objective
from .optimizers import optimizer
from .point_sets import (
    ends_and_corners,
)
from .results import Result, finite, integers, need, shaped, within
from .sources import objective


@dataclass(frozen=True, eq=False)
class Minima(Found, Result):
    """Distinct minima reached from many starts, with their basins.

    Attributes:
        names: variables.
        points, values, eigenvalues, kinds: per distinct end point, ordered by value.
        counts: how many starts reached each; ``shares`` is counts / all starts.
        labels: per start, the index of the minimum it reached; :data:`FAILED` (-1) when it did
            not converge, :data:`OUTSIDE` (-2) when it converged to a point outside the box.
        starts: the starts, shape ``(m, n)``; ``grid``: ``(ny, nx)`` when they form a grid.
        status: per start, the stop code (see :data:`gradscape.engine.STATUS`).
        optimizer, settings, lr, lr_reason, seed, lo, hi: how it was run.
        outside_points, outside_values, outside_counts: the distinct points outside the box
            that starts converged to (they wandered out; not minima of the box), by value.
        sets: per minimum, ``None`` for an isolated point, or the description of the set of
            minima it stands for (:func:`gradscape.flat_sets.describe`: dimension, shape,
            extent, phrase), whose points are counted as one minimum with the starts of all.
        notes: where f was seen to fall without bound (``"no minimum: f decreases without bound
            toward x = 0"``) or to jump; such places are never listed as minima (see
            :attr:`warnings`).
        function, formula, max_steps: the function searched (its signature ``f(x, y)`` and
            formula, so a saved result says what it is of) and the step budget per start.

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
    notes: tuple[str, ...] = ()
    function: str = ""
    formula: str | None = None
    max_steps: int | None = None

    def _starts_ran(self) -> int:
        return int(self.labels.size)

    def check(self) -> None:
        """Its fields agree (see :meth:`gradscape.results.Result.check`): per minimum a point,
        value, eigenvalues, kind and count; per start a label, start and status; each label a
        minimum's index, FAILED or OUTSIDE; each count the starts labelled with it."""
        d, m = len(self.names), self.values.size
        shaped("values", self.values, None)
        shaped("points", self.points, m, d)
        shaped("eigenvalues", self.eigenvalues, m, None)
        shaped("counts", self.counts, m)
        shaped("lo", self.lo, d)
        shaped("hi", self.hi, d)
        for name in ("values", "points", "lo", "hi", "starts"):
            finite(name, getattr(self, name))
        need(np.all(self.lo < self.hi), "lo is not below hi")
        slack = 1e-6 * (self.hi - self.lo)  # a minimum on a face belongs to the box
        need(np.all((self.points >= self.lo - slack) & (self.points <= self.hi + slack)),
             "points holds a minimum outside the box lo..hi")  # fmt: skip
        need(self.lr is None or (math.isfinite(self.lr) and self.lr > 0),
             f"lr is {self.lr}, not a number > 0")  # fmt: skip
        need(self.starts_requested is None or self.starts_requested >= 1,
             f"starts_requested is {self.starts_requested}, below 1")  # fmt: skip
        need(len(self.kinds) == m, f"kinds has {len(self.kinds)} entries for {m} minima")
        need(
            not self.sets or len(self.sets) == m,
            f"sets has {len(self.sets)} entries for {m} minima",
        )
        shaped("labels", self.labels, None)
        shaped("starts", self.starts, self.labels.size, d)
        shaped("status", self.status, self.labels.size)
        for name in ("labels", "counts", "status"):
            integers(name, getattr(self, name))
        need(np.all((self.labels >= OUTSIDE) & (self.labels < m)),
             f"labels holds indices outside {OUTSIDE} to {m - 1}")  # fmt: skip
        within("status", self.status, 0, len(STATUS) - 1)
        need(np.all(self.counts >= 0), "counts holds negative counts")
        reached = np.bincount(self.labels[self.labels >= 0], minlength=m)
        need(np.array_equal(reached, self.counts), "counts differ from the starts in labels")
        if self.grid is not None:
            need(len(self.grid) == 2 and all(isinstance(g, int) and g >= 1 for g in self.grid)
                 and self.grid[0] * self.grid[1] == self.labels.size,
                 f"grid {self.grid} does not hold the {self.labels.size} starts")  # fmt: skip
        if self.outside_points is not None:
            q = self.outside_points.shape[0]
            shaped("outside_points", self.outside_points, q, d)
            for name in ("outside_values", "outside_counts"):
                a = getattr(self, name)
                need(a is not None, f"{name} is missing beside outside_points")
                shaped(name, a, q)
            need(
                np.all(np.asarray(self.outside_counts) >= 0), "outside_counts holds negative counts"
            )

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

    @property
    def diverged(self) -> bool:
        """Whether every start diverged: the search found nothing, and the settings are why."""
        return bool(self.labels.size) and self.failed().get("diverged", 0) == self.labels.size

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a view must say beside the minima (one line each)."""
        if self.diverged:
            return (f"every start diverged ({self.settings}); lower the learning rate",
                    *self.notes)  # fmt: skip
        return tuple(self.notes)

    def summary(self) -> dict[str, Any]:
        items = [
            {
                "point": named_point(self.names, p),
                "value": float(v),
                "kind": k,
                "count": int(c),
                "share": float(c) / max(1, self.labels.size),
                "eigenvalues": eigenvalue_list(lam),
                "set": st,
            }
            for p, v, k, c, lam, st in zip(
                self.points, self.values, self.kinds, self.counts, self.eigenvalues,
                sets_per_point(self.sets, len(self.points)), strict=True,
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
            "warnings": list(self.warnings),
            "walked_to_corners": self.walked,
            "outside_box": {
                "starts": self.outside,
                "points": [
                    {"point": named_point(self.names, p), "value": float(v), "count": int(c)}
                    for p, v, c in zip(
                        rows_or_none(self.outside_points),
                        rows_or_none(self.outside_values),
                        rows_or_none(self.outside_counts),
                        strict=True,
                    )
                ],
            },
            **self._asked(),
        }


def _values_at(obj: Objective, points: np.ndarray) -> np.ndarray:

    return values_at(obj, points) if len(points) else np.empty(0)


def _single_precision_gtol(obj: Objective, x0: np.ndarray) -> float:
    """A gradient norm single precision can resolve: √eps32 times the typical one at the starts."""
    return float(np.sqrt(np.finfo(np.float32).eps)) * typical_gradient(obj, x0)


def _polish(obj: Objective, batch: Any, gtol: float, bounds: Any) -> Any:
    """Steps in float64 (Newton, or L-BFGS beyond Newton's dimension cap) from every converged
    end point of a single-precision search."""

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
    obj: Objective | str | Callable[..., Any],
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
    executor: Any = None,
    store: ChunkStore | None = None,
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
            :func:`gradscape.engine.default_gtol` over the starts); starts that leave a margin of
            one box width around the box, diverge or run out of steps count as failed.
        precision: of the search. ``float64`` (default) throughout. ``float32`` descends in
            single precision until the gradient is within single-precision noise
            (``max(gtol, 3.5e-4·median |∇f| at the starts)``), then polishes every converged end
            point in float64 with Newton steps to ``gtol``; everything reported is float64. It
            pays off for long first-order searches (thousands of cheap steps: about 3x faster
            per step on a CPU), not for Newton, which converges in a few steps anyway.
        chunk: most starts per compiled chunk (default: set by memory and work per step).
        time_limit: cap on the projected seconds (default :data:`gradscape.batches.TIME_LIMIT`).
        executor, store: run the descents as tasks on a Dask cluster (a ``distributed.Client``)
            and/or keep each finished chunk in a :class:`~gradscape.executors.ChunkStore`, so an
            interrupted search resumes (:func:`gradscape.batches.minimize_many`); the workers
            make the starts from the seed themselves. The minima are the same as in process.

    Raises:
        InputError: a bad box, count or setting; Newton beyond
            :data:`gradscape.curvature.MAX_NEWTON_DIM` variables; results or projected time over
            their caps.

    Example:
        >>> m = multistart(gs.objective("himmelblau"), starts=400)
        >>> len(m.points), round(float(m.values[0]), 12)
        (4, 0.0)
    """
    obj = objective(obj)

    lo, hi = search_box(obj, ranges)
    check_newton_size(optimizer(method, lr=lr), obj)  # before making the starts
    count: int | None = None  # starts given as an array were not asked for by number
    if isinstance(starts, int | np.integer) and not isinstance(starts, bool):
        count = check_starts(starts)
        check_memory("A multistart", count, obj.n)
        x0, grid = box_starts(lo, hi, count, seed)
    else:
        x0, grid = np.asarray(starts, dtype=np.float64), None
        if x0.ndim != 2 or x0.shape[1] != obj.n or not len(x0):
            raise InputError(f"starts must be a count or an array of shape (m, {obj.n}).")
    width = hi - lo
    bounds = {
        n: (float(a - w), float(b + w)) for n, a, b, w in zip(obj.names, lo, hi, width, strict=True)
    }
    asked_steps = max_steps
    x0, max_steps, gtol = budget_for(obj, x0, max_steps, gtol)
    search_gtol = gtol if precision == "float64" else max(gtol, _single_precision_gtol(obj, x0))
    made = ("gradscape.box_search:box_starts", (lo, hi, count, seed)) if count else None
    batch = minimize_many(
        obj, x0, method, lr=lr, max_steps=max_steps, gtol=search_gtol, bounds=bounds,
        chunk=chunk, precision=precision, progress=progress, time_limit=time_limit,
        executor=executor, store=store, rebuild=made,
    )  # fmt: skip
    if precision != "float64":
        batch = _polish(obj, batch, gtol, bounds)
    done = np.flatnonzero(batch.status == CONVERGED)
    scale = max(1.0, float(np.max(width)))
    wide = float(np.max(width))
    ends, origin, walked = ends_and_corners(obj, batch, done, lo - width, hi + width, wide, seed)
    centres, lab = (
        merge_points(ends, np.argsort(_values_at(obj, ends)), 1e-4 * scale)
        if len(ends)
        else (np.empty((0, obj.n)), np.empty(0, np.int64))
    )
    by_walk = np.bincount(lab, weights=walked, minlength=len(centres)) > 0
    by_descent = np.bincount(lab, weights=~walked, minlength=len(centres)) > 0
    st = settle(obj, centres, by_descent, by_walk, lo, hi, curvature_scale(obj, x0), x0, seed,
                ("minimum",), "minimum", keep_walks_outside=True,
                stalled=batch.params[batch.status != CONVERGED])  # fmt: skip
    keep, inside, values, order, grouped = st.keep, st.inside, st.values, st.order, st.grouped
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    rank = np.where(keep, OUTSIDE, FAILED).astype(np.int64)
    rank[st.box] = place[grouped.entry]
    labels = np.full(len(x0), FAILED, dtype=np.int64)
    labels[origin] = rank[lab]
    away = np.flatnonzero(~inside & keep)
    away = away[np.lexsort((centres[away, 0], values[away]))]
    return Minima(
        **st.listed(obj.names, centres),
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
        starts_requested=count,
        notes=st.notes,
        function=obj.signature(),
        formula=obj.formula,
        max_steps=asked_steps,
    )
