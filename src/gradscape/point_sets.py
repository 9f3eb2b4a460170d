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

import math
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
from .nonsmooth import (
    MAX_CORNER_DIM,
    corner_kind,
    gradients_at,
    most_walks,
    thin,
    values_at,
    walk_to_corners,
)
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


#: Starts walked down f and up f, in a search for critical points of a smooth f, only to see
#: whether f runs off without bound (toward a pole of ``tan``) where Newton on ∇f = 0 never goes.
LOOKOUT_SAMPLE = 32


def lookout(obj: Objective, x0: np.ndarray, width: float, iterations: int = 40) -> np.ndarray:
    """Where steepest descent down f and up f (each step the best of a ladder of steps halving
    from the box's width) from :data:`LOOKOUT_SAMPLE` starts spread over the box ends after
    ``iterations`` steps, for a smooth f (where f may have corners, :func:`corners_from` walks
    already): evidence of a pole, never listed as points."""
    if may_kink(obj) or obj.n > MAX_CORNER_DIM or not len(x0):
        return np.empty((0, obj.n))
    x = x0[np.linspace(0, len(x0) - 1, min(LOOKOUT_SAMPLE, len(x0))).astype(np.int64)]
    x = np.concatenate([x, x])
    sign = np.repeat([1.0, -1.0], len(x) // 2)[:, None]  # down f, then up f
    ladder = width * 0.5 ** np.arange(_LOOKOUT_LADDER)
    with np.errstate(all="ignore"):
        fx = sign[:, 0] * values_at(obj, x)  # x0 is not empty
        for _ in range(iterations):
            g = sign * gradients_at(obj, x)
            gn = np.linalg.norm(g, axis=1)
            live = np.isfinite(fx) & np.isfinite(gn) & (gn > 0)
            if not live.any():
                break
            d = -g / np.where(live, gn, 1.0)[:, None]
            trials = x[:, None, :] + ladder[None, :, None] * d[:, None, :]
            ft = sign * values_at(obj, trials.reshape(-1, obj.n)).reshape(len(x), -1)
            ft = np.where(np.isfinite(ft), ft, np.inf)
            j = np.argmin(ft, axis=1)
            best = ft[np.arange(len(x)), j]
            step = live & (best < fx)
            x[step] = trials[step, j[step]]
            fx[step] = best[step]
    return x


_LOOKOUT_LADDER = 40


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


#: A point's value may lie this many times the spread of f over the box's starts beyond the values
#: sampled there; further out, f is running off toward a pole (``1/x`` near 0), not settling.
SANE_SPREAD = 1e3
#: Steps of the continuity probe, relative to the box's width (tenfold apart).
_CONTINUITY_STEPS = 10.0 ** -np.arange(3, 10)


def sane_band(obj: Objective, starts: np.ndarray) -> tuple[float, float, float]:
    """The values a point found in the box may take: those sampled at (up to 1,024 of) the
    starts, widened by :data:`SANE_SPREAD` times their spread (or their size, where f is level
    there), and that spread: ``(low, high, spread)``."""
    f = batch_value_and_grad(obj, starts[:: max(1, len(starts) // 1024)])[0]
    f = f[np.isfinite(f)]
    if not f.size:
        return -math.inf, math.inf, math.inf
    low, high = float(f.min()), float(f.max())
    spread = max(high - low, abs(float(np.median(f))), float(np.finfo(np.float64).tiny))
    return low - SANE_SPREAD * spread, high + SANE_SPREAD * spread, spread


def _probe_dirs(n: int, seed: int) -> np.ndarray:
    """``±e_i`` for every axis first, then (for n ≥ 2) four seeded random unit directions and
    their opposites."""
    eye = np.eye(n)
    dirs = [eye, -eye]
    if n >= 2:
        r = np.random.default_rng(seed).normal(size=(4, n))
        r /= np.linalg.norm(r, axis=1, keepdims=True)
        dirs += [r, -r]
    return np.concatenate(dirs)


@dataclass(frozen=True)
class Soundness:
    """Per point, whether f is finite, bounded and continuous around it (``ok``); where not,
    ``trend``: −1 where f falls without bound there, +1 where it rises without bound, 0 where it
    jumps, 2 where f is undefined at the point itself; ``axes``: per point, the variables along which f
    changes most (where the pole or jump lies across)."""

    ok: np.ndarray
    trend: np.ndarray
    axes: np.ndarray


def soundness(
    obj: Objective,
    points: np.ndarray,
    width: float,
    band: tuple[float, float, float],
    seed: int = 0,
) -> Soundness:
    """Whether f is finite and continuous at each point: its value within ``band``
    (:func:`sane_band`), finite at steps from ``1e-3`` down to ``1e-9`` of the box's width
    along the axes and a few other directions both ways, and ``|f(p + t d) − f(p)|`` shrinking
    with ``t`` (at the smallest step under half its size at the largest, or at rounding level).
    A side where f is undefined (NaN: past the edge of ``sqrt``'s domain) is left out; an
    infinite value, a value that does not settle (a pole, a jump) or one outside the band is not
    sound. A minimum at the tip of a cone (``|x|``) passes; ``1/x`` near 0 and ``sign(x)`` at 0
    do not.

    Where a point is not sound, f runs off without bound there when its value, or one beside it,
    lies beyond the values seen in the box by ten times their spread (``log(x)`` near 0 is
    -700 there); else it jumps."""
    k, n = points.shape
    spread = band[2]
    seen = (band[0] + (SANE_SPREAD - 10) * spread, band[1] - (SANE_SPREAD - 10) * spread)
    ok = np.ones(k, dtype=bool)
    trend = np.zeros(k, dtype=np.int64)
    axes = np.zeros((k, n), dtype=bool)
    if not k:
        return Soundness(ok, trend, axes)
    dirs = _probe_dirs(n, seed)
    d, m = len(dirs), _CONTINUITY_STEPS.size
    eps = float(np.finfo(np.float64).eps)
    floor = 64 * eps * np.max(np.abs(points), axis=1, initial=0.0)  # steps below are rounding
    steps = np.maximum(width * _CONTINUITY_STEPS[None, :], floor[:, None])  # (k, m)
    trial = points[:, None, None, :] + steps[:, None, :, None] * dirs[None, :, None, :]
    with np.errstate(all="ignore"):
        f0 = values_at(obj, points)
        fx = values_at(obj, trial.reshape(-1, n)).reshape(k, d, m)
        rise = fx - f0[:, None, None]
        dev = np.where(np.isnan(fx), 0.0, np.abs(rise))  # an undefined side is left out
        infinite = np.any(np.isinf(fx), axis=(1, 2))
        big, small = np.max(dev[:, :, 0], axis=1), np.max(dev[:, :, -1], axis=1)
        level = small <= 1e-12 * (np.abs(f0) + spread)
        settles = level | (small <= 0.5 * big)
        outside = (f0 < band[0]) | (f0 > band[1])
    ok = np.isfinite(f0) & ~infinite & settles & ~outside
    # which way f runs off: the values beside the point, or the point's own
    side = np.where(np.isfinite(fx), fx, np.nan_to_num(fx, nan=0.0, posinf=1e308, neginf=-1e308))
    with np.errstate(all="ignore"):
        low = np.min(np.where(np.isnan(fx), np.inf, side), axis=(1, 2))
        high = np.max(np.where(np.isnan(fx), -np.inf, side), axis=(1, 2))
        falls = (f0 < seen[0]) | (low < seen[0]) | np.isneginf(f0)
        rises = (f0 > seen[1]) | (high > seen[1]) | np.isposinf(f0)
    own = np.where(f0 < seen[0], -1, np.where(f0 > seen[1], 1, 0))  # the point's own value first
    trend[~ok] = np.where(own != 0, own, np.where(falls, -1, np.where(rises, 1, 0)))[~ok]
    trend[~ok & np.isnan(f0)] = 2  # undefined at the point itself: nothing to say
    along = np.maximum(dev[:, :n, -1], dev[:, n : 2 * n, -1])  # per axis, at the smallest step
    top = np.max(along, axis=1, keepdims=True)
    axes = (along >= 1e-3 * top) & (top > 0)
    axes[~axes.any(axis=1)] = True
    return Soundness(ok, trend, axes)


def unsound_notes(
    names: tuple[str, ...], points: np.ndarray, sound: Soundness, scale: float, search: str,
    found_any: bool,
) -> tuple[str, ...]:  # fmt: skip
    """One line per way f was seen to misbehave at the points that are not sound: where it
    falls or rises without bound (a pole, the edge of ``log``'s domain) and where it jumps.
    ``search``: ``"minimum"`` (a multistart: then "no minimum" is said) or ``"critical"``."""
    bad = np.flatnonzero(~sound.ok)
    notes: list[str] = []
    for trend, say in ((-1, "decreases"), (1, "increases"), (0, "jumps")):  # 2: undefined
        rows = bad[sound.trend[bad] == trend]
        if not rows.size:
            continue
        places = _places(names, points[rows], sound.axes[rows], scale)
        more = len(places) - 2
        where = (", ".join(places[:-1]) + " and " + places[-1] if 1 < len(places) <= 3 else
                 places[0] if len(places) == 1 else
                 f"{places[0]}, {places[1]} and {more:,} other places")  # fmt: skip
        if trend == 0:
            notes.append(f"f jumps (it is not continuous) near {where}: no extremum is listed "
                         "there")  # fmt: skip
        elif search == "minimum" and trend == -1:
            lead = "no global minimum" if found_any else "no minimum"
            notes.append(f"{lead}: f decreases without bound toward {where}")
        else:
            notes.append(f"f {say} without bound toward {where} (a pole or the edge of f's "
                         "domain: no critical point there)")  # fmt: skip
    return tuple(notes)


def _places(
    names: tuple[str, ...], points: np.ndarray, axes: np.ndarray, scale: float
) -> list[str]:
    """The distinct places, most seen first (coordinates within ``1e-3`` of the box's size are
    one place): a place that names one variable (``x = 0``) stands for the points with several
    named where one of them agrees (``(x, y) = (0, 0.5)``)."""
    keys: list[tuple[tuple[int, int], ...]] = []
    shown: dict[tuple[tuple[int, int], ...], tuple[tuple[str, str], ...]] = {}
    for p, a in zip(points, axes, strict=True):
        vals = [0.0 if abs(v) <= 1e-6 * scale else float(v) for v in p]
        pick = [i for i in range(len(names)) if a[i]] or list(range(len(names)))
        key = tuple((i, round(vals[i] / (1e-3 * scale))) for i in pick)
        keys.append(key)
        shown.setdefault(key, tuple((names[i], f"{vals[i]:.4g}") for i in pick))
    single = {k[0] for k in keys if len(k) == 1}
    said = Counter(k for k in keys if len(k) == 1 or not single.intersection(k))
    out = []
    for k, _ in said.most_common():
        q = shown[k]
        if len(q) == 1:
            out.append(f"{q[0][0]} = {q[0][1]}")
        else:
            out.append(
                "(" + ", ".join(n for n, _ in q) + ") = (" + ", ".join(v for _, v in q) + ")"
            )
    return out
