"""Static figures (matplotlib, object API: no pyplot state, no GUI backend needed).

Views only draw results; they compute no maths beyond what drawing needs (levels, limits).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.colors as mcolors
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Patch
from matplotlib.quiver import Quiver
from PIL import Image

from ._files import atomic_path
from .errors import listing
from .sweep import Surface

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .descent import Trajectory
    from .line_data import Dataset
    from .sweep import Profile, Surface
    from .tours import TourResult

PATH_COLOR = "#d62728"
_COLORS = (
    "#d62728",
    "#1f77b4",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
BEST_COLOR = "#2ca02c"


#: Magnitudes within which matplotlib's own arithmetic (spans, ticks, the 3-D projection)
#: neither overflows nor underflows; beyond them an axis is drawn in units of a power of ten,
#: named in its label (``x (×1e307)``).
_PLOTTABLE = (1e-100, 1e100)


def _power(a: Any) -> int:
    """The power of ten to divide ``a`` by before drawing it (0: draw it as it is)."""
    a = np.asarray(a, dtype=np.float64)
    finite = np.abs(a[np.isfinite(a)])
    big = float(finite.max()) if finite.size else 0.0
    if big == 0.0 or _PLOTTABLE[0] <= big <= _PLOTTABLE[1]:
        return 0
    return int(np.floor(np.log10(big)))


def _unit(a: Any, k: int) -> Any:
    """``a / 10^k`` in two steps (``10.0^-330`` alone would be 0)."""
    return a if k == 0 else np.asarray(a, np.float64) / 10.0 ** (k // 2) / 10.0 ** (k - k // 2)


def _named(name: str, k: int) -> str:
    return name if k == 0 else f"{name} (×1e{k})"


def _in_units(surface: Surface, trajectory: Any, points: Sequence[dict[str, float]]) -> Any:
    """``surface`` (and what is drawn on it) with each axis in units of a power of ten where its
    magnitude is beyond :data:`_PLOTTABLE`, names carrying the unit, and the power of ten of the
    values (for their label). Unchanged, and 0, otherwise."""

    kx, ky, kz = _power(surface.x), _power(surface.y), _power(surface.values)
    if not (kx or ky or kz):
        return surface, trajectory, points, 0
    xn, yn = _named(surface.x_name, kx), _named(surface.y_name, ky)
    grad = surface.gradient
    if grad is not None:  # the direction of ∇f in the drawn units: (g_x·10^kx, g_y·10^ky)
        gx, gy = _unit(grad[0], -kx), _unit(grad[1], -ky)
        big = np.maximum(np.abs(gx), np.abs(gy))
        grad = np.stack([gx, gy]) / np.where(big > 0, big, 1.0)
    scaled = dataclasses.replace(
        surface, x_name=xn, y_name=yn, x=_unit(surface.x, kx), y=_unit(surface.y, ky),
        values=_unit(surface.values, kz), gradient=grad,
    )  # fmt: skip
    moved = [{xn: _unit(p[surface.x_name], kx), yn: _unit(p[surface.y_name], ky)} for p in points]
    if trajectory is not None:
        units = {surface.x_name: (xn, kx), surface.y_name: (yn, ky)}
        params = np.array(trajectory.params, dtype=np.float64)
        for i, name in enumerate(trajectory.names):
            if name in units:
                params[:, i] = _unit(params[:, i], units[name][1])
        trajectory = dataclasses.replace(
            trajectory,
            params=params,
            values=_unit(trajectory.values, kz),
            names=tuple(units.get(n, (n, 0))[0] for n in trajectory.names),
        )
    return scaled, trajectory, moved, kz


class _ArrowKey:
    """Legend key of a quiver: one arrow drawn like the field's (white, dark edge), where
    matplotlib's default is a bare white box that vanishes on a light legend."""

    def legend_artist(self, legend: Any, orig_handle: Any, fontsize: float, handlebox: Any) -> Any:

        w, h = handlebox.width, handlebox.height
        arrow = FancyArrow(
            -handlebox.xdescent, h / 2 - handlebox.ydescent, w, 0.0, width=0.3 * h,
            head_width=0.9 * h, head_length=0.4 * w, length_includes_head=True,
            facecolor="white", edgecolor="black", linewidth=0.8,
            transform=handlebox.get_transform(),
        )  # fmt: skip
        handlebox.add_artist(arrow)
        return arrow


def _legend(ax: Any, *args: Any, **kwargs: Any) -> Any:
    """``ax.legend`` with the gradient field's arrows keyed by an arrow."""

    return ax.legend(*args, handler_map={Quiver: _ArrowKey()}, **kwargs)


def _figure(w: float = 6.4, h: float = 4.4) -> Figure:

    return Figure(figsize=(w, h), layout="constrained")


def data_fit(data: Dataset, lines: dict[str, tuple[float, float]]) -> Figure:
    """The data as points with each named line ``(m, c)`` drawn over them."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(data.x, data.y, s=14, alpha=0.7, label="data")
    xs = np.linspace(data.x.min(), data.x.max(), 2)
    for (label, (m, c)), style in zip(lines.items(), ("-", "--", ":"), strict=False):
        ax.plot(xs, m * xs + c, style, lw=2, label=f"{label}: y = {m:.4g}·x + {c:.4g}")
    ax.set_xlabel(data.x_label)
    ax.set_ylabel(data.y_label)
    ax.set_title(f"{data.name}: {data.n} points")
    ax.legend()
    return fig


def profiles(items: tuple[Profile, ...]) -> Figure:
    """Side-by-side 1-D profiles, each with its lowest point marked (refined by Newton's
    method when the profile carries it, else the lowest grid value, so labelled)."""
    fig = _figure(4.2 * len(items), 3.8)
    axes = fig.subplots(1, len(items), squeeze=False)[0]
    for ax, p in zip(axes, items, strict=True):
        ax.plot(p.axis, p.values, lw=2)
        low = p.minimum
        if low is not None:
            label = "minimum" if low["refined"] else "lowest grid value"
            ax.plot(low["point"][p.name], low["value"], "o", color=BEST_COLOR, label=label)
            ax.legend(loc="upper center", fontsize=8)
        held = listing((f"{k} = {v:.4g}" for k, v in p.fixed.items()), 4, what="variables held")
        ax.set_title(f"{p.label} along {p.name} ({held})", fontsize=9)
        ax.set_xlabel(p.name)
        ax.set_ylabel(p.label.split("(")[0])
    return fig


def _log_levels(values: np.ndarray, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    finite = values[np.isfinite(values)]
    lo = float(finite.min())
    shifted = values - lo
    top = float(np.max(shifted[np.isfinite(shifted)]))
    small = max(top * 1e-6, np.finfo(np.float64).tiny)
    return shifted + small, np.geomspace(small * 10, top + small, n)


def _linear_or_log(values: np.ndarray) -> str:
    """Log-spaced levels when most of the surface sits near its floor (steep walls, flat
    valley: Rosenbrock, an error bowl); linear levels otherwise."""
    finite = values[np.isfinite(values)]
    lo, hi, mid = float(finite.min()), float(finite.max()), float(np.median(finite))
    return "log" if hi > lo and (hi - lo) > 5 * max(mid - lo, np.finfo(float).tiny) else "linear"


def contours(
    surface: Surface,
    trajectory: Trajectory | None = None,
    best: dict[str, float] | None = None,
    *,
    scale: str = "auto",
    arrows: bool = True,
    title: str | None = None,
    marks: Sequence[dict[str, float]] = (),
    marks_label: str = "global minimum",
    paths: Sequence[tuple[str, np.ndarray]] = (),
) -> Figure:
    """Contours of the surface with, where available, gradient arrows and a descent path.

    Args:
        scale: ``"log"`` (levels log-spaced above the minimum), ``"linear"`` or ``"auto"``.
        arrows: draw the direction of ``∇f`` on a coarse grid when the surface has a gradient.
        marks: points to mark with a star (e.g. a test function's published minima).
        paths: ``(label, points)`` of optimizer paths, points of shape ``(k, 2)`` in the
            surface's ``(x, y)``.
    """

    marks_in = [*marks, *([best] if best is not None else [])]
    surface, trajectory, moved, kz = _in_units(surface, trajectory, marks_in)
    marks, best = moved[: len(marks)], (moved[-1] if best is not None else None)
    fig = _figure(6.4, 5.2)
    ax = fig.add_subplot()
    values = np.where(np.isfinite(surface.values), surface.values, np.nan)
    name = surface.label.split("(")[0]
    if not np.isfinite(values).any():
        ax.text(0.5, 0.5, "undefined everywhere on this grid", ha="center", transform=ax.transAxes)
    else:
        if scale == "auto":
            scale = _linear_or_log(values)
        if scale == "log":
            z, levels = _log_levels(values)
            norm: Any = mcolors.LogNorm()
            bar_label = f"{name} − grid minimum (log scale)"
            power = int(np.floor(np.log10(levels[-1])))
            if abs(power) > 30:  # matplotlib's colorbar overflows near float64's ends: use units
                z, levels = z / 10.0**power, levels / 10.0**power
                bar_label += f", in units of 1e{power}"
        else:
            z = values
            lo, hi = np.nanmin(values), np.nanmax(values)
            levels = np.linspace(lo, hi if hi > lo else lo + 1, 24)
            norm, bar_label = None, name
        cs = ax.contourf(
            surface.x, surface.y, z, levels=levels, norm=norm, cmap="viridis", extend="both"
        )
        ax.contour(
            surface.x, surface.y, z, levels=levels, colors="white", linewidths=0.3, alpha=0.6
        )
        bar = fig.colorbar(cs, ax=ax, ticks=levels[::4], format="%.3g")
        bar.set_label(_named(bar_label, kz))
    if arrows and surface.gradient is not None:
        ky = max(1, surface.y.size // 18)
        kx = max(1, surface.x.size // 18)
        gx = surface.gradient[0][::ky, ::kx]
        gy = surface.gradient[1][::ky, ::kx]
        norm_g = np.hypot(gx, gy)
        ok = np.isfinite(norm_g) & (norm_g > 0)
        safe = np.where(ok, norm_g, 1.0)
        mx, my = np.meshgrid(surface.x[::kx], surface.y[::ky])
        # White arrows with a dark edge: seen on the dark and the light end of the colour
        # map; the legend keys them by one such arrow (_ArrowKey).
        ax.quiver(
            mx[ok], my[ok], (gx / safe)[ok], (gy / safe)[ok], color="white", alpha=0.9,
            angles="xy", pivot="mid", width=0.004, edgecolor="black", linewidth=0.5,
            label="direction of ∇f (uphill)",
        )  # fmt: skip
    if trajectory is not None:
        ix, iy = trajectory.names.index(surface.x_name), trajectory.names.index(surface.y_name)
        path = trajectory.params
        ax.plot(path[:, ix], path[:, iy], "-", color=PATH_COLOR, lw=1.5, label="gradient descent")
        ax.plot(path[:, ix], path[:, iy], ".", color=PATH_COLOR, ms=3)
        ax.plot(path[0, ix], path[0, iy], "s", color="black", label="start")
    if best is not None:
        ax.plot(
            best[surface.x_name],
            best[surface.y_name],
            "*",
            ms=16,
            color=BEST_COLOR,
            mec="black",
            label="closed form",
        )
    for (label, pts), color in zip(paths, _COLORS, strict=False):
        ax.plot(pts[:, 0], pts[:, 1], "-", color=color, lw=1.6, label=label)
        ax.plot(pts[-1, 0], pts[-1, 1], "o", color=color, mec="black", ms=6)
    if paths:
        ax.plot(paths[0][1][0, 0], paths[0][1][0, 1], "s", color="black", label="start")
    if marks:
        ax.plot(
            [m[surface.x_name] for m in marks], [m[surface.y_name] for m in marks], "*", ms=14,
            color=BEST_COLOR, mec="black", ls="none", label=marks_label,
        )  # fmt: skip
    ax.set_xlim(surface.x[0], surface.x[-1])
    ax.set_ylim(surface.y[0], surface.y[-1])
    ax.set_xlabel(surface.x_name)
    ax.set_ylabel(surface.y_name)
    if title is None:
        title = f"{surface.label}: contours" + (" and descent path" if trajectory else "")
    ax.set_title(title + _held(surface.fixed), fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        _legend(ax, loc="upper right", fontsize=8, framealpha=0.8)
    return fig


def _held(fixed: dict[str, float]) -> str:
    held = listing((f"{k} = {v:.4g}" for k, v in fixed.items()), 4, what="variables held")
    return f"\n({held})" if fixed else ""


def curve(profile: Profile, *, title: str | None = None) -> Figure:
    """A 1-D function over its axis with its derivative below and the critical points marked."""
    fig = _figure(6.4, 5.6)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    name = profile.label.split("(")[0]
    kx, kv = _power(profile.axis), _power(profile.values)  # huge or tiny: powers of ten
    axis = _unit(profile.axis, kx)
    values = np.where(np.isfinite(profile.values), _unit(profile.values, kv), np.nan)
    top.plot(axis, values, lw=2, label=f"{name}({profile.name})")
    top.set_ylabel(_named(name, kv))
    title = title or f"{profile.label} along {profile.name}"
    top.set_title(title + _held(profile.fixed), fontsize=10)
    if profile.derivative is not None:
        kd = _power(profile.derivative)
        d = np.where(np.isfinite(profile.derivative), _unit(profile.derivative, kd), np.nan)
        bottom.plot(axis, d, lw=2, color="#ff7f0e")
        bottom.axhline(0, color="grey", lw=0.8)
        bottom.set_ylabel(_named(f"d{name}/d{profile.name}", kd))
        for x, kind in profile.critical_points():
            color = {"minimum": BEST_COLOR, "maximum": PATH_COLOR}.get(kind.split()[-1], "grey")
            for ax in (top, bottom):
                ax.axvline(_unit(x, kx), color=color, lw=0.8, ls=":")
            bottom.plot(_unit(x, kx), 0, "o", color=color, ms=5)
    bottom.set_xlabel(_named(profile.name, kx))
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    return fig


def surface_3d(
    surface: Surface, trajectory: Trajectory | None = None, *, title: str | None = None
) -> Figure:
    """The surface in 3-D with the descent path drawn on it."""
    fig = _figure(6.6, 5.4)
    ax = fig.add_subplot(projection="3d")
    surface, trajectory, _, kz = _in_units(surface, trajectory, ())
    mx, my = np.meshgrid(surface.x, surface.y)
    z = np.where(np.isfinite(surface.values), surface.values, np.nan)
    ax.plot_surface(mx, my, z, cmap="viridis", alpha=0.75, linewidth=0, antialiased=True)
    if trajectory is not None:
        ix, iy = trajectory.names.index(surface.x_name), trajectory.names.index(surface.y_name)
        p = trajectory.params
        inside = (
            (p[:, ix] >= surface.x[0]) & (p[:, ix] <= surface.x[-1])
            & (p[:, iy] >= surface.y[0]) & (p[:, iy] <= surface.y[-1])
        )  # fmt: skip
        ax.plot(
            p[inside, ix],
            p[inside, iy],
            trajectory.values[inside],
            color=PATH_COLOR,
            lw=2,
            zorder=10,
        )
    ax.set_xlabel(surface.x_name)
    ax.set_ylabel(surface.y_name)
    ax.set_zlabel(_named(surface.label.split("(")[0], kz))
    ax.set_title(
        (title or f"{surface.label}: the error surface") + _held(surface.fixed), fontsize=10
    )
    ax.view_init(elev=32, azim=-130)
    return fig


def loss_curve(trajectory: Trajectory, floor: float | None = None) -> Figure:
    """Value per step; with ``floor`` (the known minimum) the gap to it on a log scale."""
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    steps = np.maximum(trajectory.steps, 0)
    if floor is not None:
        # Below a few ulps of the minimum the gap is rounding noise: draw it at that resolution.
        resolution = 4 * np.finfo(np.float64).eps * max(abs(floor), np.finfo(np.float64).tiny)
        ax.semilogy(steps, np.maximum(trajectory.values - floor, resolution), lw=2)
        ax.axhline(resolution, color="grey", lw=0.8, ls=":", label="float64 resolution")
        ax.set_ylabel("value − closed-form minimum")
        ax.legend(loc="upper right", fontsize=8)
    else:
        ax.plot(steps, trajectory.values, lw=2)
        ax.set_ylabel("value")
    ax.set_xlabel("step")
    ax.set_title(f"descent: {trajectory.stop_reason} after {trajectory.n_steps} steps")
    ax.grid(alpha=0.3)
    return fig


def surface_paths(surface: Surface, paths: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> Figure:
    """The surface in 3-D with each optimizer's path ``(label, points (k, 2), values (k,))``."""
    fig = surface_3d(surface, title=f"{surface.label}: the paths on the surface")
    ax = fig.axes[0]
    ax.computed_zorder = False  # type: ignore[attr-defined]  # the paths over the surface
    for art in ax.collections:
        art.set_zorder(1)
    for (label, pts, vals), color in zip(paths, _COLORS, strict=False):
        inside = (
            (pts[:, 0] >= surface.x[0]) & (pts[:, 0] <= surface.x[-1])
            & (pts[:, 1] >= surface.y[0]) & (pts[:, 1] <= surface.y[-1])
        )  # fmt: skip
        ax.plot(
            pts[inside, 0], pts[inside, 1], vals[inside], color=color, lw=2, zorder=10, label=label
        )
    if paths:
        _legend_outside(ax)
    return fig


def _legend_outside(ax: Any, ncol: int = 2, extra: Sequence[Any] = ()) -> None:
    """The axes' legend (with ``extra`` handles) below them, outside, so it covers nothing
    drawn (the figure's constrained layout makes room for it)."""
    old = ax.get_legend()
    if old is not None:
        old.remove()
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = [*handles, *extra], [*labels, *(h.get_label() for h in extra)]
    if handles:
        # a white ground with a frame: every key has a dark edge or a strong colour on it
        _legend(ax, handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.12),
                ncol=min(ncol, len(handles)), fontsize=8, facecolor="white",
                edgecolor="0.7", framealpha=1.0)  # fmt: skip


def descend_contours(
    surface: Surface, paths: Sequence[tuple[str, np.ndarray]], marks: Sequence[dict[str, float]]
) -> Figure:
    """Contours with each optimizer's path ``(label, points (k, 2))``, the start and the
    marked minima; the legend sits below the axes, clear of the paths."""
    fig = contours(surface, arrows=False, paths=paths, marks=marks)
    _legend_outside(fig.axes[0])
    return fig


_KIND_STYLE = {
    "minimum": ("*", BEST_COLOR, 15),
    "maximum": ("^", "#d62728", 10),
    "saddle": ("X", "#ff7f0e", 10),
    "degenerate": ("D", "#9467bd", 8),
}


def critical_map(surface: Surface, points: np.ndarray, kinds: Sequence[str]) -> Figure:
    """Contours with the critical points marked by kind (minimum, maximum, saddle, degenerate)."""
    fig = contours(surface, arrows=True, title=f"{surface.label}: critical points")
    ax = fig.axes[0]
    for kind, (marker, color, size) in _KIND_STYLE.items():
        sel = [i for i, k in enumerate(kinds) if k == kind]
        if sel:
            ax.plot(points[sel, 0], points[sel, 1], marker, color=color, mec="black", ms=size,
                    ls="none", label=f"{kind} ({len(sel)})")  # fmt: skip
    _legend_outside(ax, ncol=3)
    return fig


def critical_3d(
    surface: Surface, points: np.ndarray, values: np.ndarray, kinds: Sequence[str]
) -> Figure:
    """The surface in 3-D with the critical points on it, marked by kind and drawn over the
    surface at full colour (mplot3d would otherwise sort them behind its translucent faces)."""
    fig = surface_3d(surface, title=f"{surface.label}: critical points on the surface")
    ax = fig.axes[0]
    ax.computed_zorder = False  # type: ignore[attr-defined]  # the order given: markers on top
    for art in ax.collections:
        art.set_zorder(1)
        art.set_alpha(0.6)
    for kind, (marker, color, size) in _KIND_STYLE.items():
        sel = [i for i, k in enumerate(kinds) if k == kind]
        if sel:
            ax.scatter(points[sel, 0], points[sel, 1], zs=values[sel], marker=marker, color=color,
                       edgecolors="black", linewidths=1.2, s=size * 14, depthshade=False,
                       alpha=1.0, label=f"{kind} ({len(sel)})", zorder=10)  # fmt: skip
    _legend_outside(ax, ncol=4)
    return fig


#: Colours of the starts of a basin map that reached no minimum of the box.
FAILED_COLOR = (0.85, 0.85, 0.85, 1.0)
OUTSIDE_COLOR = (0.25, 0.25, 0.25, 1.0)


def basin_colors(labels: np.ndarray, k: int, palette: int = 20) -> np.ndarray:
    """A palette index per basin, so that basins that touch on the grid (side or corner)
    differ: greedy colouring of the basins' adjacency, the most connected first. Where a
    basin touches more colours than the palette holds, it takes the one its neighbours use
    least.

    Args:
        labels: basin index per grid cell, shape ``(ny, nx)``; negative cells are not basins.
        k: number of basins.
    """
    near: list[set[int]] = [set() for _ in range(k)]
    lab = labels
    pairs = (
        (lab[:, :-1], lab[:, 1:]),  # side by side
        (lab[:-1, :], lab[1:, :]),  # above and below
        (lab[:-1, :-1], lab[1:, 1:]),  # corners
        (lab[:-1, 1:], lab[1:, :-1]),
    )
    for a, b in pairs:
        touch = (a >= 0) & (b >= 0) & (a != b)
        for i, j in set(zip(a[touch].tolist(), b[touch].tolist(), strict=True)):
            near[i].add(j)
            near[j].add(i)
    colors = np.full(k, -1, dtype=np.int64)
    for i in sorted(range(k), key=lambda i: -len(near[i])):
        used = np.bincount([colors[j] for j in near[i] if colors[j] >= 0], minlength=palette)
        colors[i] = int(np.argmin(used))  # a free colour (count 0) when there is one
    return colors


def basin_map(
    starts: np.ndarray, grid: tuple[int, int], labels: np.ndarray, points: np.ndarray,
    values: np.ndarray, names: Sequence[str], title: str,
) -> Figure:  # fmt: skip
    """Every start of a grid coloured by the minimum it reached (touching basins in different
    colours; light grey: did not converge; dark grey: converged outside the box), with the
    minima marked; the best minimum's basin is outlined. The legend sits below the map."""

    ny, nx = grid
    xs = starts[:nx, 0]
    ys = starts[::nx, 1][:ny]
    lab = labels.reshape(ny, nx)
    k = points.shape[0]
    base = _palette(20)
    shade = np.where(lab >= 0, 2 + basin_colors(lab, k)[np.maximum(lab, 0)] if k else 0,
                     np.where(lab == -2, 1, 0))  # fmt: skip
    cmap = mcolors.ListedColormap(np.vstack([FAILED_COLOR, OUTSIDE_COLOR, base]))
    fig = _figure(6.4, 5.8)
    ax = fig.add_subplot()
    ax.pcolormesh(xs, ys, shade, cmap=cmap, vmin=-0.5, vmax=len(base) + 1.5, shading="nearest")
    if points.size:
        ax.contour(xs, ys, (lab == 0).astype(float), levels=[0.5], colors="black", linewidths=1.2)
        ax.plot(points[:, 0], points[:, 1], "o", color="white", mec="black", ms=5, ls="none",
                label=f"{k} minim{'um' if k == 1 else 'a'} in the box")  # fmt: skip
        ax.plot(points[0, 0], points[0, 1], "*", color=BEST_COLOR, mec="black", ms=15, ls="none",
                label=f"best: f = {values[0]:.6g} (basin outlined)")  # fmt: skip
    extra = [
        Patch(facecolor=color, edgecolor="black", linewidth=0.6,
              label=f"{text} ({int(np.sum(lab == code))} starts)")
        for code, color, text in ((-1, FAILED_COLOR, "did not converge"),
                                  (-2, OUTSIDE_COLOR, "converged outside the box"))
        if np.any(lab == code)
    ]  # fmt: skip
    _legend_outside(ax, extra=extra)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title, fontsize=10)
    return fig


def _palette(k: int) -> np.ndarray:

    base = matplotlib.colormaps["tab20"](np.arange(20))
    return base[np.arange(k) % 20]


def race_chart(
    names: Sequence[str], lrs: Sequence[Sequence[float]], tune: Sequence[Sequence[float]],
    success: np.ndarray, chosen: Sequence[float | None],
) -> Figure:  # fmt: skip
    """Left: success rate on the test starts per optimizer. Right: success rate on the tuning
    starts against the learning rate, one line per optimizer, the chosen rate ringed."""
    fig = _figure(11.0, 4.8)
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.4))
    colors = [_COLORS[i % len(_COLORS)] for i in range(len(names))]
    left.barh(list(names)[::-1], list(success)[::-1], color=colors[::-1])
    left.set_xlim(0, 1)
    left.set_xlabel("success rate (test starts)")
    for name, xs, ys, lr, color in zip(names, lrs, tune, chosen, colors, strict=True):
        if xs:
            right.semilogx(xs, ys, "o-", color=color, label=name, ms=4)
            if lr is not None:
                right.semilogx([lr], [ys[list(xs).index(lr)]], "o", ms=11, mfc="none", mec=color)
    right.set_xlabel("learning rate")
    right.set_ylabel("success rate (tuning starts)")
    right.set_ylim(-0.05, 1.05)
    right.grid(alpha=0.3)
    _legend_outside(right, ncol=5)
    fig.suptitle("A fair race: same learning-rate budget, same starts")
    return fig


def training_curves(result: Any) -> Figure:
    """Train and validation loss (left) and metric (right) per epoch, the best epoch marked."""
    fig = _figure(10.5, 4.0)
    left, right = fig.subplots(1, 2)
    epochs = np.arange(1, result.epochs_run + 1)
    for ax, (tr, va, label) in zip(
        (left, right),
        ((result.train_loss, result.val_loss, "loss"), (result.train_metric, result.val_metric, result.metric)),
        strict=True,
    ):  # fmt: skip
        ax.plot(epochs, tr, lw=1.8, label="train")
        ax.plot(epochs, va, lw=1.8, label="validation")
        ax.axvline(result.best_epoch, color=BEST_COLOR, ls="--", lw=1.2,
                   label=result.kept_label)  # fmt: skip
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if np.all(result.train_loss > 0):
        left.set_yscale("log")
    fig.suptitle(f"{result.config['dataset']}, {result.config['model']}: {result.stop_reason}")
    return fig


def spectral_density(sp: Any) -> Figure:
    """The smoothed spectral density of the Hessian, with the extreme Ritz values marked."""
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    ax.semilogy(sp.density_grid, np.maximum(sp.density, 1e-12), lw=1.8)
    for v in sp.top[:1]:
        ax.axvline(v, color=PATH_COLOR, ls=":", lw=1, label=f"λmax ≈ {v:.4g}")
    for v in sp.bottom[:1]:
        ax.axvline(v, color=BEST_COLOR, ls=":", lw=1, label=f"λmin ≈ {v:.4g}")
    ax.set_xlabel("eigenvalue")
    ax.set_ylabel("density (log scale)")
    ax.set_title(f"Hessian spectral density of the {sp.label} ({sp.n:,} weights)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def landscape_figures(land: Any, out: str | Path) -> list[Path]:
    """Draw a loss landscape: a line plot (1-D), or contours and a 3-D surface (2-D)."""

    out = Path(out)
    if land.betas.size == 0:
        fig = _figure(6.4, 4.0)
        ax = fig.add_subplot()
        ax.plot(land.alphas, land.values, lw=2)
        ax.plot([0], [land.center_loss], "o", color=BEST_COLOR, label="this run")
        if land.kind == "between":
            ax.plot([1], [land.end_loss], "s", color=PATH_COLOR, label="the other run")
        ax.set_xlabel("t (0: this run, 1: the other)" if land.kind == "between" else "alpha")
        ax.set_ylabel(land.label)
        ax.set_title(f"{land.label} on {land.description()}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        return [save(fig, out / "landscape.png")]
    s = Surface(x_name="alpha", y_name="beta", x=land.alphas, y=land.betas, values=land.values,
                fixed={}, label=f"{land.label} ({land.kind} plane)", block_rows=0)  # fmt: skip
    # titled by its directions: a random, Hessian or PCA plane
    title = f"{land.label} on {land.description()}"
    paths = [("training trajectory", land.path)] if land.path.size else []
    fig = contours(s, arrows=False, paths=paths, marks=[{"alpha": 0.0, "beta": 0.0}],
                   marks_label="trained weights", title=title)  # fmt: skip
    return [save(fig, out / "contours.png"), save(surface_3d(s, title=title), out / "surface.png")]


def value_curves(
    curves: Sequence[tuple[str, np.ndarray] | tuple[str, np.ndarray, np.ndarray]],
    floor: float | None = None,
) -> Figure:
    """Value per step for each ``(label, values)`` (one value per step) or ``(label, steps,
    values)`` (a run's recorded rows); with ``floor`` (a known minimum), the gap to it on a log
    scale."""
    fig = _figure(6.4, 4.6)
    ax = fig.add_subplot()
    for curve, color in zip(curves, _COLORS, strict=False):
        label, vals = curve[0], curve[-1]
        steps = curve[1] if len(curve) == 3 else np.arange(vals.size)
        if floor is not None:
            resolution = 4 * np.finfo(np.float64).eps * max(abs(floor), 1.0)
            ax.semilogy(
                steps, np.maximum(vals - floor, resolution), lw=1.8, color=color, label=label
            )
        else:
            ax.plot(steps, vals, lw=1.8, color=color, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("f − global minimum" if floor is not None else "f")
    ax.set_title("value per step")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    return fig


def race_animation(
    surface: Surface, paths: Sequence[tuple[str, np.ndarray]], path: str | Path, frames: int = 50
) -> Path:
    """A GIF of the optimizers moving over the contours together, step by step."""
    fig = contours(surface, arrows=False)
    ax = fig.axes[0]
    longest = max(len(pts) for _, pts in paths)
    ticks = np.unique(np.geomspace(1, longest, frames).astype(int))
    colors = _COLORS[: len(paths)]
    lines = [
        ax.plot([], [], "-", color=c, lw=2, label=label)[0]
        for (label, _), c in zip(paths, colors, strict=True)
    ]
    heads = [ax.plot([], [], "o", color=c, mec="black", ms=7)[0] for c in colors]
    _legend_outside(ax)
    title = ax.set_title("")

    def draw(t: int) -> list[Any]:
        for (_, pts), line, head in zip(paths, lines, heads, strict=True):
            upto = pts[: min(t, len(pts))]
            line.set_data(upto[:, 0], upto[:, 1])
            head.set_data(upto[-1:, 0], upto[-1:, 1])
        title.set_text(f"{surface.label}: step {t - 1}")
        return [*lines, *heads, title]

    # The contours, colour bar and legend are drawn once; each frame only redraws the paths on
    # a copy of that background (blitting), which is what makes a GIF take a second, not many.

    fig.set_dpi(72)
    canvas: Any = FigureCanvasAgg(fig)  # its blitting methods are untyped
    draw(int(ticks[-1]))
    canvas.draw()  # the layout, with room for the title and the paths' full extent
    fig.set_layout_engine("none")  # kept for every frame
    draw(0)
    title.set_text("")
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    images = []
    for t in ticks:
        canvas.restore_region(background)
        for artist in draw(int(t)):
            ax.draw_artist(artist)
        images.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))
    p = Path(path)
    with atomic_path(p) as tmp:
        images[0].save(tmp, save_all=True, append_images=images[1:], duration=125, loop=0)
    return p


def save(fig: Figure, path: str | Path) -> Path:
    """Write a figure (format from the suffix) and return its path."""
    p = Path(path)
    with atomic_path(p) as tmp:
        fig.savefig(tmp, dpi=110)
    return p


def tour_figures(result: TourResult, out: str | Path) -> dict[str, Path]:
    """Draw and save every figure of the tour into folder ``out``; returns ``{name: path}``."""
    out = Path(out)
    t = result.trajectory
    noise = result.rounding()

    def clean(m: float, c: float) -> tuple[float, float]:  # float64 noise shows as 0
        return (0.0 if abs(m) <= noise["m"] else m, 0.0 if abs(c) <= noise["c"] else c)

    figs = {
        "data": data_fit(
            result.data,
            {
                "gradient descent": clean(t.final_params["m"], t.final_params["c"]),
                "closed form": clean(result.stats.m, result.stats.c),
            },
        ),
        "profiles": profiles(result.profiles),
        "surface": surface_3d(result.surface, t),
        "contours": contours(result.surface, t, result.closed_form, scale="log"),
        "loss": loss_curve(t, result.stats.sse_min),
    }
    return {name: save(fig, out / f"{name}.png") for name, fig in figs.items()}


# -- fit ----------------------------------------------------------------------------------------
#: Most inputs a residual figure gives a panel of its own (the rest are in the fit's arrays).
FIT_RESIDUAL_PANELS = 6
_BAND_CONF = "#1f77b4"
_BAND_PRED = "#aec7e8"


def _grid(k: int, cols: int = 3) -> tuple[int, int]:
    c = min(k, cols)
    return (k + c - 1) // c, c


def fit_curve(fit: Any) -> Figure:
    """The data, the fitted curve and its confidence and prediction bands (one input)."""
    fig = _figure(7.2, 4.8)
    ax = fig.add_subplot()
    x, f, conf, pred = fit.band_x[:, 0], fit.band_fit, fit.band_conf, fit.band_pred
    level = f"{fit.level:.0%}"
    missing, no_pred = fit.no_confidence_band(), fit.no_prediction_band()
    if not no_pred:
        ax.fill_between(x, f - pred, f + pred, color=_BAND_PRED, alpha=0.55, lw=0,
                        label=f"{level} prediction band (a new observation)")  # fmt: skip
    if not missing:
        ax.fill_between(x, f - conf, f + conf, color=_BAND_CONF, alpha=0.35, lw=0,
                        label=f"{level} confidence band (the curve)")  # fmt: skip
    ax.plot(x, f, "-", color=PATH_COLOR, lw=2, label="fitted curve")
    ax.plot(fit.X[:, 0], fit.y, "o", ms=5, color="black", mfc="white", mew=1.2, label="data")
    ax.set_xlabel(fit.inputs[0])
    ax.set_ylabel(fit.response)
    title = f"{fit.model}\n{fit.source}: {fit.n} rows, SSE = {fit.sse:.6g}"
    if note := fit.bands_note():
        title += f"\n({note})"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)
    return fig


def fit_observed(fit: Any) -> Figure:
    """Observed against fitted (several inputs), with the diagonal of a perfect fit and the
    confidence band of each fitted value as an error bar."""
    fig = _figure(6.0, 5.2)
    ax = fig.add_subplot()
    lo = float(min(fit.y.min(), fit.fitted.min()))
    hi = float(max(fit.y.max(), fit.fitted.max()))
    ax.plot([lo, hi], [lo, hi], "--", color="0.5", lw=1, label="observed = fitted")
    bars = None if fit.no_confidence_band() else fit.band_conf
    ax.errorbar(fit.fitted, fit.y, xerr=bars, fmt="o", ms=4, color="black",
                mfc="white", ecolor=_BAND_CONF, elinewidth=1,
                label=f"rows (bars: {fit.level:.0%} confidence of the fitted value)")  # fmt: skip
    ax.set_xlabel(f"fitted {fit.response}")
    ax.set_ylabel(f"observed {fit.response}")
    ax.set_title(f"{fit.model}\n{fit.source}: {fit.n} rows, R² = {fit.r2:.6g}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def fit_residuals(fit: Any) -> Figure:
    """Residuals against the fitted values and against each input (up to
    :data:`FIT_RESIDUAL_PANELS`), with the zero line."""
    against = [(f"fitted {fit.response}", fit.fitted)]
    against += [(name, fit.X[:, i]) for i, name in enumerate(fit.inputs)]
    against = against[:FIT_RESIDUAL_PANELS]
    rows, cols = _grid(len(against))
    fig = _figure(4.3 * cols, 3.5 * rows + 0.4)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (name, v) in zip(axes, against, strict=False):
        ax.axhline(0.0, color="0.4", lw=1)
        ax.plot(v, fit.residuals, "o", ms=4, color=_BAND_CONF)
        ax.set_xlabel(name)
        ax.set_ylabel("residual (observed − fitted)")
        ax.grid(alpha=0.3)
    for ax in axes[len(against) :]:
        ax.set_visible(False)
    fig.suptitle(f"Residuals of {fit.model} (s = {fit.s:.4g})", fontsize=11)
    return fig


def _note_side(note: str) -> tuple[float, str]:
    """Where on a profile's panel the note of its open side goes: by that side (both: the
    middle)."""
    sides = {part.split(":")[0] for part in note.split("; ")}
    if sides == {"upper"}:
        return 0.97, "right"
    if sides == {"lower"}:
        return 0.03, "left"
    return 0.5, "center"


def fit_profiles(fit: Any) -> Figure:
    """The SSE along each parameter with the others re-optimised; the threshold
    ``SSE·(1 + t²/dof)``, the profile interval where the curve crosses it, the Wald interval."""
    p = len(fit.parameters)
    rows, cols = _grid(p)
    fig = _figure(max(4.4 * cols, 6.4), 3.7 * rows + (0.9 if cols > 1 else 1.3))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    threshold = fit.sse * (1 + fit.t**2 / max(fit.dof, 1))
    for j, (ax, name) in enumerate(zip(axes, fit.parameters, strict=False)):
        v, s = fit.profile_values[j], fit.profile_sse[j]
        ok = np.isfinite(v) & np.isfinite(s)
        ax.plot(v[ok], s[ok], "-", color="#1f77b4", lw=2, label="profile SSE")
        ax.plot(v[ok], s[ok], ".", color="#1f77b4", ms=4)
        ax.axhline(threshold, color="0.3", ls=":", lw=1.2, label="threshold SSE·(1 + t²/dof)")
        for k, end in enumerate((fit.profile_lower[j], fit.profile_upper[j])):
            if np.isfinite(end):
                ax.axvline(end, color=PATH_COLOR, lw=1.5,
                           label="profile interval" if k == 0 else None)  # fmt: skip
        for k, end in enumerate((fit.wald_lower[j], fit.wald_upper[j])):
            if np.isfinite(end):
                ax.axvline(end, color="#ff7f0e", ls="--", lw=1.5,
                           label="Wald interval" if k == 0 else None)  # fmt: skip
        ax.plot([fit.estimates[j]], [fit.sse], "*", ms=14, color=BEST_COLOR, mec="black",
                label="estimate")  # fmt: skip
        if j < len(fit.profile_notes) and fit.profile_notes[j]:
            from .story import open_sides

            x, ha = _note_side(fit.profile_notes[j])
            ax.text(x, 0.97, open_sides(fit.profile_notes[j]).replace(" (", "\n("),
                    transform=ax.transAxes, ha=ha, va="top", fontsize=8, color=PATH_COLOR,
                    bbox={"facecolor": "white", "edgecolor": PATH_COLOR, "alpha": 0.9})  # fmt: skip
        ax.set_xlabel(name)
        ax.set_ylabel("SSE")
        ax.set_title(f"{name}: others re-optimised" if p > 1 else f"the SSE along {name}",
                     fontsize=10)  # fmt: skip
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useOffset=False)
        ax.grid(alpha=0.3)
    for ax in axes[p:]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(5 if cols > 1 else 3, len(handles)),
               fontsize=8)  # fmt: skip
    fig.suptitle(f"SSE profiles and {fit.level:.0%} intervals", fontsize=11)
    return fig


def fit_pair(fit: Any, surface: Surface) -> Figure:
    """The SSE over two parameters (others at their estimates) with the solver's path."""
    i, j = fit.parameters.index(surface.x_name), fit.parameters.index(surface.y_name)
    path = fit.path[:, [i, j]]
    best = {surface.x_name: float(fit.estimates[i]), surface.y_name: float(fit.estimates[j])}
    title = f"SSE over {surface.x_name} and {surface.y_name} with the solver's path"
    if surface.fixed:
        title += ", the others held at their estimates"
    fig = contours(surface, arrows=False, paths=[("solver's path", path)], marks=[best],
                   marks_label="estimate", title=title)  # fmt: skip
    ax = fig.axes[0]
    held = _pair_held(surface.fixed)
    ax.set_title(title.replace(", the others", "\nthe others") + held, fontsize=10)
    _legend_outside(ax, ncol=3)
    return fig


def _pair_held(fixed: dict[str, float]) -> str:
    """The values held in a pair surface's title: each of two or fewer, else how many (the
    table lists them)."""
    if not fixed:
        return ""
    if len(fixed) <= 2:
        return " (" + ", ".join(f"{k} = {v:.4g}" for k, v in fixed.items()) + ")"
    return f" ({len(fixed)} parameters; path projected)"


def fit_figures(fit: Any, out: str | Path, surface: Surface | None = None) -> dict[str, Path]:
    """Draw and save every figure of a fit into folder ``out``; returns ``{name: path}``:
    the curve (one input) or observed against fitted, the residuals, the profiles (when the
    fit has them) and the SSE over ``surface``'s pair of parameters."""
    out = Path(out)
    figs = {"curve" if len(fit.inputs) == 1 else "observed":
            fit_curve(fit) if len(fit.inputs) == 1 else fit_observed(fit),
            "residuals": fit_residuals(fit)}  # fmt: skip
    if len(fit.profile_lower) == len(fit.parameters) and fit.profile_values.size:
        figs["profiles"] = fit_profiles(fit)
    if surface is not None:
        figs["pair"] = fit_pair(fit, surface)
    return {name: save(fig, out / f"{name}.png") for name, fig in figs.items()}
