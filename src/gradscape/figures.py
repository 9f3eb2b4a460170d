"""Interactive figures: plotly.js figure JSON (``{"data": [...], "layout": {...}}``, plain dicts)
built from the library's result objects, for the HTML report (:mod:`gradscape.report`).

A builder only arranges a result's arrays into traces: every decision (the window a path is
drawn in, the part of a path worth drawing, the kind of a point) comes from the result or the
library (:meth:`gradscape.runs.Run.shown_path`, :func:`gradscape.runs.plot_window`,
:func:`gradscape.sweep.known_minima`), as it does for the PNG figures of :mod:`gradscape.plot`.
Non-finite numbers become ``None`` (JSON has no NaN; plotly leaves a gap there). No plotly import:
the figures are plain JSON and plotly.js draws them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .calculus import Derivation
    from .critical import CriticalPoints
    from .multistarts import Minima
    from .networks.landscapes import Landscape
    from .networks.spectra import Spectrum
    from .networks.training import Training
    from .races import Race
    from .runs import Run
    from .sweep import Profile, Surface
    from .tours import TourResult

#: A plotly figure as JSON: ``{"data": [trace, ...], "layout": {...}}``.
Spec = dict[str, Any]

#: Colour-blind-safe colours, one per optimizer or curve, in order.
COLORS = ("#dc2626", "#2563eb", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
          "#4b5563", "#059669")  # fmt: skip
BEST_COLOR = "#059669"
PATH_COLOR = "#dc2626"
#: Most points a drawn path or curve keeps (a longer one is thinned evenly, ends kept), so a
#: report of a million-step run stays a few megabytes.
MAX_TRACE_POINTS = 20_000
#: Most cells of a drawn grid (a finer one is drawn every k-th row and column).
MAX_GRID_CELLS = 250_000

_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 15}
_KIND_STYLE = {
    "minimum": ("star", BEST_COLOR, 18),
    "maximum": ("triangle-up", "#dc2626", 14),
    "saddle": ("x", "#d97706", 14),
    "degenerate": ("diamond", "#7c3aed", 12),
}


#: scatter3d has fewer marker symbols than scatter: one per kind.
_SYMBOL_3D = {"minimum": "diamond", "maximum": "circle", "saddle": "square", "degenerate": "cross"}


def values(a: Any) -> list[Any]:
    """``a`` as nested JSON lists, non-finite numbers as ``None``."""
    arr = np.asarray(a)
    if arr.dtype.kind in "fc":
        arr = arr.real.astype(np.float64)
        out: list[Any] = arr.tolist()
        return out if np.isfinite(arr).all() else _nulls(out)
    return list(arr.tolist())


def _nulls(v: Any) -> Any:
    if isinstance(v, list):
        return [_nulls(x) for x in v]
    return v if not isinstance(v, float) or math.isfinite(v) else None


def thin(n: int, cap: int = MAX_TRACE_POINTS) -> np.ndarray:
    """Indices of at most ``cap`` of ``n`` rows, evenly spread, first and last kept."""
    if n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


def _stride(nx: int, ny: int) -> int:
    """Every how many-th row and column a grid is drawn at (:data:`MAX_GRID_CELLS`)."""
    return max(1, math.ceil(math.sqrt(nx * ny / MAX_GRID_CELLS)))


def layout(title: str, **extra: Any) -> dict[str, Any]:
    """The shared look: large readable fonts, a white ground, the legend below the plot."""
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.02, "xanchor": "left", "font": {"size": 18}},
        "font": _FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 70, "r": 30, "t": 60, "b": 60},
        "legend": {"orientation": "h", "y": -0.2, "x": 0.5, "xanchor": "center"},
        "hovermode": "closest",
        "height": 520,
    }
    base.update(extra)
    return base


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "showgrid": True, "gridcolor": "#e5e7eb",
            "zeroline": False, "automargin": True, **extra}  # fmt: skip


def _name(label: str) -> str:
    """``"SSE(m, c)"`` -> ``"SSE"``."""
    return label.split("(")[0] or "f"


def _held(fixed: dict[str, float]) -> str:
    if not fixed:
        return ""
    shown = ", ".join(f"{k} = {v:.4g}" for k, v in list(fixed.items())[:4])
    return f" ({shown}{', …' if len(fixed) > 4 else ''} held)"


def _scale(z: np.ndarray) -> str:
    """``"log"`` when most of the surface sits near its floor (steep walls, flat valley: the
    rule of :func:`gradscape.plot.contours`), else ``"linear"``."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return "linear"
    lo, hi, mid = float(finite.min()), float(finite.max()), float(np.median(finite))
    return "log" if hi > lo and (hi - lo) > 5 * max(mid - lo, np.finfo(float).tiny) else "linear"


def colour_scale(values: Any) -> str:
    """The colour scale the report's contours use for ``values`` (a surface's grid):
    ``"log"`` when most of it sits near its floor, else ``"linear"`` (the web page follows it).

    >>> colour_scale([[0.0, 1.0], [2.0, 1000.0]]), colour_scale([[0.0, 1.0], [2.0, 3.0]])
    ('log', 'linear')
    """
    return _scale(np.asarray(values, np.float64))


def contour_trace(s: Surface, *, scale: str = "auto", colorbar: bool = True) -> dict[str, Any]:
    """The surface as filled contours; on a log scale (``log10(f − grid minimum)``) where most
    of it sits near its floor, the hover then showing ``f`` itself."""
    k = _stride(s.x.size, s.y.size)
    x, y, z = s.x[::k], s.y[::k], np.asarray(s.values, np.float64)[::k, ::k]
    name = _name(s.label)
    trace: dict[str, Any] = {
        "type": "contour", "x": values(x), "y": values(y), "name": name,
        "colorscale": "Viridis", "ncontours": 30, "showlegend": False,
        "contours": {"coloring": "heatmap", "showlines": True},
        "line": {"color": "rgba(255,255,255,0.5)", "width": 0.5},
    }  # fmt: skip
    if scale == "auto":
        scale = _scale(z)
    if scale == "log" and np.isfinite(z).any():
        shifted = z - np.nanmin(np.where(np.isfinite(z), z, np.nan))
        top = float(np.nanmax(np.where(np.isfinite(shifted), shifted, np.nan)))
        small = max(top * 1e-6, np.finfo(np.float64).tiny)
        with np.errstate(divide="ignore", invalid="ignore"):
            trace["z"] = values(np.log10(shifted + small))
        trace["customdata"] = values(z)
        trace["hovertemplate"] = (
            f"{s.x_name} = %{{x:.4g}}<br>{s.y_name} = %{{y:.4g}}<br>{name} = %{{customdata:.6g}}"
            "<extra></extra>"
        )
        bar = f"log₁₀({name} − min)"
    else:
        trace["z"] = values(z)
        trace["hovertemplate"] = (
            f"{s.x_name} = %{{x:.4g}}<br>{s.y_name} = %{{y:.4g}}<br>{name} = %{{z:.6g}}"
            "<extra></extra>"
        )
        bar = name
    trace["showscale"] = colorbar
    trace["colorbar"] = {"title": {"text": bar, "side": "right"}}
    return trace


def _marks(points: Sequence[dict[str, float]], s: Surface, label: str) -> list[dict[str, Any]]:
    if not points:
        return []
    return [{"type": "scatter", "mode": "markers", "name": label,
             "x": [p[s.x_name] for p in points], "y": [p[s.y_name] for p in points],
             "marker": {"symbol": "star", "size": 18, "color": BEST_COLOR,
                        "line": {"color": "black", "width": 1}}}]  # fmt: skip


def _path_2d(label: str, pts: np.ndarray, color: str, *, ends: bool = True) -> list[dict[str, Any]]:
    """An optimizer's path ``(k, 2)`` with its end point marked."""
    keep = thin(len(pts))
    out: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": label,
         "x": values(pts[keep, 0]), "y": values(pts[keep, 1]),
         "line": {"color": color, "width": 2.5}, "marker": {"size": 4, "color": color}}
    ]  # fmt: skip
    if ends and len(pts):
        out.append({"type": "scatter", "mode": "markers", "name": f"{label}: end",
                    "x": values(pts[-1:, 0]), "y": values(pts[-1:, 1]), "showlegend": False,
                    "marker": {"size": 11, "color": color, "line": {"color": "black", "width": 1}}})  # fmt: skip
    return out


def _start(pt: np.ndarray) -> dict[str, Any]:
    return {"type": "scatter", "mode": "markers", "name": "start",
            "x": values(pt[:1]), "y": values(pt[1:2]),
            "marker": {"symbol": "square", "size": 12, "color": "black"}}  # fmt: skip


def _plane_layout(s: Surface, title: str) -> dict[str, Any]:
    return layout(
        title + _held(s.fixed),
        xaxis=_axis(s.x_name, range=[float(s.x[0]), float(s.x[-1])]),
        yaxis=_axis(s.y_name, range=[float(s.y[0]), float(s.y[-1])]),
        height=620,
    )


#: Arrows of the gradient field along each side of a contour figure.
ARROWS_PER_SIDE = 18


def gradient_arrows(s: Surface) -> list[dict[str, Any]]:
    """The direction of ``∇f`` on a coarse grid (:data:`ARROWS_PER_SIDE`), as short segments
    with an arrowhead: each along ``(∂f/∂x, ∂f/∂y)`` in the axes' own units, at most half a
    coarse cell long, so arrows never overlap."""
    assert s.gradient is not None
    kx, ky = max(1, s.x.size // ARROWS_PER_SIDE), max(1, s.y.size // ARROWS_PER_SIDE)
    mx, my = np.meshgrid(s.x[kx // 2 :: kx], s.y[ky // 2 :: ky])
    gx = np.asarray(s.gradient[0], np.float64)[ky // 2 :: ky, kx // 2 :: kx]
    gy = np.asarray(s.gradient[1], np.float64)[ky // 2 :: ky, kx // 2 :: kx]
    cell_x = abs(float(s.x[-1] - s.x[0])) / max(mx.shape[1], 1)
    cell_y = abs(float(s.y[-1] - s.y[0])) / max(mx.shape[0], 1)
    # at the edges of float64 a cell, a gradient or an arrow's end overflows: those arrows
    # are left out (the figure shows the values; a direction there is not a number)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        reach = np.maximum(np.abs(gx) / (cell_x or 1.0), np.abs(gy) / (cell_y or 1.0))
        ok = np.isfinite(reach) & (reach > 0)
        t = 0.45 / np.where(ok, reach, 1.0)
        x0, y0 = mx - t * gx / 2, my - t * gy / 2
        x1, y1 = x0 + t * gx, y0 + t * gy
    ok &= np.isfinite(x0) & np.isfinite(y0) & np.isfinite(x1) & np.isfinite(y1)
    x0, y0, x1, y1 = x0[ok], y0[ok], x1[ok], y1[ok]
    gap = np.full(x0.size, np.nan)
    xs = np.stack([x0, x1, gap], axis=1).ravel()
    ys = np.stack([y0, y1, gap], axis=1).ravel()
    sizes = np.tile([0, 9, 0], x0.size)
    return [{"type": "scatter", "mode": "lines+markers", "name": "direction of ∇f (uphill)",
             "x": values(xs), "y": values(ys), "hoverinfo": "skip",
             "line": {"color": "white", "width": 1.5},
             "marker": {"symbol": "arrow", "angleref": "previous", "size": sizes.tolist(),
                        "color": "white", "line": {"color": "#111827", "width": 0.8}}}]  # fmt: skip


def contours(
    s: Surface,
    paths: Sequence[tuple[str, np.ndarray]] = (),
    marks: Sequence[dict[str, float]] = (),
    *,
    marks_label: str = "global minimum",
    title: str | None = None,
    scale: str = "auto",
) -> Spec:
    """Contours of ``s`` with each ``(label, points (k, 2))`` path, the first path's start and
    the marked points; where ``s`` carries its gradient, arrows along it (uphill)."""
    data = [contour_trace(s, scale=scale)]
    if s.gradient is not None:
        data += gradient_arrows(s)
    for (label, pts), color in zip(paths, _cycle(len(paths)), strict=True):
        data += _path_2d(label, np.asarray(pts, np.float64), color)
    if paths and len(paths[0][1]):
        data.append(_start(np.asarray(paths[0][1][0], np.float64)))
    data += _marks(marks, s, marks_label)
    return {"data": data, "layout": _plane_layout(s, title or f"{s.label}: contours")}


def surface(
    s: Surface,
    paths: Sequence[tuple[str, np.ndarray, np.ndarray]] = (),
    *,
    title: str | None = None,
    points: Sequence[tuple[str, np.ndarray, np.ndarray]] = (),
) -> Spec:
    """The surface in 3-D with each ``(label, points (k, 2), values (k,))`` path on it (the
    part inside the grid) and each ``(kind, points (k, 2), values (k,))`` set of marked points."""
    k = _stride(s.x.size, s.y.size)
    name = _name(s.label)
    data: list[dict[str, Any]] = [
        {"type": "surface", "x": values(s.x[::k]), "y": values(s.y[::k]),
         "z": values(np.asarray(s.values)[::k, ::k]), "colorscale": "Viridis", "opacity": 0.8,
         "name": name, "showscale": False,
         "hovertemplate": f"{s.x_name} = %{{x:.4g}}<br>{s.y_name} = %{{y:.4g}}<br>"
                          f"{name} = %{{z:.6g}}<extra></extra>"}
    ]  # fmt: skip
    for (label, pts, vals), color in zip(paths, _cycle(len(paths)), strict=True):
        pts = np.asarray(pts, np.float64)
        inside = (
            (pts[:, 0] >= s.x[0]) & (pts[:, 0] <= s.x[-1])
            & (pts[:, 1] >= s.y[0]) & (pts[:, 1] <= s.y[-1])
        )  # fmt: skip
        p, v = pts[inside], np.asarray(vals, np.float64)[: len(pts)][inside]
        keep = thin(len(p))
        data.append({"type": "scatter3d", "mode": "lines", "name": label,
                     "x": values(p[keep, 0]), "y": values(p[keep, 1]), "z": values(v[keep]),
                     "line": {"color": color, "width": 6}})  # fmt: skip
    for kind, pts, vals in points:
        _, color, size = _KIND_STYLE.get(kind, ("circle", "#4b5563", 10))
        data.append({"type": "scatter3d", "mode": "markers", "name": f"{kind} ({len(pts)})",
                     "x": values(pts[:, 0]), "y": values(pts[:, 1]), "z": values(vals),
                     "marker": {"size": size // 2 + 2, "color": color,
                                "symbol": _SYMBOL_3D.get(kind, "circle"),
                                "line": {"color": "black", "width": 1}}})  # fmt: skip
    scene = {"xaxis": {"title": {"text": s.x_name}}, "yaxis": {"title": {"text": s.y_name}},
             "zaxis": {"title": {"text": name}}, "aspectmode": "manual",
             "aspectratio": {"x": 1, "y": 1, "z": 0.75},
             "camera": {"eye": {"x": -1.25, "y": -1.25, "z": 0.85}}}  # fmt: skip
    return {"data": data, "layout": layout((title or f"{s.label}: the surface") + _held(s.fixed),
                                           scene=scene, height=680,
                                           margin={"l": 10, "r": 10, "t": 60, "b": 10})}  # fmt: skip


def _cycle(n: int) -> list[str]:
    return [COLORS[i % len(COLORS)] for i in range(n)]


def value_curves(
    curves: Sequence[tuple[str, np.ndarray, np.ndarray]], floor: float | None = None
) -> Spec:
    """Value per step for each ``(label, steps, values)``; with ``floor`` (a known minimum)
    the gap to it on a log scale, floored at float64's resolution (as the PNG figure)."""
    data = []
    for (label, steps, vals), color in zip(curves, _cycle(len(curves)), strict=True):
        vals = np.asarray(vals, np.float64)
        if floor is not None:
            resolution = 4 * np.finfo(np.float64).eps * max(abs(floor), 1.0)
            vals = np.maximum(vals - floor, resolution)
        keep = thin(len(vals))
        data.append({"type": "scatter", "mode": "lines", "name": label,
                     "x": values(np.asarray(steps)[keep]), "y": values(vals[keep]),
                     "line": {"color": color, "width": 2.5}})  # fmt: skip
    y = "f − global minimum (log scale)" if floor is not None else "f"
    return {"data": data, "layout": layout(
        "value per step", xaxis=_axis("step"),
        yaxis=_axis(y, **({"type": "log", "exponentformat": "e"} if floor is not None else {})),
    )}  # fmt: skip


# ---------------------------------------------------------------------------------- the verbs


def tour(result: TourResult) -> dict[str, Spec]:
    """The tour: ``data`` (points and both fitted lines), ``profiles`` (the 1-D error profiles),
    ``surface`` (3-D with the descent path), ``contours`` (with the path and the closed form),
    ``loss`` (distance of the error from its minimum per step)."""
    t, d, st = result.trajectory, result.data, result.stats
    fm, fc = t.final_params["m"], t.final_params["c"]
    xs = np.array([float(np.min(d.x)), float(np.max(d.x))])
    fit = {"type": "scatter", "mode": "markers", "name": "data", "x": values(d.x),
           "y": values(d.y), "marker": {"size": 8, "color": "#2563eb", "opacity": 0.7}}  # fmt: skip
    lines = [
        {"type": "scatter", "mode": "lines", "name": f"{label}: y = {m:.4g}·x + {c:.4g}",
         "x": values(xs), "y": values(m * xs + c),
         "line": {"color": color, "width": 3, "dash": dash}}
        for label, m, c, color, dash in (("gradient descent", fm, fc, PATH_COLOR, "solid"),
                                         ("closed form", st.m, st.c, BEST_COLOR, "dash"))
    ]  # fmt: skip
    data_fig = {"data": [fit, *lines], "layout": layout(
        f"{d.name}: {d.n} points", xaxis=_axis(d.x_label), yaxis=_axis(d.y_label))}  # fmt: skip

    path = t.shown_path()
    names = t.names
    s = result.surface
    pts = path[:, [names.index(s.x_name), names.index(s.y_name)]]
    contour_fig = contours(s, [("gradient descent", pts)], [result.closed_form],
                           marks_label="closed form",
                           title=f"{s.label}: contours and the descent path")  # fmt: skip
    surface_fig = surface(s, [("gradient descent", pts, t.values[: len(pts)])],
                          title=f"{s.label}: the error surface and the descent path")  # fmt: skip
    loss_fig = value_curves([("gradient descent", t.steps, t.values)], st.sse_min)
    loss_fig["layout"]["title"]["text"] = f"descent: {t.stop_reason} after {t.n_steps:,} steps"
    loss_fig["layout"]["yaxis"]["title"]["text"] = "SSE − closed-form minimum (log scale)"
    return {
        "data": data_fig,
        "profiles": profiles(result.profiles),
        "surface": surface_fig,
        "contours": contour_fig,
        "loss": loss_fig,
    }


def profiles(items: Sequence[Profile]) -> Spec:
    """Side-by-side 1-D profiles, each with its lowest point marked."""
    n = len(items)
    data: list[dict[str, Any]] = []
    lay = layout("1-D profiles: one variable moves, the others are held",
                 grid={"rows": 1, "columns": n, "pattern": "independent"})  # fmt: skip
    for i, (p, color) in enumerate(zip(items, _cycle(n), strict=True)):
        ax = "" if i == 0 else str(i + 1)
        keep = thin(p.axis.size)
        data.append({"type": "scatter", "mode": "lines", "name": f"{p.label} along {p.name}",
                     "x": values(p.axis[keep]), "y": values(p.values[keep]),
                     "xaxis": f"x{ax}", "yaxis": f"y{ax}", "line": {"color": color, "width": 3}})  # fmt: skip
        low = p.minimum
        if low is not None:
            data.append({"type": "scatter", "mode": "markers",
                         "name": "minimum" if low["refined"] else "lowest grid value",
                         "x": [low["point"][p.name]], "y": values([low["value"]]),
                         "xaxis": f"x{ax}", "yaxis": f"y{ax}", "showlegend": i == 0,
                         "marker": {"size": 12, "color": BEST_COLOR, "symbol": "star",
                                    "line": {"color": "black", "width": 1}}})  # fmt: skip
        held = ", ".join(f"{k} = {v:.4g}" for k, v in list(p.fixed.items())[:3] if k != p.name)
        lay[f"xaxis{ax}"] = _axis(p.name + (f" ({held} held)" if held else ""))
        lay[f"yaxis{ax}"] = _axis(_name(p.label))
    return {"data": data, "layout": lay}


def curve(p: Profile, title: str | None = None) -> Spec:
    """A 1-D sweep: the function over its axis (top) and its derivative (below), the critical
    points marked on both."""
    name = _name(p.label)
    keep = thin(p.axis.size)
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": f"{name}({p.name})",
         "x": values(p.axis[keep]), "y": values(p.values[keep]),
         "line": {"color": "#2563eb", "width": 3}}
    ]  # fmt: skip
    lay = layout((title or f"{p.label} along {p.name}") + _held(p.fixed), height=620,
                 xaxis=_axis(p.name, anchor="y2"), yaxis=_axis(name, domain=[0.42, 1.0]),
                 xaxis2=_axis("", matches="x", visible=False))  # fmt: skip
    if p.derivative is not None:
        data.append({"type": "scatter", "mode": "lines", "name": f"d{name}/d{p.name}",
                     "x": values(p.axis[keep]), "y": values(p.derivative[keep]),
                     "yaxis": "y2", "line": {"color": "#d97706", "width": 3}})  # fmt: skip
        lay["yaxis2"] = _axis(f"d{name}/d{p.name}", domain=[0.0, 0.34])
        lay["xaxis"]["anchor"] = "y2"
        for kind in ("minimum", "maximum", "other"):
            at = [(x, k) for x, k in p.critical_points() if (k.split()[-1] == kind) or
                  (kind == "other" and k.split()[-1] not in ("minimum", "maximum"))]  # fmt: skip
            if at:
                xs = [x for x, _ in at]
                data.append({"type": "scatter", "mode": "markers", "yaxis": "y2",
                             "name": f"{kind if kind != 'other' else 'singular'} ({len(at)})",
                             "x": xs, "y": [0.0] * len(xs), "text": [k for _, k in at],
                             "marker": {"size": 11, "color": {"minimum": BEST_COLOR,
                                        "maximum": PATH_COLOR}.get(kind, "#4b5563"),
                                        "line": {"color": "black", "width": 1}}})  # fmt: skip
    else:
        lay["yaxis"]["domain"] = [0.0, 1.0]
    return {"data": data, "layout": lay}


def sweep(
    result: Profile | Surface, marks: Sequence[dict[str, float]] = (), title: str | None = None
) -> dict[str, Spec]:
    """``gradscape sweep``: ``curve`` for a profile; ``surface`` and ``contours`` for a
    surface (``marks``: a built-in function's published minima in the box)."""
    from .sweep import Profile

    if isinstance(result, Profile):
        return {"curve": curve(result, title)}
    return {"surface": surface(result, title=title), "contours": contours(result, (), marks)}


def descend(
    runs: Sequence[Run],
    floor: float | None = None,
    s: Surface | None = None,
    marks: Sequence[dict[str, float]] = (),
) -> dict[str, Spec]:
    """``gradscape descend``: ``values`` (value per step of each run; with ``floor`` the gap to
    the known minimum); with the surface ``s`` of two variables (drawn in
    :func:`gradscape.runs.plot_window`), ``contours`` and ``surface`` with each run's
    :meth:`~gradscape.runs.Run.shown_path`."""
    figs = {"values": value_curves([(r.settings, r.steps, r.values) for r in runs], floor)}
    if s is None:
        return figs
    shown = [r.shown_path() for r in runs]
    paths = [(r.settings, p) for r, p in zip(runs, shown, strict=True)]
    figs["contours"] = contours(s, paths, marks, title=f"{s.label}: the paths")
    figs["surface"] = surface(
        s, [(r.settings, p, r.values[: len(p)]) for r, p in zip(runs, shown, strict=True)],
        title=f"{s.label}: the paths on the surface",
    )  # fmt: skip
    return figs


def _by_kind(kinds: Sequence[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, k in enumerate(kinds):
        out.setdefault(k, []).append(i)
    return out


def critical(cp: CriticalPoints, s: Surface) -> dict[str, Spec]:
    """``gradscape critical`` in two variables: ``critical`` (contours with the points marked
    by kind) and ``critical_3d`` (the points on the surface)."""
    from .point_sets import base_kind

    plain = [base_kind(k) for k in cp.kinds]  # a corner is drawn as its kind
    fig = contours(s, title=f"{s.label}: critical points")
    marked = []
    for kind, idx in _by_kind(plain).items():
        symbol, color, size = _KIND_STYLE.get(kind, ("circle", "#4b5563", 10))
        pts = cp.points[idx]
        fig["data"].append({"type": "scatter", "mode": "markers", "name": f"{kind} ({len(idx)})",
                            "x": values(pts[:, 0]), "y": values(pts[:, 1]),
                            "customdata": values(cp.values[idx]),
                            "hovertemplate": f"{kind}<br>%{{x:.6g}}, %{{y:.6g}}<br>"
                                             "f = %{customdata:.8g}<extra></extra>",
                            "marker": {"symbol": symbol, "size": size, "color": color,
                                       "line": {"color": "black", "width": 1}}})  # fmt: skip
        marked.append((kind, pts, cp.values[idx]))
    fig3 = surface(s, title=f"{s.label}: critical points on the surface", points=marked)
    return {"critical": fig, "critical_3d": fig3}


def multistart(m: Minima, title: str) -> dict[str, Spec]:
    """``gradscape multistart`` on a grid of starts: ``basins``, each start coloured by the
    minimum it reached (touching basins in different colours, as the PNG), the minima marked."""
    from .plot import basin_colors

    assert m.grid is not None
    ny, nx = m.grid[0], m.grid[1]
    xs, ys = m.starts[:nx, 0], m.starts[::nx, 1][:ny]
    lab = m.labels.reshape(ny, nx)
    k = m.points.shape[0]
    palette = ("#93c5fd", "#fca5a5", "#86efac", "#fcd34d", "#c4b5fd", "#67e8f9", "#f9a8d4",
               "#bef264", "#fdba74", "#a5b4fc")  # fmt: skip
    colors = basin_colors(lab, k, len(palette)) if k else np.zeros(0, np.int64)
    shade = np.where(lab >= 0, 2 + colors[np.maximum(lab, 0)] if k else 0,
                     np.where(lab == -2, 1, 0))  # fmt: skip
    steps = ["#d9d9d9", "#404040", *palette]
    n = len(steps)
    scale = []
    for i, c in enumerate(steps):  # a stepped colour scale: code i -> steps[i]
        scale += [[i / n, c], [(i + 1) / n, c]]
    text = np.where(lab >= 0, np.char.add("basin of minimum ", (lab + 1).astype(str)),
                    np.where(lab == -2, "converged outside the box", "did not converge"))  # fmt: skip
    data: list[dict[str, Any]] = [
        {"type": "heatmap", "x": values(xs), "y": values(ys), "z": values(shade),
         "zmin": -0.5, "zmax": n - 0.5, "colorscale": scale, "showscale": False,
         "text": text.tolist(), "name": "basins",
         "hovertemplate": "%{x:.4g}, %{y:.4g}<br>%{text}<extra></extra>"}
    ]  # fmt: skip
    if k:
        data.append({"type": "scatter", "mode": "markers",
                     "name": f"{k} minim{'um' if k == 1 else 'a'} in the box",
                     "x": values(m.points[:, 0]), "y": values(m.points[:, 1]),
                     "customdata": values(m.values),
                     "hovertemplate": "%{x:.6g}, %{y:.6g}<br>f = %{customdata:.8g}<extra></extra>",
                     "marker": {"size": 9, "color": "white", "line": {"color": "black", "width": 1.5}}})  # fmt: skip
        data.append({"type": "scatter", "mode": "markers",
                     "name": f"best: f = {m.values[0]:.6g}",
                     "x": values(m.points[:1, 0]), "y": values(m.points[:1, 1]),
                     "marker": {"symbol": "star", "size": 20, "color": BEST_COLOR,
                                "line": {"color": "black", "width": 1}}})  # fmt: skip
    lay = layout(title, height=640, xaxis=_axis(m.names[0], range=[float(xs[0]), float(xs[-1])]),
                 yaxis=_axis(m.names[1], range=[float(ys[0]), float(ys[-1])]))  # fmt: skip
    return {"basins": {"data": data, "layout": lay}}


def race(r: Race) -> dict[str, Spec]:
    """``gradscape race``: ``race``, the success rate per optimizer on the test starts (left)
    and on the tuning starts against the learning rate (right), the chosen rate ringed."""
    colors = _cycle(len(r.optimizers))
    data: list[dict[str, Any]] = [
        {"type": "bar", "orientation": "h", "name": "success (test starts)",
         "y": list(r.optimizers)[::-1], "x": values(np.asarray(r.success)[::-1]),
         "marker": {"color": colors[::-1]}, "showlegend": False, "xaxis": "x", "yaxis": "y"}
    ]  # fmt: skip
    for name, xs, ys, lr, color in zip(r.optimizers, r.lrs, r.tune_success, r.lr, colors,
                                       strict=True):  # fmt: skip
        if not xs:
            continue
        data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": values(xs),
                     "y": values(ys), "xaxis": "x2", "yaxis": "y2",
                     "line": {"color": color, "width": 2.5}, "marker": {"size": 7}})  # fmt: skip
        if lr is not None and lr in xs:
            data.append({"type": "scatter", "mode": "markers", "name": f"{name}: chosen",
                         "x": [lr], "y": values([ys[list(xs).index(lr)]]), "xaxis": "x2",
                         "yaxis": "y2", "showlegend": False,
                         "marker": {"size": 18, "color": "rgba(0,0,0,0)",
                                    "line": {"color": color, "width": 2.5}}})  # fmt: skip
    lay = layout("A fair race: same learning-rate budget, same starts", height=560,
                 xaxis=_axis("success rate (test starts)", range=[0, 1], domain=[0, 0.38]),
                 yaxis=_axis("", automargin=True),
                 xaxis2=_axis("learning rate", type="log", domain=[0.5, 1.0], anchor="y2",
                              exponentformat="e"),
                 margin={"l": 120, "r": 30, "t": 60, "b": 60},
                 yaxis2=_axis("success rate (tuning starts)", range=[-0.05, 1.05], anchor="x2"))  # fmt: skip
    return {"race": {"data": data, "layout": lay}}


def train(result: Training) -> dict[str, Spec]:
    """``gradscape train``: ``curves``, train and validation loss (left) and metric (right) per
    epoch, the best epoch marked."""
    epochs = np.arange(1, result.epochs_run + 1)
    data: list[dict[str, Any]] = []
    lay = layout(f"{result.config['dataset']}, {result.config['model']}: {result.stop_reason}",
                 grid={"rows": 1, "columns": 2, "pattern": "independent"})  # fmt: skip
    pairs = ((result.train_loss, result.val_loss, "loss"),
             (result.train_metric, result.val_metric, result.metric))  # fmt: skip
    for i, (tr, va, label) in enumerate(pairs):
        ax = "" if i == 0 else "2"
        for name, ys, color in (("train", tr, "#2563eb"), ("validation", va, "#d97706")):
            data.append({"type": "scatter", "mode": "lines", "name": name, "x": values(epochs),
                         "y": values(ys), "xaxis": f"x{ax}", "yaxis": f"y{ax}",
                         "legendgroup": name, "showlegend": i == 0,
                         "line": {"color": color, "width": 2.5}})  # fmt: skip
        b = result.best_epoch - 1
        data.append({"type": "scatter", "mode": "markers", "name": result.kept_label,
                     "x": [result.best_epoch], "y": values([va[b]]), "xaxis": f"x{ax}",
                     "yaxis": f"y{ax}", "legendgroup": "best", "showlegend": i == 0,
                     "marker": {"symbol": "star", "size": 16, "color": BEST_COLOR,
                                "line": {"color": "black", "width": 1}}})  # fmt: skip
        log = i == 0 and bool(np.all(result.train_loss > 0))
        lay[f"xaxis{ax}"] = _axis("epoch")
        lay[f"yaxis{ax}"] = _axis(label + (" (log scale)" if log else ""),
                                  **({"type": "log"} if log else {}))  # fmt: skip
    lay["shapes"] = [
        {"type": "line", "xref": f"x{ax}", "yref": f"y{ax} domain", "x0": result.best_epoch,
         "x1": result.best_epoch, "y0": 0, "y1": 1,
         "line": {"color": BEST_COLOR, "dash": "dash", "width": 2}}
        for ax in ("", "2")
    ]  # fmt: skip
    return {"curves": {"data": data, "layout": lay}}


def landscape(land: Landscape) -> dict[str, Spec]:
    """``gradscape landscape``: ``landscape`` (a line) or ``contours`` and ``surface`` (a
    plane, with the training trajectory where the directions come from it; none for a plane
    where the loss is finite nowhere: its text says so). Points where the loss is not finite
    are gaps."""
    from .sweep import Surface

    title = f"{land.label} on {land.description()}"
    if land.betas.size == 0:
        between = land.kind == "between"
        data: list[dict[str, Any]] = [
            {"type": "scatter", "mode": "lines", "name": land.label, "x": values(land.alphas),
             "y": values(land.values), "line": {"color": "#2563eb", "width": 3}},
            {"type": "scatter", "mode": "markers", "name": "this run", "x": [0.0],
             "y": values([land.center_loss]),
             "marker": {"size": 13, "color": BEST_COLOR, "line": {"color": "black", "width": 1}}},
        ]  # fmt: skip
        if between:
            data.append({"type": "scatter", "mode": "markers", "name": "the other run",
                         "x": [1.0], "y": values([land.end_loss]),
                         "marker": {"symbol": "square", "size": 12, "color": PATH_COLOR}})  # fmt: skip
        x = "t (0: this run, 1: the other)" if between else "alpha"
        return {"landscape": {"data": data, "layout": layout(
            title, xaxis=_axis(x), yaxis=_axis(land.label))}}  # fmt: skip
    if not np.isfinite(land.values).any():
        return {}
    s = Surface(x_name="alpha", y_name="beta", x=land.alphas, y=land.betas, values=land.values,
                fixed={}, label=f"{land.label} ({land.kind} plane)", block_rows=0)  # fmt: skip
    paths = [("training trajectory", land.path)] if land.path.size else []
    fig = contours(s, paths, [{"alpha": 0.0, "beta": 0.0}], marks_label="trained weights",
                   title=title)  # fmt: skip
    return {"contours": fig, "surface": surface(s, title=title)}


def spectrum(sp: Spectrum) -> dict[str, Spec]:
    """``gradscape spectrum``: ``eigenvalues`` (the largest and most negative Ritz values, and
    the exact ones where formed) and, when estimated, ``density`` (log scale)."""
    data: list[dict[str, Any]] = []
    for label, vals, color in (("top (Lanczos)", sp.top, PATH_COLOR),
                               ("bottom (Lanczos)", sp.bottom, "#2563eb")):  # fmt: skip
        if np.size(vals):
            data.append({"type": "scatter", "mode": "markers", "name": label,
                         "x": list(range(1, len(vals) + 1)), "y": values(vals),
                         "marker": {"size": 12, "color": color}})  # fmt: skip
    if np.size(sp.exact):
        ex = np.sort(sp.exact)
        data.append({"type": "scatter", "mode": "markers", "name": "exact: largest",
                     "x": list(range(1, min(len(sp.top), ex.size) + 1)),
                     "y": values(ex[::-1][: len(sp.top)]),
                     "marker": {"symbol": "circle-open", "size": 18, "color": "black"}})  # fmt: skip
        data.append({"type": "scatter", "mode": "markers", "name": "exact: smallest",
                     "x": list(range(1, min(len(sp.bottom), ex.size) + 1)),
                     "y": values(ex[: len(sp.bottom)]),
                     "marker": {"symbol": "diamond-open", "size": 18, "color": "black"}})  # fmt: skip
    figs = {"eigenvalues": {"data": data, "layout": layout(
        f"Hessian eigenvalues of the {sp.label} ({sp.n:,} weights)",
        xaxis=_axis("rank (1: the most extreme)", dtick=1), yaxis=_axis("eigenvalue"))}}  # fmt: skip
    if np.size(sp.density):
        dens = {"type": "scatter", "mode": "lines", "name": "spectral density",
                "x": values(sp.density_grid), "y": values(np.maximum(sp.density, 1e-12)),
                "line": {"color": "#2563eb", "width": 3}}  # fmt: skip
        figs["density"] = {"data": [dens], "layout": layout(
            f"Hessian spectral density of the {sp.label} ({sp.n:,} weights)",
            xaxis=_axis("eigenvalue"), yaxis=_axis("density (log scale)", type="log"))}  # fmt: skip
    return figs


def derive(d: Derivation) -> dict[str, Spec]:
    """``gradscape derive`` at a point: ``gradient`` (each partial derivative by automatic
    differentiation beside its finite-difference check) and ``hessian`` (a heat map, where
    formed). Nothing without a point."""
    figs: dict[str, Spec] = {}
    names = list(d.variables)
    if d.fd_gradient is not None and d.point:
        bars = []
        for label, g, color in (("automatic differentiation", d.gradient, "#2563eb"),
                                ("finite differences", d.fd_gradient, "#d97706")):  # fmt: skip
            if g is not None:
                bars.append({"type": "bar", "name": label, "x": names, "y": values(g),
                             "marker": {"color": color}})  # fmt: skip
        at = ", ".join(f"{k} = {v:.4g}" for k, v in list(d.point.items())[:4])
        figs["gradient"] = {"data": bars, "layout": layout(
            f"∇{_name(d.label)} at {at}{', …' if len(d.point) > 4 else ''}", barmode="group",
            xaxis=_axis("variable"), yaxis=_axis("partial derivative"))}  # fmt: skip
    if d.hessian is not None:
        h = np.asarray(d.hessian, np.float64)
        big = float(np.nanmax(np.abs(np.where(np.isfinite(h), h, np.nan)))) if h.size else 0.0
        figs["hessian"] = {"data": [
            {"type": "heatmap", "x": names, "y": names, "z": values(h), "colorscale": "RdBu_r",
             "zmid": 0, "zmin": -big or None, "zmax": big or None,
             "hovertemplate": "∂²f/∂%{y}∂%{x} = %{z:.6g}<extra></extra>",
             "colorbar": {"title": {"text": "second derivative"}}}
        ], "layout": layout("Hessian: the second partial derivatives",
                            xaxis=_axis("", side="top"),
                            yaxis=_axis("", autorange="reversed"))}  # fmt: skip
    return figs


# -- fit ----------------------------------------------------------------------------------------
_CONF_FILL = "rgba(37,99,235,0.30)"
_PRED_FILL = "rgba(147,197,253,0.40)"


def _band(
    x: np.ndarray, lo: np.ndarray, hi: np.ndarray, name: str, fill: str
) -> list[dict[str, Any]]:
    """A band between ``lo`` and ``hi`` as two traces (plotly fills to the previous one)."""
    return [
        {"type": "scatter", "mode": "lines", "x": values(x), "y": values(lo), "name": name,
         "line": {"width": 0, "color": fill}, "showlegend": False, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "x": values(x), "y": values(hi), "name": name,
         "line": {"width": 0, "color": fill}, "fill": "tonexty", "fillcolor": fill,
         "hoverinfo": "skip"},
    ]  # fmt: skip


def fit_curve(fit: Any) -> Spec:
    """The data, the fitted curve and its confidence and prediction bands (one input)."""
    x, f = np.asarray(fit.band_x[:, 0], np.float64), np.asarray(fit.band_fit, np.float64)
    conf, pred = np.asarray(fit.band_conf), np.asarray(fit.band_pred)
    level = f"{fit.level:.0%}"
    missing, no_pred = fit.no_confidence_band(), fit.no_prediction_band()
    bands = [] if missing else [
        *([] if no_pred else _band(x, f - pred, f + pred, f"{level} prediction band", _PRED_FILL)),
        *_band(x, f - conf, f + conf, f"{level} confidence band", _CONF_FILL),
    ]  # fmt: skip
    data = [
        *bands,
        {"type": "scatter", "mode": "lines", "name": "fitted curve", "x": values(x),
         "y": values(f), "line": {"color": PATH_COLOR, "width": 3},
         "customdata": values(np.stack([conf, pred], axis=1)),
         "hovertemplate": f"{fit.inputs[0]} = %{{x:.6g}}<br>fitted = %{{y:.8g}}<br>± %{{customdata[0]:.3g}}"
                          " (curve), ± %{customdata[1]:.3g} (new point)<extra></extra>"},
        {"type": "scatter", "mode": "markers", "name": "data", "x": values(fit.X[:, 0]),
         "y": values(fit.y), "customdata": values(fit.residuals),
         "hovertemplate": f"{fit.inputs[0]} = %{{x:.6g}}<br>{fit.response} = %{{y:.8g}}"
                          "<br>residual %{customdata:.4g}<extra></extra>",
         "marker": {"size": 8, "color": "white", "line": {"color": "black", "width": 1.5}}},
    ]  # fmt: skip
    title = f"{fit.model}: {fit.n} rows, SSE = {fit.sse:.6g}"
    if note := fit.bands_note(" (zoom in)"):
        title += f"<br><sub>{note}</sub>"
    lay = layout(title,
                 xaxis=_axis(fit.inputs[0]), yaxis=_axis(fit.response))  # fmt: skip
    return {"data": data, "layout": lay}


def fit_observed(fit: Any) -> Spec:
    """Observed against fitted (several inputs), with the diagonal of a perfect fit."""
    lo = float(min(fit.y.min(), fit.fitted.min()))
    hi = float(max(fit.y.max(), fit.fitted.max()))
    data = [
        {"type": "scatter", "mode": "lines", "name": "observed = fitted", "x": [lo, hi],
         "y": [lo, hi], "line": {"color": "#6b7280", "dash": "dash", "width": 1.5}},
        {"type": "scatter", "mode": "markers", "name": "rows", "x": values(fit.fitted),
         "y": values(fit.y),
         "error_x": {"type": "data", "array": values(fit.band_conf), "color": "#2563eb",
                     "thickness": 1},
         "hovertemplate": "fitted %{x:.8g}<br>observed %{y:.8g}<extra></extra>",
         "marker": {"size": 8, "color": "white", "line": {"color": "black", "width": 1.5}}},
    ]  # fmt: skip
    lay = layout(f"{fit.model}: observed against fitted (R² = {fit.r2:.6g})",
                 xaxis=_axis(f"fitted {fit.response}"), yaxis=_axis(f"observed {fit.response}"))  # fmt: skip
    return {"data": data, "layout": lay}


def fit_residuals(fit: Any) -> Spec:
    """Residuals against the fitted values and each input, one panel each (side by side)."""
    from .plot import FIT_RESIDUAL_PANELS

    against = [(f"fitted {fit.response}", fit.fitted)]
    against += [(name, fit.X[:, i]) for i, name in enumerate(fit.inputs)]
    against = against[:FIT_RESIDUAL_PANELS]
    k = len(against)
    gap = 0.06
    width = (1 - gap * (k - 1)) / k
    data: list[dict[str, Any]] = []
    lay = layout(f"Residuals of {fit.model} (s = {fit.s:.4g})", showlegend=False)
    for i, (name, v) in enumerate(against):
        suffix = "" if i == 0 else str(i + 1)
        data.append({"type": "scatter", "mode": "markers", "name": name, "x": values(v),
                     "y": values(fit.residuals), "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                     "hovertemplate": f"{name} = %{{x:.6g}}<br>residual %{{y:.4g}}<extra></extra>",
                     "marker": {"size": 7, "color": "#2563eb"}})  # fmt: skip
        start = i * (width + gap)
        lay[f"xaxis{suffix}"] = _axis(name, domain=[start, start + width], anchor=f"y{suffix}")
        lay[f"yaxis{suffix}"] = _axis("residual" if i == 0 else "", anchor=f"x{suffix}",
                                      zeroline=True, zerolinecolor="#6b7280",
                                      **({"matches": "y"} if i else {}))  # fmt: skip
    return {"data": data, "layout": lay}


def fit_profiles(fit: Any) -> Spec:
    """The SSE along each parameter with the others re-optimised, one panel each in a grid,
    the threshold, the profile and Wald intervals and the estimate marked."""
    p = len(fit.parameters)
    cols = min(p, 3)
    rows = (p + cols - 1) // cols
    gx, gy = 0.08, 0.12
    w, h = (1 - gx * (cols - 1)) / cols, (1 - gy * (rows - 1)) / rows
    threshold = float(fit.sse * (1 + fit.t**2 / max(fit.dof, 1)))
    data: list[dict[str, Any]] = []
    lay = layout(f"SSE profiles and {fit.level:.0%} intervals", height=max(420, 340 * rows + 120))
    notes: list[dict[str, Any]] = []
    for j, name in enumerate(fit.parameters):
        s = "" if j == 0 else str(j + 1)
        r, c = divmod(j, cols)
        first = j == 0
        v, sse = np.asarray(fit.profile_values[j]), np.asarray(fit.profile_sse[j])
        ok = np.isfinite(v) & np.isfinite(sse)
        ax = {"xaxis": f"x{s}", "yaxis": f"y{s}"}
        data.append({"type": "scatter", "mode": "lines+markers", "name": "profile SSE",
                     "x": values(v[ok]), "y": values(sse[ok]), "legendgroup": "profile",
                     "showlegend": first, "line": {"color": "#2563eb", "width": 2.5},
                     "marker": {"size": 4}, **ax,
                     "hovertemplate": f"{name} = %{{x:.8g}}<br>SSE %{{y:.8g}}<extra></extra>"})  # fmt: skip
        lo_x = float(np.nanmin(v[ok])) if ok.any() else float(fit.estimates[j])
        hi_x = float(np.nanmax(v[ok])) if ok.any() else float(fit.estimates[j])
        data.append({"type": "scatter", "mode": "lines", "name": "threshold SSE·(1 + t²/dof)",
                     "x": [lo_x, hi_x], "y": [threshold, threshold], "legendgroup": "threshold",
                     "showlegend": first, "line": {"color": "#374151", "dash": "dot"}, **ax})  # fmt: skip
        top = float(np.nanmax(sse[ok])) if ok.any() else threshold
        for label, ends, style in (
            ("profile interval", (fit.profile_lower[j], fit.profile_upper[j]), {"color": PATH_COLOR}),
            ("Wald interval", (fit.wald_lower[j], fit.wald_upper[j]), {"color": "#d97706", "dash": "dash"}),
        ):  # fmt: skip
            xs: list[Any] = []
            ys: list[Any] = []
            for end in ends:
                if np.isfinite(end):
                    xs += [float(end), float(end), None]
                    ys += [float(fit.sse), top, None]
            data.append({"type": "scatter", "mode": "lines", "name": label, "x": xs, "y": ys,
                         "legendgroup": label, "showlegend": first, "line": {**style, "width": 2},
                         **ax})  # fmt: skip
        data.append({"type": "scatter", "mode": "markers", "name": "estimate",
                     "x": [float(fit.estimates[j])], "y": [float(fit.sse)],
                     "legendgroup": "estimate", "showlegend": first, **ax,
                     "marker": {"symbol": "star", "size": 16, "color": BEST_COLOR,
                                "line": {"color": "black", "width": 1}}})  # fmt: skip
        x0, y1 = c * (w + gx), 1 - r * (h + gy)
        if j < len(fit.profile_notes) and fit.profile_notes[j]:
            from .plot import _note_side
            from .story import open_sides

            nx, anchor = _note_side(fit.profile_notes[j])
            notes.append({"text": open_sides(fit.profile_notes[j]).replace(" (", "<br>("),
                          "xref": f"x{s} domain", "yref": f"y{s} domain", "x": nx, "y": 1.0,
                          "xanchor": anchor, "yanchor": "top", "showarrow": False,
                          "font": {"size": 12, "color": PATH_COLOR}, "bgcolor": "white",
                          "bordercolor": PATH_COLOR, "borderwidth": 1})  # fmt: skip
        lay[f"xaxis{s}"] = _axis(name, domain=[x0, x0 + w], anchor=f"y{s}", exponentformat="e")
        lay[f"yaxis{s}"] = _axis("SSE" if c == 0 else "", domain=[y1 - h, y1], anchor=f"x{s}")
    if notes:
        lay["annotations"] = notes
    # below the lowest row's axis titles
    lay["legend"] = {**lay["legend"], "y": -0.3 / rows, "yanchor": "top"}
    lay["margin"] = {**lay["margin"], "b": 110}
    return {"data": data, "layout": lay}


def fit_pair(fit: Any, s: Surface) -> Spec:
    """The SSE over two parameters (others at their estimates) with the solver's path."""
    i, j = fit.parameters.index(s.x_name), fit.parameters.index(s.y_name)
    best = {s.x_name: float(fit.estimates[i]), s.y_name: float(fit.estimates[j])}
    title = f"SSE over {s.x_name} and {s.y_name} with the solver's path"
    if s.fixed:
        title += ", the others held at their estimates"
    spec = contours(s, [("solver's path", np.asarray(fit.path)[:, [i, j]])], [best],
                    marks_label="estimate", title=title)  # fmt: skip
    for axis in ("xaxis", "yaxis"):  # 5e-4, not plotly's 500µ
        spec["layout"][axis]["exponentformat"] = "e"
    return spec


def fit(f: Any, s: Surface | None = None) -> dict[str, Spec]:
    """``gradscape fit``: the curve and its bands (one input) or observed against fitted, the
    residuals, the profiles (when the fit has them) and the SSE over the pair ``s``."""
    out = {"curve": fit_curve(f)} if len(f.inputs) == 1 else {"observed": fit_observed(f)}
    out["residuals"] = fit_residuals(f)
    if len(f.profile_lower) == len(f.parameters) and f.profile_values.size:
        out["profiles"] = fit_profiles(f)
    if s is not None:
        out["pair"] = fit_pair(f, s)
    return out
