"""Critical points that are not isolated: a line, a curve or a surface of points of equal value.

``relu(x) + y^2`` is smallest on the whole half-line ``x <= 0, y = 0``; ``(x^2 + y^2 - 1)^2`` on
the unit circle. A search from many starts reaches many points of such a set, and each is a
minimum only in the weak sense (level along the set). Listing them one by one says "dozens of
minima" where there is one set of them.

Two points found are joined when they belong to one connected set of equal value:

1. each is flat somewhere: its Hessian has a (near) null direction, or, where f is not
   differentiable, the probes find f level along some direction;
2. their values agree to the value tolerance;
3. a path of equal value joins them: the points a quarter, half and three quarters along the
   chord, moved back onto the set (Newton on ``∇f = 0``, or gradient sampling where f has
   corners), land at the same value within a quarter of the chord of where they started, and
   stay apart (the outer two at least a quarter of the chord from each other). Along a chord
   across an isolated flat minimum, ``x^4 + y^2``, the values agree too, but the points run
   off to the minimum and collapse there.

Candidates are paired with their nearest neighbours of equal value, then the pieces so formed
with each other across their closest gap (a set sampled unevenly); the sets are the connected
components. Each set is described by its points: its dimension (the rank of the chords joining
each point to its neighbours), its shape (a straight line, a curve, a surface), its extent and,
for a line, its direction and ends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

#: Neighbours each point is tested against.
NEIGHBOURS = 8
#: Where along a chord the path is checked.
_CHORD = (0.25, 0.5, 0.75)
#: A point is flat when its smallest |eigenvalue| is below this share of its largest.
FLAT_RATIO = 1e-3
_BRIDGE_ROUNDS = 4  # rounds of joining the pieces of a set across gaps
_MOST_PIECES = 64  # pieces whose closest pairs are tested against each other


def flat(eigenvalues: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Which points are flat somewhere: a near-null Hessian direction (rows of
    ``eigenvalues``, NaN where f is not differentiable) or, at a corner, ``level``."""
    with np.errstate(invalid="ignore"):
        a = np.abs(eigenvalues)
        top = np.max(a, axis=1) if a.size else np.empty(0)
        null = np.min(a, axis=1) <= FLAT_RATIO * top if a.size else np.empty(0, bool)
    smooth = np.all(np.isfinite(eigenvalues), axis=1)
    out: np.ndarray = np.where(smooth, null, level)
    return out


def group(
    points: np.ndarray,
    values: np.ndarray,
    candidates: np.ndarray,
    vtol: float,
    width: np.ndarray,
    project: Callable[[np.ndarray, np.ndarray], np.ndarray],
    value: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Label each point with its set: points joined by a path of equal value share a label.

    Args:
        points: shape ``(k, n)``; values ``(k,)``.
        candidates: which points may belong to a set (:func:`flat`).
        vtol: values within this of each other are equal.
        width: the box's width per variable, ``(n,)`` (distances are measured in box units).
        project: ``project(points, pairs)`` moves points (rows of chords between the
            ``pairs``, shape ``(rows, 2)``) back onto the set of critical points nearby.
        value: f at rows of points.

    Returns:
        ``(labels, links)``: per point the label of its set (``0 .. sets - 1``; a point in no
        set has a label of its own), and the joined pairs, shape ``(links, 2)``.
    """
    k = len(points)
    parent = np.arange(k)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    def union(links: np.ndarray) -> None:
        for i, j in links:
            a, b = root(int(i)), root(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)

    unit = points / width
    cand = np.flatnonzero(candidates)
    pairs = _pairs(unit, values, cand, vtol)
    links = pairs[_joined(points, values, pairs, vtol, project, value)] if len(pairs) else pairs
    union(links)
    for _ in range(_BRIDGE_ROUNDS):  # pieces of one set that no neighbour pair joined
        roots = np.array([root(int(i)) for i in cand], dtype=np.int64)
        bridges = _bridges(unit, values, cand, roots, vtol)
        if not len(bridges):
            break
        new = bridges[_joined(points, values, bridges, vtol, project, value)]
        if not len(new):
            break
        union(new)
        links = np.concatenate([links, new])
    roots = np.array([root(i) for i in range(k)], dtype=np.int64)
    _, labels = np.unique(roots, return_inverse=True)
    return labels.reshape(-1), links


def _pairs(unit: np.ndarray, values: np.ndarray, cand: np.ndarray, vtol: float) -> np.ndarray:
    """Pairs ``(i, j)``, ``i < j``, of candidates of equal value, each point with its nearest
    :data:`NEIGHBOURS` of equal value."""
    if cand.size < 2:
        return np.empty((0, 2), np.int64)
    order = cand[np.argsort(values[cand], kind="stable")]
    runs = np.split(order, np.flatnonzero(np.diff(values[order]) > vtol) + 1)
    found: set[tuple[int, int]] = set()
    for run in runs:
        if run.size < 2:
            continue
        near = min(NEIGHBOURS, run.size - 1)
        for lo in range(0, run.size, 1024):  # distances a block of rows at a time
            block = run[lo : lo + 1024]
            d = np.linalg.norm(unit[block][:, None, :] - unit[run][None, :, :], axis=2)
            d[np.arange(block.size), lo + np.arange(block.size)] = np.inf
            nearest = np.argpartition(d, near - 1, axis=1)[:, :near]
            for i, row in zip(block, nearest, strict=True):
                for j in run[row]:
                    found.add((min(int(i), int(j)), max(int(i), int(j))))
    return np.array(sorted(found), dtype=np.int64).reshape(-1, 2)


def _bridges(
    unit: np.ndarray, values: np.ndarray, cand: np.ndarray, roots: np.ndarray, vtol: float
) -> np.ndarray:
    """The closest pair of points between every two pieces (of at most
    :data:`_MOST_PIECES`) whose values agree: a gap wider than the neighbours around it."""
    pieces = [cand[roots == r] for r in np.unique(roots)]
    if len(pieces) < 2 or len(pieces) > _MOST_PIECES:
        return np.empty((0, 2), np.int64)
    out = []
    for a in range(len(pieces)):
        for b in range(a + 1, len(pieces)):
            p, q = pieces[a], pieces[b]
            if abs(float(np.median(values[p]) - np.median(values[q]))) > vtol:
                continue
            d = np.linalg.norm(unit[p][:, None, :] - unit[q][None, :, :], axis=2)
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            out.append((min(p[i], q[j]), max(p[i], q[j])))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _joined(
    points: np.ndarray,
    values: np.ndarray,
    pairs: np.ndarray,
    vtol: float,
    project: Callable[[np.ndarray, np.ndarray], np.ndarray],
    value: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """Whether each pair is joined by a path of equal value (see the module's rule 3)."""
    a, b = points[pairs[:, 0]], points[pairs[:, 1]]
    level = 0.5 * (values[pairs[:, 0]] + values[pairs[:, 1]])
    chord = np.stack([a + t * (b - a) for t in _CHORD], axis=1)  # (pairs, 3, n)
    # Always moved back: a chord across an isolated flat minimum (x^4) has equal values too,
    # but its points run off towards that minimum instead of staying where they are.
    moved = project(chord.reshape(-1, a.shape[1]), np.repeat(pairs, len(_CHORD), axis=0))
    moved = moved.reshape(len(pairs), len(_CHORD), -1)
    with np.errstate(invalid="ignore"):
        shift = np.linalg.norm(moved - chord, axis=2)
        length = np.linalg.norm(b - a, axis=1)
        there = np.abs(
            value(moved.reshape(-1, a.shape[1])).reshape(len(pairs), -1) - level[:, None]
        )
        stay = np.all((there <= vtol) & (shift <= length[:, None] / 4), axis=1)
        spread = np.linalg.norm(moved[:, -1] - moved[:, 0], axis=1)  # collapsed: a lone minimum
        on_set: np.ndarray = stay & (spread >= length / 4)
    return on_set


def describe(
    names: tuple[str, ...],
    members: np.ndarray,
    neighbours: list[np.ndarray],
    value: float,
    kind: str,
    scale: float,
    vtol: float = 0.0,
) -> dict[str, Any]:
    """What a set of ``members`` (shape ``(k, n)``) looks like, for people and for JSON.

    Args:
        neighbours: per member, the unit chords to the members it was joined to.
        kind: what each point of the set is (``"minimum"``...), for the phrase.
        scale: the box's size: coordinates below ``1e-9 · scale`` are rounding dust.
        vtol: the value tolerance: a value below it is shown as 0.
    """
    n = members.shape[1]
    dim = max((local_dimension(c) for c in neighbours if len(c)), default=1)
    centred = members - members.mean(axis=0)
    sv, vt = np.linalg.svd(centred, full_matrices=False)[1:]
    extent = float(np.max(np.linalg.norm(centred, axis=1))) or 1.0
    # a set as wide as the space (a disk of minima in 2-D) has no direction left to bend into
    straight = dim >= sv.size or sv[dim] <= 1e-6 * max(float(sv[0]), extent * 1e-300)
    shape = (
        ("interval" if n == 1 else "region")
        if dim >= n
        else _SHAPES.get((dim, straight), f"{dim}-dimensional set")
    )
    lo, hi = members.min(axis=0), members.max(axis=0)
    out: dict[str, Any] = {
        "dimension": dim,
        "shape": shape,
        "points_found": len(members),
        "extent": {
            m: [_clean(a, scale), _clean(b, scale)] for m, a, b in zip(names, lo, hi, strict=True)
        },
    }
    ends = None
    if dim == 1 and straight:
        direction = vt[0] * (1 if vt[0][np.argmax(np.abs(vt[0]))] > 0 else -1)
        along = centred @ direction
        ends = members[np.argmin(along)], members[np.argmax(along)]
        out["direction"] = {m: _clean(v, 1.0) for m, v in zip(names, direction, strict=True)}
        out["ends"] = [{m: _clean(v, scale) for m, v in zip(names, e, strict=True)} for e in ends]
    shown = 0.0 if abs(value) <= vtol else value
    out["value"] = shown
    out["phrase"] = _phrase(names, lo, hi, ends, shape, kind, shown, scale, n)
    return out


_SHAPES = {
    (1, True): "line",
    (1, False): "curve",
    (2, True): "plane",
    (2, False): "surface",
}
_PLURAL = {"minimum": "minima", "maximum": "maxima", "saddle": "saddle points"}


def local_dimension(chords: np.ndarray) -> int:
    """The number of independent directions among unit chords (singular values over half the
    largest): 1 for points along a curve, 2 across a surface."""
    s = np.linalg.svd(np.atleast_2d(chords), compute_uv=False)
    return int(np.sum(s >= 0.5 * s[0])) if s.size and s[0] > 0 else 1


def _clean(v: float, scale: float) -> float:
    """``v`` with rounding dust (below ``1e-9 · scale``) set to 0."""
    return 0.0 if abs(v) <= 1e-9 * scale else float(v)


def _phrase(
    names: tuple[str, ...],
    lo: np.ndarray,
    hi: np.ndarray,
    ends: tuple[np.ndarray, np.ndarray] | None,
    shape: str,
    kind: str,
    value: float,
    scale: float,
    n: int,
) -> str:
    """``"a line of minima f = 0 from x = -2 to 0 along y = 0"``."""
    what = f"{article(shape)} {shape} of {_PLURAL.get(kind, kind + ' points')} f = {_g(value)}"
    fixed = [i for i in range(n) if hi[i] - lo[i] <= 1e-9 * scale]
    moving = [i for i in range(n) if i not in fixed]
    at = ", ".join(f"{names[i]} = {_g(_clean(lo[i], scale))}" for i in fixed)
    if ends is not None and len(moving) == 1:
        i = moving[0]
        span = f"from {names[i]} = {_g(_clean(lo[i], scale))} to {_g(_clean(hi[i], scale))}"
        return f"{what} {span}" + (f" along {at}" if at else "")
    if ends is not None:
        show = [", ".join(_g(_clean(v, scale)) for v in e) for e in ends]
        return f"{what} from ({', '.join(names)}) = ({show[0]}) to ({show[1]})"
    spans = ", ".join(
        f"{names[i]} in [{_g(_clean(lo[i], scale))}, {_g(_clean(hi[i], scale))}]" for i in moving
    )
    return f"{what} spanning {spans}" + (f", at {at}" if at else "")


def article(word: str) -> str:
    """``"an"`` before a vowel, else ``"a"``."""
    return "an" if word[:1] in "aeiou" else "a"


def _g(v: float) -> str:
    return f"{v:.6g}" if math.isfinite(v) else str(v)


def neighbour_chords(points: np.ndarray, pairs: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """Per point, the unit chords to the points it was joined to within its set."""
    out: list[list[np.ndarray]] = [[] for _ in range(len(points))]
    for i, j in pairs:
        if labels[i] != labels[j]:
            continue
        c = points[j] - points[i]
        norm = float(np.linalg.norm(c))
        if norm > 0:
            out[i].append(c / norm)
            out[j].append(-c / norm)
    return [np.array(c) if c else np.empty((0, points.shape[1])) for c in out]
