"""What a search for critical points or minima found, settled into the entries it lists.

A search (:func:`gradscape.critical.critical_points`, :func:`gradscape.multistarts.multistart`)
ends with points. Two things stand between them and a list a person can trust:

- corners: where f may have them, the starts a descent could not finish are walked on to them
  (:mod:`gradscape.nonsmooth`), and every point found by a walk, or sitting exactly on a corner
  of a part of the formula, is probed from every side (:mod:`gradscape.kinks`): where f is not
  differentiable its kind is the probes' (``"minimum (non-smooth)"``), never the Hessian's;
- sets: points on one connected set of equal value are one entry
  (:mod:`gradscape.flat_sets`), with the kind of the set's points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batches import minimize_many
from .calculus import classify
from .engine import DIVERGED, LEFT_BOUNDS, MAX_STEPS, batch_value_and_grad
from .flat_sets import describe, flat, group, local_dimension, neighbour_chords
from .kinks import may_kink, on_corners
from .nonsmooth import MAX_CORNER_DIM, corner_kind, most_walks, thin, values_at, walk_to_corners
from .objectives import Objective
from .optimizers import newton_roots

NON_SMOOTH = " (non-smooth)"  # appended to the kind of a point where f is not differentiable


def base_kind(kind: str) -> str:
    """``"minimum"`` for ``"minimum (non-smooth)"``: the kind without the word on smoothness."""
    return kind.removesuffix(NON_SMOOTH)


def value_tolerance(obj: Objective, starts: np.ndarray, values: np.ndarray) -> float:
    """Values closer than this are equal: ``1e-9`` of how much f varies over the box (the
    median ``|f − min f|`` over up to 1,024 starts), plus rounding of the values themselves."""

    f = batch_value_and_grad(obj, starts[:: max(1, len(starts) // 1024)])[0]
    f = f[np.isfinite(f)]
    spread = float(np.median(f - f.min())) if f.size else 0.0
    top = float(np.max(np.abs(values), initial=0.0)) if len(values) else 0.0
    return 1e-9 * spread + 16 * float(np.finfo(np.float64).eps) * top


def walk(
    obj: Objective, points: np.ndarray, width: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient sampling from (at most :func:`~gradscape.nonsmooth.most_walks`, evenly
    chosen, of) ``points`` to the corners of f: ``(rows used, corners found there)``."""

    rows = np.arange(len(points))
    if len(rows) > (most := most_walks(obj.n)):
        rows = rows[np.linspace(0, len(rows) - 1, most).astype(np.int64)]
    ends, found = walk_to_corners(obj, points[rows], width, seed=seed)
    return rows[found], ends[found]


def negated(obj: Objective) -> Objective:
    """``−f`` (made once per objective), so that walking down it finds the corners at the top
    of f."""
    if "negated" not in obj.compiled:
        fn = obj.fn
        obj.compiled["negated"] = Objective(fn=lambda t: -fn(t), names=obj.names, label=obj.label)
    neg: Objective = obj.compiled["negated"]
    return neg


@dataclass(frozen=True)
class Verdict:
    kind: str  # "minimum (non-smooth)" where f is not differentiable; "minimum"... where it is
    differentiable: bool
    level: bool  # f is level, or smooth to first order, along some direction: it may lie on a set
    flat: bool = False  # f is level along every direction probed (a region where f is constant)


def probe_corners(
    obj: Objective, centres: np.ndarray, which: np.ndarray, width: float
) -> dict[int, Verdict]:
    """Probe the ``which`` centres from every side (:func:`gradscape.nonsmooth.corner_kind`):
    per centre, its kind where f is not differentiable there."""

    out = {}
    for i in np.flatnonzero(which):
        probe = corner_kind(obj, centres[i], width)
        if probe.differentiable:  # a corner of a part that f smooths over: level somewhere?
            level_everywhere = probe.kind == "undecided" and probe.level
            out[int(i)] = Verdict(probe.kind, True, probe.level, level_everywhere)
        else:  # a corner: smooth to first order along some direction?
            out[int(i)] = Verdict(probe.kind + NON_SMOOTH, False, thin(obj, centres[i], width))
    return out


def at_corners(obj: Objective, centres: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Which centres in the box sit exactly on a corner of a part of the formula (a descent
    that stopped there by autodiff's convention, ``relu'(0) = 0``)."""

    out = np.zeros(len(centres), dtype=bool)
    out[inside] = on_corners(obj, centres[inside])
    return out


@dataclass(frozen=True)
class Entries:
    """Centres collapsed into entries: one per isolated point, one per set."""

    centre: np.ndarray  # per entry, the centre that stands for it
    entry: np.ndarray  # per centre, its entry
    kinds: list[str]
    indices: list[int]
    sets: list[dict[str, Any] | None]


def entries(
    obj: Objective,
    centres: np.ndarray,
    values: np.ndarray,
    eig: np.ndarray,
    kinds: list[str],
    indices: list[int],
    level: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    tolerance: Callable[[], float],
    curvature: float,
    seed: int,
    level_kind: str,
) -> Entries:
    """Group the centres that lie on one connected set of equal value
    (:func:`gradscape.flat_sets.group`) and describe each set; the rest stay points."""

    k = len(centres)
    width = hi - lo
    smooth = np.all(np.isfinite(eig), axis=1) if k else np.empty(0, bool)

    def project(points: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        out = points.copy()
        both = smooth[pairs[:, 0]] & smooth[pairs[:, 1]]
        if both.any():  # back onto the critical points nearby, of whatever kind
            out[both] = minimize_many(obj, points[both], newton_roots(), max_steps=20,
                                      gtol=0.0).params  # fmt: skip
        top = ~both & np.array([base_kind(kinds[i]) == "maximum" for i in pairs[:, 0]], bool)
        chord = np.linalg.norm(centres[pairs[:, 1]] - centres[pairs[:, 0]], axis=1)
        for rows, target in ((~both & ~top, obj), (top, negated(obj))):
            if rows.any():  # back onto the corners nearby, down f (or up, for maxima)
                out[rows] = walk_to_corners(target, points[rows], float(np.max(width)),
                                            seed=seed, first=chord[rows] / 1024)[0]  # fmt: skip
        return out

    candidates = flat(eig, level) if k else np.empty(0, bool)
    vtol = tolerance() if np.sum(candidates) >= 2 else 0.0  # (it costs an evaluation)
    labels, links = (
        group(centres, values, candidates, vtol, width, project, lambda x: values_at(obj, x))
        if k
        else (np.empty(0, np.int64), np.empty((0, 2), np.int64))
    )
    chords = neighbour_chords(centres, links, labels)
    scale = float(max(1.0, np.max(np.abs(np.concatenate([lo, hi])))))
    rep_of: list[int] = []
    kind_of: list[str] = []
    index_of: list[int] = []
    set_of: list[dict[str, Any] | None] = []
    entry = np.empty(k, dtype=np.int64)
    for label in range(int(labels.max()) + 1 if k else 0):
        members = np.flatnonzero(labels == label)
        rep = int(members[np.lexsort((centres[members, 0], values[members]))[0]])
        entry[members] = len(rep_of)
        rep_of.append(rep)
        if members.size == 1:
            kind_of.append(kinds[rep])
            index_of.append(indices[rep])
            set_of.append(None)
            continue
        dim = max((local_dimension(chords[i]) for i in members if len(chords[i])), default=1)
        kind, index = set_kind(
            eig[members], [kinds[i] for i in members], dim, curvature, level_kind
        )
        kind_of.append(kind)
        index_of.append(index)
        set_of.append(describe(obj.names, centres[members], [chords[i] for i in members],
                               float(values[rep]), base_kind(kind), scale, vtol))  # fmt: skip
    return Entries(np.array(rep_of, dtype=np.int64), entry, kind_of, index_of, set_of)


def set_kind(
    eig: np.ndarray, kinds: list[str], dim: int, curvature: float, level: str
) -> tuple[str, int]:
    """What the points of a set of dimension ``dim`` are: the second-derivative test on the
    eigenvalues left when the ``dim`` nearest zero (along the set, where f is level) are set
    aside, or the probes' verdict where f is not differentiable; the most common answer. Where
    the set fills every direction (f constant on a region) the answer is ``level``."""
    votes: list[tuple[str, int]] = []
    for lam, kind in zip(eig, kinds, strict=True):
        if not np.all(np.isfinite(lam)):
            votes.append((kind, 0 if base_kind(kind) == "minimum" else len(lam)))
            continue
        across = lam[np.argsort(np.abs(lam))[dim:]]
        if not across.size:  # f is constant on a region: each point a minimum (and a maximum)
            votes.append((level, 0))
            continue
        top = float(np.max(np.abs(lam)))
        votes.append(classify(across, tol=1e-8 * max(top, curvature)))
    return Counter(votes).most_common(1)[0][0]


#: Starts walked to corners in a search for critical points, beside those Newton left unresolved.
CORNER_SAMPLE = 256


def corners_from(
    obj: Objective, x0: np.ndarray, unresolved: np.ndarray, width: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Corners at the bottom and top of f where it may have them: gradient sampling down f and
    down −f from the starts Newton left unresolved and from :data:`CORNER_SAMPLE` starts
    spread over the box (Newton on ``∇f = 0`` never settles on a corner). Returns
    ``(corners, the start each came from)``."""

    if not may_kink(obj) or obj.n > MAX_CORNER_DIM:
        return np.empty((0, obj.n)), np.empty(0, np.int64)
    spread = np.linspace(0, len(x0) - 1, min(CORNER_SAMPLE, len(x0))).astype(np.int64)
    seeds = np.union1d(np.flatnonzero(unresolved), spread)
    points, origin = [], []
    for target in (obj, negated(obj)):
        rows, ends = walk(target, x0[seeds], width, seed)
        points.append(ends)
        origin.append(seeds[rows])
    return np.concatenate(points), np.concatenate(origin)


def ends_and_corners(
    obj: Objective,
    batch: Any,
    done: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    width: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The end points of the converged starts, and the corners that the stalled ones (out of
    steps where the gradient never shrank, or with an undefined gradient, still in the search's
    bounds) lead to by gradient sampling, where f may have corners. Returns ``(points, the
    start of each, whether each was walked)``."""

    ends, origin = batch.params[done], done
    walked = np.zeros(done.size, dtype=bool)
    if not may_kink(obj) or obj.n > MAX_CORNER_DIM:
        return ends, origin, walked

    def within(p: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            ok: np.ndarray = np.all(np.isfinite(p), axis=1) & np.all((p >= low) & (p <= high), 1)
        return ok

    # A descent thrown out of the bounds (a Newton step across a corner) or into an undefined
    # region (past the edge of sqrt's domain) walks from its start.
    thrown = (batch.status == LEFT_BOUNDS) | ~within(batch.params)
    p = np.where(thrown[:, None], batch.starts, batch.params)
    held = within(p)
    stuck = np.flatnonzero(np.isin(batch.status, (MAX_STEPS, DIVERGED, LEFT_BOUNDS)) & held)
    if not stuck.size:
        return ends, origin, walked
    rows, corners = walk(obj, p[stuck], width, seed)
    return (
        np.concatenate([ends, corners]),
        np.concatenate([origin, stuck[rows]]),
        np.concatenate([walked, np.ones(rows.size, dtype=bool)]),
    )
