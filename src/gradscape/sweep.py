"""Sweeps: an objective evaluated over a line (1-D profile) or a grid (2-D surface).

One engine serves both: the objective is written for one point, ``jax.vmap`` maps it over a
block of grid rows, and the grid is evaluated block by block, so memory stays bounded for any
grid size. The block height is chosen from XLA's own memory estimate of the compiled block.
Every block is a pure function of its inputs (row values, column values, the fixed point).

A grid's lowest cell is not the function's minimum: each result also carries ``minimum``, the
best cell refined by Newton's method in the swept variables (exact in one step for a
quadratic), or, when that cannot be trusted, the best cell named as a grid value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._x64 import with_x64
from .errors import InputError, NumericalError, check_known, listing, whole_number
from .objectives import Objective, Params, check_range
from .results import Result
from .sources import objective

Progress = Callable[[int, int], None]

#: Newton steps tried from the best grid cell before giving up on refining it.
NEWTON_STEPS = 8

#: Default cap on the memory of one compiled block (bytes).
MEMORY_LIMIT = 256 * 2**20
_TARGET_POINTS = 2**18  # points per block before the memory check: amortises dispatch

#: Default points per axis of a planned sweep, by the number of swept variables.
SWEEP_POINTS = {1: 401, 2: 151}

#: Largest grid a planned sweep makes (points in all).
MAX_GRID = 16_000_000


@dataclass(frozen=True, eq=False)
class Profile(Result):
    """A 1-D profile: ``f`` along one parameter with the others held fixed.

    Attributes:
        name: the swept parameter.
        axis: its values, shape ``(k,)``.
        values: ``f`` at each, shape ``(k,)``.
        fixed: the point the line passes through (the swept entry is ignored).
        label: the objective's signature, e.g. ``"SSE(m, c)"``.
        derivative: ``df/dname`` at each value (autodiff), when asked for.
        minimum: the lowest point along the line, see :func:`lowest_point`.
        critical: where the derivative changes sign, each refined from the grid to float
            precision and named (see :func:`derivative_sign_changes`), when the derivative was
            asked for.
        warnings: one line per trouble worth telling (the share of points where ``f`` is
            undefined or infinite), see :func:`grid_warnings`.
    """

    name: str
    axis: np.ndarray
    values: np.ndarray
    fixed: dict[str, float]
    label: str
    derivative: np.ndarray | None = None
    minimum: dict[str, Any] | None = None
    critical: tuple[dict[str, Any], ...] | None = None
    warnings: tuple[str, ...] = ()

    def argmin(self) -> float:
        """The axis value with the lowest finite value: a grid value (see ``minimum``)."""
        return float(
            self.axis[int(np.nanargmin(np.where(np.isfinite(self.values), self.values, np.nan)))]
        )

    def undefined_fraction(self) -> float:
        """Share of the points where ``f`` is NaN or infinite."""
        return float(np.mean(~np.isfinite(self.values)))

    def extremes(self) -> dict[str, dict[str, Any]]:
        """The lowest and highest finite grid points: ``{"min": {"point", "value"}, "max": ...}``
        (grid values: ``minimum`` holds the refined lowest point)."""
        return _extremes(self.values, lambda i: {self.name: float(self.axis[i[0]])})

    def critical_points(self) -> list[tuple[float, str]]:
        """Where the derivative changes sign: ``[(x, kind), ...]`` with kind ``"minimum"``,
        ``"maximum"``, ``"kink minimum"``, ``"kink maximum"`` or ``"singular"``, refined to
        float precision (``critical``). A profile made without them (by hand) gets the grid's
        linear interpolation between the two points, ``"minimum"`` or ``"maximum"`` only."""
        if self.derivative is None:
            raise InputError("This profile has no derivative; sweep it with derivative=True.")
        if self.critical is not None:
            return [(float(p["x"]), str(p["kind"])) for p in self.critical]
        d, x = self.derivative, self.axis
        out: list[tuple[float, str]] = []
        for i, j in _brackets(d):
            if j == i + 1:  # crossing between two points: interpolate
                at = x[i] + (x[j] - x[i]) * d[i] / (d[i] - d[j])
            else:  # exact zeros in between: the middle of them
                at = (x[i + 1] + x[j - 1]) / 2
            out.append((float(at), "minimum" if d[i] < 0 else "maximum"))
        return out


@dataclass(frozen=True, eq=False)
class Surface(Result):
    """A 2-D surface: ``f`` over a grid of two parameters with the others held fixed.

    Attributes:
        x_name: parameter along the columns.
        y_name: parameter along the rows.
        x: column values, shape ``(nx,)``.
        y: row values, shape ``(ny,)``.
        values: ``f``, shape ``(ny, nx)``; ``values[i, j]`` is at ``(x[j], y[i])``.
        fixed: values of every other parameter.
        label: the objective's signature.
        block_rows: grid rows evaluated per compiled block.
        gradient: ``(∂f/∂x, ∂f/∂y)`` at each grid point, shape ``(2, ny, nx)``, when asked for.
        minimum: the lowest point over the box, see :func:`lowest_point`.
        warnings: one line per trouble worth telling, see :func:`grid_warnings`.
    """

    x_name: str
    y_name: str
    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    fixed: dict[str, float]
    label: str
    block_rows: int
    gradient: np.ndarray | None = None
    minimum: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()

    def argmin(self) -> dict[str, float]:
        """The grid point with the lowest finite value, as ``{name: value}``: a grid value
        (see ``minimum`` for the refined point)."""
        masked = np.where(np.isfinite(self.values), self.values, np.inf)
        i, j = np.unravel_index(int(np.argmin(masked)), masked.shape)
        return {self.x_name: float(self.x[j]), self.y_name: float(self.y[i])}

    def undefined_fraction(self) -> float:
        """Share of the grid where ``f`` is NaN or infinite."""
        return float(np.mean(~np.isfinite(self.values)))

    def extremes(self) -> dict[str, dict[str, Any]]:
        """The lowest and highest finite grid points: ``{"min": {"point", "value"}, "max": ...}``."""
        return _extremes(
            self.values,
            lambda ij: {self.x_name: float(self.x[ij[1]]), self.y_name: float(self.y[ij[0]])},
        )


def _extremes(
    values: np.ndarray, where: Callable[[tuple[int, ...]], dict[str, float]]
) -> dict[str, Any]:
    finite = np.isfinite(values)
    if not finite.any():
        return {"min": None, "max": None}
    out = {}
    for key, fill, pick in (("min", np.inf, np.argmin), ("max", -np.inf, np.argmax)):
        idx = np.unravel_index(int(pick(np.where(finite, values, fill))), values.shape)
        out[key] = {"point": where(tuple(int(i) for i in idx)), "value": float(values[idx])}
    return out


@with_x64
def lowest_point(
    obj: Objective,
    base: np.ndarray,
    swept: tuple[tuple[int, np.ndarray], ...],
    values: np.ndarray,
) -> dict[str, Any] | None:
    r"""The lowest point of a sweep: its best grid cell refined by Newton's method.

    From the best finite cell :math:`s_0`, Newton steps in the swept variables,
    :math:`s \leftarrow s - H^{-1}\nabla f`, with the gradient and Hessian by autodiff: exact in
    one step for a quadratic. The refined point is kept only when every step's Hessian is
    positive definite, the steps shrink to a millionth of a grid cell within
    :data:`NEWTON_STEPS`, it stays inside the swept box and its value is not above the cell's.
    Otherwise the cell itself is returned, named a grid value.

    Args:
        base: the full parameter vector the sweep passes through.
        swept: ``(index, axis values)`` per swept parameter, columns first.
        values: the grid of values, shape ``(ny, nx)`` (``(1, nx)`` or ``(nx,)`` for 1-D).

    Returns:
        ``{"point": {name: value}, "value": f, "refined": bool, "note": str}``, or ``None``
        when no grid value is finite.
    """

    grid = np.asarray(values, dtype=np.float64).reshape(-1, swept[0][1].size)
    masked = np.where(np.isfinite(grid), grid, np.inf)
    if not np.isfinite(masked).any():
        return None
    i, j = np.unravel_index(int(np.argmin(masked)), masked.shape)
    cell_idx = (j,) if len(swept) == 1 else (j, i)
    s0 = np.array([ax[c] for (_, ax), c in zip(swept, cell_idx, strict=True)])
    f0 = float(grid[i, j])
    names = [obj.names[k] for k, _ in swept]
    lo = np.array([ax[0] for _, ax in swept])
    hi = np.array([ax[-1] for _, ax in swept])
    cell = np.array([abs(ax[1] - ax[0]) if ax.size > 1 else 1.0 for _, ax in swept])
    on_edge = any(c in (0, ax.size - 1) for (_, ax), c in zip(swept, cell_idx, strict=True))

    def as_grid(why: str) -> dict[str, Any]:
        return {
            "point": dict(zip(names, (float(v) for v in s0), strict=True)),
            "value": f0,
            "refined": False,
            "note": "lowest grid value"
            + (", at the edge of the range: the minimum may lie outside it" if on_edge else "")
            + f" ({why})",
        }

    key = ("newton", tuple(k for k, _ in swept))
    if key not in obj.compiled:
        idx = jnp.asarray([k for k, _ in swept])

        def restricted(s: Any, b: Any) -> Any:
            return obj.fn(b.at[idx].set(s))

        obj.compiled[key] = jax.jit(
            lambda s, b: (
                restricted(s, b),
                jax.grad(restricted)(s, b),
                jax.hessian(restricted)(s, b),
            )
        )
    derivatives = obj.compiled[key]
    b = jnp.asarray(base, dtype=jnp.float64)
    s = s0.copy()
    converged = False
    for _ in range(NEWTON_STEPS):
        _, g, h = (np.asarray(a, dtype=np.float64) for a in derivatives(jnp.asarray(s), b))
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
            return as_grid("the derivatives are not finite there")
        if np.linalg.eigvalsh(h)[0] <= 0:
            return as_grid("not curved upwards there, so Newton's step is no guide")
        step = np.linalg.solve(h, g)
        s = s - step
        if np.any(s < np.minimum(lo, hi)) or np.any(s > np.maximum(lo, hi)):
            return as_grid("Newton's step leaves the swept range")
        if np.all(np.abs(step) <= 1e-6 * cell):
            converged = True
            break
    if not converged:
        return as_grid(f"Newton's method did not settle in {NEWTON_STEPS} steps")
    f, _, h = (np.asarray(a, dtype=np.float64) for a in derivatives(jnp.asarray(s), b))
    value = float(f)
    if not (np.isfinite(value) and value <= f0 + 8 * np.finfo(np.float64).eps * abs(f0)):
        return as_grid("the refined point is not lower than the cell")
    return {
        "point": dict(zip(names, (float(v) for v in s), strict=True)),
        "value": value,
        "refined": True,
        "note": "the best grid cell refined by Newton's method (gradient zero, curving upwards)",
        "grid_point": dict(zip(names, (float(v) for v in s0), strict=True)),
        "grid_value": f0,
    }


# -- where f' changes sign along a profile: refined from the grid -------------------------------
#: Bisection steps on f' between two adjacent grid values: each halves the floats between them,
#: so 64 reach adjacent floats (exact to float precision) for any bracket.
BISECTIONS = 64
_SIGN = np.int64(-(2**63))


def _ordered(x: np.ndarray) -> np.ndarray:
    """float64 as int64 in the same order (adjacent floats are adjacent integers)."""
    i = np.asarray(x, dtype=np.float64).view(np.int64)
    return np.where(i < 0, -(i & np.int64(2**63 - 1)), i)


def _from_ordered(o: np.ndarray) -> np.ndarray:
    o = np.asarray(o, dtype=np.int64)
    return np.where(o < 0, (-o) | _SIGN, o).view(np.float64)


def _brackets(d: np.ndarray) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of grid points with a finite, nonzero ``f'`` of opposite signs and only
    exact zeros between them (``j == i + 1``: a crossing between two points)."""
    out = []
    last = None  # index of the last point with a finite, nonzero derivative
    for j in range(d.size):
        if not np.isfinite(d[j]):
            last = None
        elif d[j] != 0:
            if last is not None and np.sign(d[last]) != np.sign(d[j]):
                out.append((last, j))
            last = j
    return out


def _bisect(at: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], lo: np.ndarray,
            hi: np.ndarray, left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Bisection on the sign of ``f'`` in the order of the floats (``lo``, ``hi``: ordered
    ints with ``sign f'(lo) == left``), all brackets at once; returns the final brackets."""
    for _ in range(BISECTIONS):
        active = hi - lo > 1
        if not active.any():
            break
        mid = (lo >> 1) + (hi >> 1) + (lo & hi & 1)  # floor((lo + hi) / 2) without overflow
        _, g = at(_from_ordered(mid))
        exact = active & (g == 0)
        same = active & ~exact & (np.sign(g) == left)
        lo = np.where(exact | same, mid, lo)
        hi = np.where(exact | (active & ~same), mid, hi)
    return lo, hi


@with_x64
def derivative_sign_changes(
    obj: Objective, base: np.ndarray, index: int, axis: np.ndarray, derivative: np.ndarray
) -> tuple[dict[str, Any], ...]:
    r"""Where :math:`f'` changes sign along a profile, found to float precision.

    Each sign change between two grid points is bisected on :math:`f'` (forward-mode autodiff)
    in the order of the floats between them: :data:`BISECTIONS` halvings reach two adjacent
    floats. A grid point where :math:`f'` is exactly 0 is kept as it is, the middle of a flat
    stretch of them is named as such. The point is then named by what :math:`f'` does on the
    floats beside it: it falls to rounding, so passes through zero (``minimum``,
    ``maximum``); it keeps the size of its one-sided values while ``f`` stays continuous
    (``kink minimum``, ``kink maximum``: :math:`|x|` at 0); or ``f`` or :math:`f'` blows up or
    jumps (``singular``: :math:`\log|x|` or :math:`1/x^2` at 0, no extremum).

    Args:
        base: the full parameter vector the profile passes through.
        index: the swept parameter's index; ``axis``: its grid values, shape ``(k,)``.
        derivative: :math:`f'` at the grid values, shape ``(k,)``.

    Returns:
        One dict per sign change in axis order: ``x``, ``kind``, ``value`` (``f`` there),
        ``refined`` (False only for a flat stretch's middle), ``how`` (in words) and ``grid``
        (the grid values it was found between).
    """

    x, d = np.asarray(axis, dtype=np.float64), np.asarray(derivative, dtype=np.float64)
    pairs = _brackets(d)
    if not pairs:
        return ()
    key = ("slope", index)
    if key not in obj.compiled:

        def along(t: Any, b: Any) -> Any:  # (f, f') at t by one forward-mode pass
            return jax.jvp(lambda s: obj.fn(b.at[index].set(s)), (t,), (jnp.ones_like(t),))

        obj.compiled[key] = jax.jit(jax.vmap(along, in_axes=(0, None)))
    slope, b = obj.compiled[key], jnp.asarray(base, dtype=jnp.float64)
    # chunks of a power of two (few compiled shapes), each holding a few parameter vectors
    # per point within the sweep's memory limit
    most = max(8, MEMORY_LIMIT // (32 * max(obj.n, 1)))
    width = min(max(8, 1 << (len(pairs) - 1).bit_length()), 1 << (most.bit_length() - 1))

    def at(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        points = np.asarray(points, dtype=np.float64)
        f, g = np.empty(points.size), np.empty(points.size)
        for start in range(0, points.size, width):
            part = points[start : start + width]
            fc, gc = slope(jnp.asarray(np.resize(part, width)), b)
            f[start : start + part.size] = np.asarray(fc, np.float64)[: part.size]
            g[start : start + part.size] = np.asarray(gc, np.float64)[: part.size]
        return f, g

    i, j = (np.array(v) for v in zip(*pairs, strict=True))
    flat = j > i + 2  # more than one exact zero between: a flat stretch
    zero = j == i + 2  # one grid point with f' exactly 0
    lo, hi = _bisect(at, _ordered(x[i]), _ordered(x[j]), np.sign(d[i]))
    m = x[np.minimum(i + 1, x.size - 1)]
    # beside an exact zero: the next floats, or the smallest normal ones (XLA on CPU reads
    # subnormal numbers as 0)
    step = np.maximum(np.spacing(np.abs(m)), np.finfo(np.float64).tiny)
    lo = _from_ordered(np.where(zero, _ordered(m - step), lo))
    hi = _from_ordered(np.where(zero, _ordered(m + step), hi))
    (f_lo, g_lo), (f_hi, g_hi) = at(lo), at(hi)
    f_ends = np.maximum(np.abs(at(x[i])[0]), np.abs(at(x[j])[0]))
    low_side = (f_lo <= f_hi) == (d[i] < 0)  # the lower side at a minimum, higher at a maximum
    roots, names = [], []
    for k in range(len(pairs)):
        side = "minimum" if d[i[k]] < 0 else "maximum"
        kind, how = _name_point(
            side,
            scale=max(abs(d[i[k]]), abs(d[j[k]])),
            slopes=(g_lo[k], g_hi[k]),
            values=(f_lo[k], f_hi[k]),
            gap=hi[k] - lo[k],
            rounding=16 * np.finfo(np.float64).eps * f_ends[k],
        )
        if flat[k]:
            stretch = f"{x[i[k] + 1]:.6g} to {x[j[k] - 1]:.6g}"
            kind, how = side, f"f' is exactly 0 from {stretch} (a flat stretch): its middle"
            roots.append(m[k] / 2 + x[j[k] - 1] / 2)
        elif zero[k]:
            roots.append(m[k])
            how = "f' is exactly 0 at this grid point" if kind in ("minimum", "maximum") else how
        elif kind.startswith("kink"):
            roots.append(lo[k] if low_side[k] else hi[k])
        else:
            roots.append(lo[k] if abs(g_lo[k]) <= abs(g_hi[k]) else hi[k])
        names.append((kind, how))
    # a subnormal root is 0 to XLA on CPU: say 0
    root = np.array(roots)
    root[np.abs(root) <= np.finfo(np.float64).tiny] = 0.0
    f_root, _ = at(root)
    return tuple(
        {"x": float(root[k]), "kind": kind, "value": float(f_root[k]), "refined": not flat[k],
         "how": how, "grid": [float(x[i[k]]), float(x[j[k]])]}
        for k, (kind, how) in enumerate(names)
    )  # fmt: skip


def _name_point(
    kind: str, *, scale: float, slopes: tuple[float, float], values: tuple[float, float],
    gap: float, rounding: float,
) -> tuple[str, str]:  # fmt: skip
    """Name a sign change of ``f'`` from ``f`` and ``f'`` on the two floats beside it
    (``gap`` apart): ``(kind, how)``. ``scale`` is ``|f'|`` at the grid points around it."""
    steep = max(abs(slopes[0]), abs(slopes[1]))
    if steep <= 1e-2 * scale:  # f' falls to rounding at a root; a jump keeps its sides' size
        return kind, "f' passes through 0 here (bisection on f' to float precision)"
    # continuous: f moves across the gap by no more than its slopes allow, plus rounding
    continuous = bool(np.isfinite(values).all()) and (
        abs(values[1] - values[0]) <= 4 * steep * gap + rounding
    )
    if continuous and steep <= 1e2 * scale:
        return f"kink {kind}", "f' jumps across 0 here: f is not differentiable"
    return "singular", "f or f' blows up or jumps here: not an extremum"


def _axis(obj: Objective, name: str, rng: Any, points: int) -> np.ndarray:
    if name not in obj.names:
        raise InputError(
            f"{name!r} is not a parameter of {obj.signature()}; choose one of {listing(obj.names)}."
        )
    if rng is None:
        if name not in obj.ranges:
            raise InputError(f"{obj.signature()} has no default range for {name}; give one.")
        rng = obj.ranges[name]
    lo, hi = check_range(name, rng)
    if int(points) < 2:
        raise InputError(f"A sweep needs at least 2 points per axis; got {points}.")
    axis = np.linspace(lo, hi, int(points))
    if lo < 0 < hi:  # lo + i·step lands beside 0 by rounding (5.55e-17 on -0.3:0.7): put it on 0
        axis[np.abs(axis) <= 4 * np.finfo(np.float64).eps * max(-lo, hi)] = 0.0
    return axis


def _base_point(obj: Objective, at: Params | None, swept: tuple[str, ...]) -> np.ndarray:
    """The full parameter vector the sweep passes through. Unnamed parameters sit at the centre
    of their default range; swept ones need no value (they are overwritten)."""
    if at is not None and not isinstance(at, Mapping):
        return obj.vector(at)
    given = dict(at or {})
    full: dict[str, Any] = {}
    missing = []
    for n in obj.names:
        if n in given:
            full[n] = given[n]
        elif n in swept:
            full[n] = 0.0
        elif n in obj.ranges:
            full[n] = sum(obj.ranges[n]) / 2
        else:
            missing.append(n)
    if missing:
        raise InputError(
            f"Give the point to hold {listing(missing)} at (no default range to centre on)."
        )
    return obj.vector({**given, **full})


@with_x64
def grid_values(
    obj: Objective,
    base: np.ndarray,
    cols: tuple[int, np.ndarray],
    rows: tuple[int, np.ndarray] | None = None,
    *,
    memory_limit: int = MEMORY_LIMIT,
    progress: Progress | None = None,
    gradient: bool = False,
) -> tuple[np.ndarray, int]:
    """The sweep engine: ``f`` over a grid, evaluated in blocks of rows.

    Args:
        base: the full parameter vector, shape ``(n,)``; swept entries are overwritten.
        cols: ``(index, values)`` of the parameter along the columns, values shape ``(nx,)``.
        rows: ``(index, values)`` of the parameter along the rows, shape ``(ny,)``; ``None``
            for a 1-D sweep (one row).
        memory_limit: bytes one compiled block may use (XLA's estimate).
        progress: called as ``progress(rows_done, rows_total)`` after each block.
        gradient: also return the partial derivatives along the swept parameters.

    Returns:
        ``(values, block_rows)`` with values of shape ``(ny, nx)`` (``(1, nx)`` for 1-D); with
        ``gradient``, shape ``(ny, nx, 1 + k)``: ``f`` then ``∂f/∂cols`` (and ``∂f/∂rows``).
    """

    ix, xs = cols
    iy, ys = rows if rows is not None else (None, np.zeros(1))
    nx, ny = xs.size, ys.size
    base_j = jnp.asarray(base, dtype=jnp.float64)
    xs_j = jnp.asarray(xs, dtype=jnp.float64)
    compiled, height = _compiled_block(obj, ix, iy, nx, ny, memory_limit, gradient)

    k = (2 if iy is None else 3) if gradient else 0
    out = np.empty((ny, nx, k) if k else (ny, nx), dtype=np.float64)
    for start in range(0, ny, height):
        stop = min(start + height, ny)
        chunk = np.empty(height)
        chunk[: stop - start] = ys[start:stop]
        chunk[stop - start :] = ys[stop - 1]  # pad the last block so its shape stays compiled
        out[start:stop] = np.asarray(compiled(base_j, jnp.asarray(chunk), xs_j))[: stop - start]
        if progress is not None:
            progress(stop, ny)
    return out, height


def _compiled_block(
    obj: Objective, ix: int, iy: int | None, nx: int, ny: int, memory_limit: int, gradient: bool
) -> tuple[Any, int]:
    """The block function compiled for this grid shape, and its height in rows.

    Compiled blocks are cached on the objective, so sweeping it again costs no compilation.
    """

    key = ("sweep", ix, iy, nx, ny, memory_limit, gradient)
    if key in obj.compiled:
        return obj.compiled[key]  # type: ignore[no-any-return]
    swept = [ix] if iy is None else [ix, iy]

    def along(base: Any, xy: Any) -> Any:
        """f as a function of the swept coordinates only."""
        theta = base if iy is None else base.at[iy].set(xy[1])
        return obj.fn(theta.at[ix].set(xy[0]))

    def at_point(base: Any, yv: Any, xv: Any) -> Any:
        xy = jnp.stack([xv, yv])[: len(swept)]
        if not gradient:
            return along(base, xy)
        # Forward mode along the one or two swept axes: the cost of f, whatever the number of
        # parameters (reverse mode pays for every parameter's slice: minutes at 1,000).
        g = jax.jacfwd(lambda p: along(base, p))(xy)
        return jnp.stack([along(base, xy), *g])

    block = jax.jit(jax.vmap(jax.vmap(at_point, in_axes=(None, None, 0)), in_axes=(None, 0, None)))
    base = jnp.zeros(obj.n)
    xs = jnp.zeros(nx)
    # Each point holds a few parameter vectors: start near the memory limit, not above it
    # (every halving below costs a compile, seconds for a large expression).
    per_row = max(nx, 1) * max(obj.n, 1) * 8 * (4 if gradient else 2)
    height = max(1, min(ny, _TARGET_POINTS // max(nx, 1), memory_limit // per_row))
    while True:
        compiled = block.lower(base, jnp.zeros(height), xs).compile()
        stats = compiled.memory_analysis()
        used = (stats.temp_size_in_bytes + stats.output_size_in_bytes) if stats else 0
        if used <= memory_limit or height == 1:
            break
        height = max(1, height // 2)
    obj.compiled[key] = (compiled, height)
    return compiled, height


def profile(
    obj: Objective | str | Callable[..., Any],
    name: str,
    *,
    at: Params | None = None,
    range: tuple[float, float] | None = None,
    points: int = 201,
    memory_limit: int = MEMORY_LIMIT,
    derivative: bool = False,
) -> Profile:
    """``f`` along parameter ``name`` with every other parameter held at ``at``.

    Args:
        name: the parameter to sweep.
        at: the point the profile passes through (default: centre of the default ranges).
        range: ``(low, high)`` of ``name`` (default: the objective's default range).
        points: number of values.
        derivative: also compute ``df/dname`` at each value by autodiff.

    Raises:
        InputError: an unknown parameter, a bad range or fewer than 2 points.
        NumericalError: ``f`` is undefined or infinite at every point of the line.

    Example:
        >>> import gradscape as gs
        >>> p = gs.profile(gs.sse_objective(gs.synthetic_line()), "m", at={"m": 0, "c": 1})
    """
    obj = objective(obj)
    axis = _axis(obj, name, range, points)
    base = _base_point(obj, at, (name,))
    values, _ = grid_values(
        obj, base, (obj.names.index(name), axis), memory_limit=memory_limit, gradient=derivative
    )
    f = values[0, :, 0] if derivative else values[0]
    index = obj.names.index(name)
    facts = _grid_facts(obj, base, ((index, axis),), f)
    critical = (
        derivative_sign_changes(obj, base, index, axis, values[0, :, 1]) if derivative else None
    )
    return Profile(
        name=name,
        axis=axis,
        values=f,
        derivative=values[0, :, 1] if derivative else None,
        critical=critical,
        **facts,
    )


def _grid_facts(
    obj: Objective, base: np.ndarray, swept: tuple[tuple[int, np.ndarray], ...], f: np.ndarray
) -> dict[str, Any]:
    """What a profile and a surface both carry, once ``f`` is known to be defined somewhere on
    the grid: the values held fixed, the label, the refined lowest point and the warnings."""
    _check_defined(obj, base, swept, f)
    names = {obj.names[i] for i, _ in swept}
    return {
        "fixed": {k: v for k, v in obj.as_dict(base).items() if k not in names},
        "label": obj.signature(),
        "minimum": lowest_point(obj, base, swept, f),
        "warnings": grid_warnings(obj.signature(), f),
    }


def surface(
    obj: Objective | str | Callable[..., Any],
    x: str,
    y: str,
    *,
    at: Params | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    points: int | tuple[int, int] = 101,
    memory_limit: int = MEMORY_LIMIT,
    progress: Progress | None = None,
    gradient: bool = False,
) -> Surface:
    """``f`` over a grid of parameters ``x`` (columns) and ``y`` (rows), others held at ``at``.

    Args:
        points: grid size, one number for both axes or ``(nx, ny)``.
        memory_limit: bytes one block of rows may use; any grid size fits in bounded memory.
        progress: called as ``progress(rows_done, rows_total)``.
        gradient: also compute ``(∂f/∂x, ∂f/∂y)`` at every grid point by autodiff.

    Raises:
        InputError: unknown or twice the same parameter, a bad range or fewer than 2 points.
        NumericalError: ``f`` is undefined or infinite at every point of the grid.
    """
    obj = objective(obj)
    if x == y:
        raise InputError(f"A surface needs two different parameters; got {x!r} twice.")
    nx, ny = (points, points) if isinstance(points, int) else points
    xs = _axis(obj, x, x_range, nx)
    ys = _axis(obj, y, y_range, ny)
    base = _base_point(obj, at, (x, y))
    values, height = grid_values(
        obj,
        base,
        (obj.names.index(x), xs),
        (obj.names.index(y), ys),
        memory_limit=memory_limit,
        progress=progress,
        gradient=gradient,
    )
    f = values[..., 0] if gradient else values
    facts = _grid_facts(obj, base, ((obj.names.index(x), xs), (obj.names.index(y), ys)), f)
    return Surface(
        x_name=x,
        y_name=y,
        x=xs,
        y=ys,
        values=f,
        block_rows=height,
        gradient=np.moveaxis(values[..., 1:], -1, 0) if gradient else None,
        **facts,
    )


def grid_warnings(label: str, values: np.ndarray) -> tuple[str, ...]:
    """The warnings a sweep's values call for: the share of the grid where ``f`` is undefined
    (NaN) or infinite, which the figures leave blank; ``()`` when it is finite everywhere.

    >>> grid_warnings("f(x)", np.array([1.0, np.nan, np.inf, 2.0]))
    ('f(x) is undefined or infinite on 50.0% of the grid (left blank in the figures)',)
    """
    undefined = float(np.mean(~np.isfinite(values)))
    if not undefined:
        return ()
    infinite = float(np.mean(np.isinf(values)))
    what = (
        "undefined"
        if not infinite
        else "infinite (overflows)"
        if infinite == undefined
        else "undefined or infinite"
    )
    return (f"{label} is {what} on {undefined:.1%} of the grid (left blank in the figures)",)


def _check_defined(
    obj: Objective, base: np.ndarray, swept: tuple[tuple[int, np.ndarray], ...], f: np.ndarray
) -> None:
    """Refuse a sweep with no finite value at all, naming why at the grid's first corner."""
    if np.isfinite(f).any():
        return
    first = np.array(base, dtype=np.float64)
    for index, axis in swept:
        first[index] = axis[0]
    why = obj.expression.explain(first) if obj.expression is not None else None
    where = ", ".join(f"{k}={v:g}" for k, v in obj.as_dict(first).items())
    state = "infinite (it overflows)" if np.all(np.isinf(f)) else "undefined"
    raise NumericalError(
        f"{obj.signature()} is {state} everywhere on this grid"
        + (f"; at {where}, {why}" if why else "")
        + ". Choose other ranges."
    )


def _builtin(obj: Objective) -> Any:
    """The built-in test function ``obj`` was made from, or ``None``."""
    f = obj.function
    return f if f is not None and f.variables == obj.names else None


def known_minima(obj: Objective, surface: Surface) -> list[dict[str, float]]:
    """A built-in function's published minima that lie in the plane and box of ``surface``
    (``[]`` for any other objective): the marks a figure of it shows."""
    f = _builtin(obj)
    inside = []
    for p in f.minima_points() if f is not None else ():
        if all(abs(p[k] - v) <= 1e-12 for k, v in surface.fixed.items()) and (
            surface.x[0] <= p[surface.x_name] <= surface.x[-1]
            and surface.y[0] <= p[surface.y_name] <= surface.y[-1]
        ):
            inside.append(p)
    return inside


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will evaluate, decided before any work: see :func:`plan_sweep`.

    Attributes:
        objective: the function swept.
        ranges: ``{name: (low, high)}`` of the one or two swept variables, in sweep order
            (the first runs along the columns of a surface).
        points: grid points per axis.
        fixed: the values given for the variables not swept.
        base: a value for every variable: the held ones (given, else a built-in function's
            first minimiser, else 0) and the centre of each swept range.
    """

    objective: Objective
    ranges: dict[str, tuple[float, float]]
    points: int
    fixed: dict[str, float]
    base: dict[str, float]

    @property
    def names(self) -> list[str]:
        """The swept variables."""
        return list(self.ranges)

    def run(self, progress: Progress | None = None) -> Profile | Surface:
        """Evaluate the plan: a :class:`Profile` with its derivative for one variable, a
        :class:`Surface` with its gradient for two.

        Raises:
            NumericalError: ``f`` is undefined or infinite everywhere on the grid.
        """
        obj, names = self.objective, self.names
        if len(names) == 1:
            return profile(
                obj, names[0], at=self.base, range=self.ranges[names[0]], points=self.points,
                derivative=True,
            )  # fmt: skip
        return surface(
            obj, names[0], names[1], at=self.base, x_range=self.ranges[names[0]],
            y_range=self.ranges[names[1]], points=self.points, progress=progress, gradient=True,
        )  # fmt: skip


def plan_sweep(
    obj: Objective | str | Callable[..., Any],
    ranges: Mapping[str, tuple[float, float]] | None = None,
    fixed: Mapping[str, float] | None = None,
    points: int | None = None,
) -> SweepPlan:
    """Decide a sweep: which variables to sweep over which ranges, how finely, and where the
    others are held.

    Args:
        ranges: ``{name: (low, high)}`` of one or two variables to sweep (default: the first
            two variables not fixed that have a default range, e.g. a built-in function's domain).
        fixed: values of variables not swept (default: a built-in function's first minimiser,
            else 0).
        points: grid points per axis (default ``SWEEP_POINTS``: 401 for a curve, 151 for a
            surface); the grid holds at most ``MAX_GRID`` points.

    Raises:
        InputError: an unknown name, a variable both swept and fixed, nothing or more than two
            variables to sweep, a bad range, or a grid beyond ``MAX_GRID``.

    Example:
        >>> import gradscape as gs
        >>> plan = gs.plan_sweep(gs.objective("himmelblau"))
        >>> plan.ranges, plan.points
        ({'x': (-5.0, 5.0), 'y': (-5.0, 5.0)}, 151)
    """
    obj = objective(obj)
    given = {n: check_range(n, r) for n, r in (ranges or {}).items()}
    held = {n: float(v) for n, v in (fixed or {}).items()}
    check_known(given, obj.names, "--range", obj.signature())
    check_known(held, obj.names, "--fix", obj.signature())
    both = sorted(set(given) & set(held))
    if both:
        raise InputError(
            f"{listing(both)} {'is' if len(both) == 1 else 'are'} both swept (--range) and fixed "
            "(--fix); pick one."
        )
    swept = given or _default_ranges(obj, held)
    if len(swept) > 2:
        raise InputError(
            f"A sweep shows one or two variables; got {len(swept)} ({listing(swept)}). "
            "Hold the others with --fix."
        )
    n = SWEEP_POINTS[len(swept)] if points is None else whole_number(points, "points", 2)
    if n ** len(swept) > MAX_GRID:
        raise InputError(
            f"--points {n} makes {n ** len(swept):,} grid points; at most "
            f"{MAX_GRID:,} (--points {int(MAX_GRID ** (1 / len(swept)))} per axis)."
        )
    f = _builtin(obj)
    base = f.minima_points()[0] if f is not None and f.minima else dict.fromkeys(obj.names, 0.0)
    base = {**base, **held}
    base.update({n: lo / 2 + hi / 2 for n, (lo, hi) in swept.items()})  # lo + hi may overflow
    return SweepPlan(objective=obj, ranges=swept, points=n, fixed=held, base=base)


def _default_ranges(obj: Objective, held: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """The first two variables not held that have a default range."""
    if not obj.ranges:
        example = " ".join(f"--range {n}=-5:5" for n in obj.names[:2])
        mapping = ", ".join(f"'{n}': (-5, 5)" for n in obj.names[:2])
        raise InputError(
            f"Say what to sweep: a range for one or two variables ({example}, or "
            f"ranges={{{mapping}}} in Python)."
        )
    ranges = {n: obj.ranges[n] for n in obj.names if n not in held and n in obj.ranges}
    if not ranges:
        raise InputError("Every variable is fixed; give one or two with --range.")
    return dict(list(ranges.items())[:2])
