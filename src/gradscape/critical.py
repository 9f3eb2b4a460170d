"""Critical points and minima from many starts at once.

:func:`critical_points` solves ``∇f = 0`` from a grid of starts in a box with a damped Newton
iteration on the gradient (every kind of critical point attracts it: minima, maxima, saddles),
merges the solutions that coincide, polishes each in float64 and classifies it by its Hessian.

:func:`multistart` descends from many starts (``vmap``, chunked; :mod:`gradscape.runs`), merges the
end points into distinct minima, and reports each with its value, kind and basin share (the share of
starts that reached it), the best one, and how many starts failed. In two variables the starts form
a grid, so the basins can be drawn as a map.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .calculus import classify
from .errors import InputError
from .objectives import Objective, check_range
from .results import Result
from .runs import CONVERGED, STATUS, minimize_many

#: Most starts accepted in one call (they are processed in chunks, so memory stays bounded).
MAX_STARTS = 10_000_000


# -- shared pieces ---------------------------------------------------------------------------------
def _box(obj: Objective, ranges: Mapping[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
    ranges = dict(obj.ranges if ranges is None else ranges)
    unknown = [k for k in ranges if k not in obj.names]
    if unknown:
        raise InputError(
            f"{', '.join(unknown)} is not a variable of {obj.signature()}; its variables are "
            f"{', '.join(obj.names)}."
        )
    missing = [n for n in obj.names if n not in ranges]
    if missing:
        raise InputError(
            f"Give a range for every variable of {obj.signature()}; missing "
            f"{', '.join(missing)} (e.g. {missing[0]}=-5:5)."
        )
    lo, hi = np.array([check_range(n, ranges[n]) for n in obj.names]).T
    return lo, hi


def box_dict(names: tuple[str, ...], lo: np.ndarray, hi: np.ndarray) -> dict[str, list[float]]:
    """The box as ``{name: [low, high]}`` for JSON."""
    return {n: [float(a), float(b)] for n, a, b in zip(names, lo, hi, strict=True)}


def _check_count(what: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"The number of {what} must be a whole number >= 1; got {n!r}.")
    if n > MAX_STARTS:
        raise InputError(f"At most {MAX_STARTS:,} {what}; got {n:,}.")
    return int(n)


def _starts(
    lo: np.ndarray, hi: np.ndarray, count: int, seed: int
) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """Starts in the box: a grid in two variables (so basins can be mapped), else seeded
    uniform random points. Returns ``(starts, grid_shape or None)``."""
    if lo.size == 2:
        side = max(2, math.isqrt(count - 1) + 1)
        xs, ys = (np.linspace(lo[i], hi[i], side) for i in range(2))
        mx, my = np.meshgrid(xs, ys)
        return np.column_stack([mx.ravel(), my.ravel()]), (side, side)
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


def _newton_roots(obj: Objective, steps: int) -> Any:
    """Compiled: Newton on ``∇f = 0`` with a line search on ``‖∇f‖²``, for a batch of points
    (every kind of critical point attracts it)."""
    import jax
    import jax.numpy as jnp

    key = ("critical newton", steps)
    if key in obj.compiled:
        return obj.compiled[key]
    grad = jax.grad(obj.fn)
    hess = jax.hessian(obj.fn)

    def solve(x: Any) -> Any:
        def body(_: Any, x: Any) -> Any:
            g = grad(x)
            h = hess(x)
            # Newton step for ∇f = 0 through the eigenvalues of H, ignoring directions whose
            # curvature is below 1e-14 of the largest (a pseudo-inverse): no damping of the weakly
            # curved directions, so degenerate critical points are still reached.
            lam, q = jnp.linalg.eigh(0.5 * (h + h.T))
            big = jnp.abs(lam) > 1e-14 * jnp.max(jnp.abs(lam))
            p = -q @ jnp.where(big, (q.T @ g) / jnp.where(big, lam, 1.0), 0.0)
            ts = 0.5 ** jnp.arange(20)
            trial = jax.vmap(lambda t: jnp.sum(grad(x + t * p) ** 2))(ts)
            ok = jnp.isfinite(trial) & (trial < jnp.sum(g * g))
            t = jnp.where(jnp.any(ok), ts[jnp.argmax(ok)], 0.0)
            return jnp.where(jnp.all(jnp.isfinite(p)), x + t * p, x)

        return jax.lax.fori_loop(0, steps, body, x)

    compiled = jax.jit(jax.vmap(solve))
    obj.compiled[key] = compiled
    return compiled


def _describe(
    obj: Objective, points: np.ndarray
) -> tuple[np.ndarray, list[str], list[int], np.ndarray, np.ndarray]:
    """Values, kinds, indices, eigenvalues and gradient norms of points, in float64."""
    import jax
    import jax.numpy as jnp

    key = "describe"
    if key not in obj.compiled:
        obj.compiled[key] = jax.jit(
            jax.vmap(lambda x: (obj.fn(x), jax.grad(obj.fn)(x), jax.hessian(obj.fn)(x)))
        )
    v, g, h = (np.asarray(a) for a in obj.compiled[key](jnp.asarray(points)))
    eig = np.linalg.eigvalsh(0.5 * (h + np.swapaxes(h, 1, 2)))
    kinds, index = [], []
    for lam in eig:
        k, i = classify(lam)
        kinds.append(k)
        index.append(i)
    return v, kinds, index, eig, np.linalg.norm(g, axis=1)


def _named(names: tuple[str, ...], p: np.ndarray) -> dict[str, float]:
    return {n: float(v) for n, v in zip(names, p, strict=True)}


# -- critical points -------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CriticalPoints(Result):
    """The distinct critical points found in a box.

    Attributes:
        names: variables.
        points: shape ``(k, n)``; values ``(k,)``; eigenvalues ``(k, n)`` (ascending);
        kinds: ``minimum``, ``maximum``, ``saddle`` or ``degenerate``; indices: negative
            eigenvalues (a saddle's index).
        lo, hi: the box.
        starts: how many starts were used.
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

    def summary(self) -> dict[str, Any]:
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
                    "eigenvalues": [float(x) for x in lam],
                }
                for p, v, k, i, lam in zip(
                    self.points,
                    self.values,
                    self.kinds,
                    self.indices,
                    self.eigenvalues,
                    strict=True,
                )
            ],
        }


@with_x64
def critical_points(
    obj: Objective,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    *,
    starts: int = 2500,
    steps: int = 60,
    seed: int = 0,
) -> CriticalPoints:
    """Every critical point (``∇f = 0``) found in the box, merged and classified.

    Args:
        ranges: ``{name: (low, high)}`` for every variable (default: the objective's ranges).
        starts: how many starts (a grid in two variables, else seeded uniform points).
        steps: damped Newton iterations per start.

    Example:
        >>> cp = critical_points(gs.objective("x^2 - y^2"), {"x": (-1, 1), "y": (-1, 1)})
        >>> cp.kinds, cp.indices
        (('saddle',), (1,))
    """
    import jax.numpy as jnp

    lo, hi = _box(obj, ranges)
    count = _check_count("starts", starts)
    x0, _ = _starts(lo, hi, count, seed)
    ends = np.asarray(_newton_roots(obj, int(steps))(jnp.asarray(x0)))
    v, _, _, eig, gn = _describe(obj, ends)
    scale = max(1.0, float(np.max(hi - lo)))
    curv = np.maximum(1.0, np.max(np.abs(eig), axis=1))
    ok = (
        np.all(np.isfinite(ends), axis=1)
        & np.isfinite(v)
        & (gn <= 1e-7 * curv * scale)
        & np.all(ends >= lo - 1e-9 * scale, axis=1)
        & np.all(ends <= hi + 1e-9 * scale, axis=1)
    )
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return CriticalPoints(
            obj.names,
            np.empty((0, obj.n)),
            np.empty(0),
            np.empty((0, obj.n)),
            (),
            (),
            lo,
            hi,
            count,
        )
    centres, _ = _merge(ends[idx], np.argsort(gn[idx]), 1e-6 * scale)
    centres = np.asarray(_newton_roots(obj, 5)(jnp.asarray(centres)))  # polish
    centres, _ = _merge(centres, np.arange(len(centres)), 1e-6 * scale)
    values, kinds, index, eig, _ = _describe(obj, centres)
    order = np.lexsort((centres[:, 0], values))
    return CriticalPoints(
        names=obj.names,
        points=centres[order],
        values=values[order],
        eigenvalues=eig[order],
        kinds=tuple(kinds[i] for i in order),
        indices=tuple(index[i] for i in order),
        lo=lo,
        hi=hi,
        starts=count,
    )


# -- multistart ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Minima(Result):
    """Distinct minima reached from many starts, with their basins.

    Attributes:
        names: variables.
        points, values, eigenvalues, kinds: per distinct end point, ordered by value.
        counts: how many starts reached each; ``shares`` is counts / all starts.
        labels: per start, the index of the minimum it reached, or -1 when it did not converge.
        starts: the starts, shape ``(m, n)``; ``grid``: ``(ny, nx)`` when they form a grid.
        status: per start, the stop code (see :data:`gradscape.runs.STATUS`).
        optimizer, settings, lr, lr_reason, seed, lo, hi: how it was run.
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

    @property
    def shares(self) -> np.ndarray:
        return self.counts / max(1, self.labels.size)

    def failed(self) -> dict[str, int]:
        """Starts that did not converge, by reason."""
        return {
            STATUS[i]: int(np.sum(self.status == i))
            for i in range(1, len(STATUS))
            if i != CONVERGED and np.any(self.status == i)
        }

    def summary(self) -> dict[str, Any]:
        items = [
            {
                "point": _named(self.names, p),
                "value": float(v),
                "kind": k,
                "count": int(c),
                "share": float(c) / max(1, self.labels.size),
                "eigenvalues": [float(x) for x in lam],
            }
            for p, v, k, c, lam in zip(
                self.points, self.values, self.kinds, self.counts, self.eigenvalues, strict=True
            )
        ]
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
            "failed_total": int(np.sum(self.labels < 0)),
        }


def _single_precision_gtol(obj: Objective, x0: np.ndarray) -> float:
    """A gradient norm single precision can resolve: √eps32 times the typical one at the starts."""
    import jax
    import jax.numpy as jnp

    sample = x0[:: max(1, len(x0) // 512)]
    g = np.asarray(jax.jit(jax.vmap(jax.grad(obj.fn)))(jnp.asarray(sample)))
    norms = np.linalg.norm(g[np.all(np.isfinite(g), axis=1)], axis=1)
    typical = float(np.median(norms)) if norms.size else 1.0
    return float(np.sqrt(np.finfo(np.float32).eps)) * max(1.0, typical)


def _polish(obj: Objective, batch: Any, gtol: float, bounds: Any) -> Any:
    """Newton steps in float64 from every converged end point of a single-precision search."""
    from dataclasses import replace

    done = np.flatnonzero(batch.status == CONVERGED)
    if done.size == 0:
        return batch
    fine = minimize_many(obj, batch.params[done], "newton", max_steps=50, gtol=gtol, bounds=bounds)
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
    gtol: float = 1e-8,
    seed: int = 0,
    precision: str = "float64",
    chunk: int = 65536,
    progress: Callable[[int, int], None] | None = None,
) -> Minima:
    """Descend from many starts in the box at once and report the distinct minima reached.

    Args:
        ranges: ``{name: (low, high)}`` for every variable (default: the objective's ranges).
        starts: how many (a ``√m × √m`` grid in two variables, else seeded uniform points), or
            the starts themselves as an array of shape ``(m, n)``.
        method: any optimizer of the family; the default ``newton`` adapts its steps to the
            curvature (damped, with a line search), so it needs no tuning on steep, rugged
            functions; ``gd`` without ``lr`` takes ``1/|λ|max`` over the starts.
        max_steps, gtol: per start; starts that leave a margin of one box width around the box,
            diverge or run out of steps count as failed.
        precision: of the search. ``float64`` (default) throughout. ``float32`` descends in
            single precision until the gradient is within single-precision noise
            (``max(gtol, 3.5e-4·median |∇f| at the starts)``), then polishes every converged end
            point in float64 with Newton steps to ``gtol``; everything reported is float64. It
            pays off for long first-order searches (thousands of cheap steps: about 3x faster
            per step on a CPU), not for Newton, which converges in a few steps anyway.

    Example:
        >>> m = multistart(gs.objective("himmelblau"), starts=400)
        >>> len(m.points), round(m.values[0], 12)
        (4, 0.0)
    """
    lo, hi = _box(obj, ranges)
    if isinstance(starts, int | np.integer) and not isinstance(starts, bool):
        x0, grid = _starts(lo, hi, _check_count("starts", starts), seed)
    else:
        x0, grid = np.asarray(starts, dtype=np.float64), None
        if x0.ndim != 2 or x0.shape[1] != obj.n or not len(x0):
            raise InputError(f"starts must be a count or an array of shape (m, {obj.n}).")
    width = hi - lo
    bounds = {
        n: (float(a - w), float(b + w)) for n, a, b, w in zip(obj.names, lo, hi, width, strict=True)
    }
    search_gtol = gtol if precision == "float64" else max(gtol, _single_precision_gtol(obj, x0))
    batch = minimize_many(
        obj, x0, method, lr=lr, max_steps=max_steps, gtol=search_gtol, bounds=bounds,
        chunk=chunk, precision=precision, progress=progress,
    )  # fmt: skip
    if precision != "float64":
        batch = _polish(obj, batch, gtol, bounds)
    done = np.flatnonzero(batch.status == CONVERGED)
    scale = max(1.0, float(np.max(width)))
    labels = np.full(len(x0), -1, dtype=np.int64)
    if done.size == 0:
        empty = np.empty((0, obj.n))
        return Minima(obj.names, empty, np.empty(0), empty, (), np.empty(0, np.int64), labels, x0,
                      batch.status, grid, batch.optimizer, batch.settings, batch.lr,
                      batch.lr_reason, seed, lo, hi)  # fmt: skip
    ends = batch.params[done]
    centres, lab = _merge(ends, np.argsort(batch.values[done]), 1e-4 * scale)
    values, kinds, _, eig, _ = _describe(obj, centres)
    order = np.lexsort((centres[:, 0], values))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    labels[done] = rank[lab]
    return Minima(
        names=obj.names,
        points=centres[order],
        values=values[order],
        eigenvalues=eig[order],
        kinds=tuple(kinds[i] for i in order),
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
    )
