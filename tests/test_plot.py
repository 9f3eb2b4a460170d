"""Figures: every legend key can be seen on its legend, the gradient's arrows are keyed by an arrow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape import plot

#: Least difference in grey level (0 to 1) between a key's drawn colour and the legend's ground.
CONTRAST = 0.3


def _grey(color: Any) -> tuple[float, float]:
    """(grey level, alpha) of a matplotlib colour."""
    import matplotlib.colors as mcolors

    r, g, b, a = mcolors.to_rgba(color)
    return 0.299 * r + 0.587 * g + 0.114 * b, a


def _drawn_colors(key: Any) -> list[Any]:
    """The colours a legend key puts on its legend: faces, edges with a width, lines."""
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if isinstance(key, Line2D):
        out = [key.get_color()] if key.get_linestyle() not in ("None", "", " ") else []
        if key.get_marker() not in (None, "None", "", " "):
            out += [key.get_markerfacecolor(), key.get_markeredgecolor()]
        return out
    if isinstance(key, Patch):
        return [key.get_facecolor()] + ([key.get_edgecolor()] if key.get_linewidth() > 0 else [])
    if isinstance(key, Collection):
        widths = key.get_linewidths()
        edges = list(key.get_edgecolor()) if len(widths) and max(widths) > 0 else []
        return [*key.get_facecolor(), *edges]
    raise AssertionError(f"unexpected legend key {type(key).__name__}")


def assert_keys_visible(fig: Any) -> list[str]:
    """Every key of every legend of ``fig`` shows a colour that stands out from the legend's
    ground; returns the labels checked."""
    fig.canvas.draw()  # legends (and 3-D scatter colours) are final once drawn
    labels = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        ground, _ = _grey(legend.get_frame().get_facecolor())
        for key, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            shades = [_grey(c) for c in _drawn_colors(key)]
            best = max((abs(g - ground) for g, a in shades if a > 0.3), default=0.0)
            assert best >= CONTRAST, f"legend key {text.get_text()!r} is invisible ({shades})"
            labels.append(text.get_text())
    return labels


@pytest.fixture(scope="module")
def himmelblau_surface() -> Any:
    obj = gs.objective("himmelblau")
    return gs.surface(obj, "x", "y", x_range=(-5, 5), y_range=(-5, 5), points=41, gradient=True)


def test_the_gradient_field_is_keyed_by_a_visible_arrow(himmelblau_surface: Any) -> None:
    # issue 9, item 23: the "∇f" key was a white box on the legend, invisible
    from matplotlib.patches import FancyArrow

    points = np.array([[3.0, 2.0], [-0.270845, -0.923039], [0.086677, 2.884255]])
    kinds = ["minimum", "maximum", "saddle"]
    for fig in (plot.critical_map(himmelblau_surface, points, kinds),
                plot.contours(himmelblau_surface, arrows=True)):  # fmt: skip
        labels = assert_keys_visible(fig)
        legend = fig.axes[0].get_legend()
        arrow = [k for k, t in zip(legend.legend_handles, legend.get_texts(), strict=True)
                 if "∇f" in t.get_text()]  # fmt: skip
        assert len(arrow) == 1 and isinstance(arrow[0], FancyArrow), labels


def test_every_legend_key_is_visible(himmelblau_surface: Any, tmp_path: Path) -> None:
    s = himmelblau_surface
    path = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 2.0]])
    # a basin map with starts that did not converge (light grey) and that left the box
    ny = nx = 6
    xs, ys = np.meshgrid(np.linspace(-5, 5, nx), np.linspace(-5, 5, ny))
    starts = np.column_stack([xs.ravel(), ys.ravel()])
    labels = np.zeros(nx * ny, dtype=np.int64)
    labels[:5], labels[5:9], labels[20:] = -1, -2, 1
    figures = {
        "critical_3d": plot.critical_3d(s, np.array([[3.0, 2.0]]), np.array([0.0]), ["minimum"]),
        "descend_contours": plot.descend_contours(s, [("gd", path), ("adam", path[::-1])], []),
        "basin_map": plot.basin_map(
            starts,
            (ny, nx),
            labels,
            np.array([[3.0, 2.0], [-3, 3]]),
            np.array([0.0, 0.1]),
            ("x", "y"),
            "basins",
        ),
        "value_curves": plot.value_curves([("gd", np.geomspace(1, 1e-9, 20))], floor=0.0),
        "race_chart": plot.race_chart(
            ["gd", "adam"],
            [[0.1, 1.0], [0.01, 0.1]],
            [[0.5, 1.0], [0.0, 0.5]],
            np.array([1.0, 0.5]),
            [1.0, 0.1],
        ),
    }
    seen = {name: assert_keys_visible(fig) for name, fig in figures.items()}
    assert any("did not converge (5 starts)" in t for t in seen["basin_map"])
    assert any("2 minima in the box" in t for t in seen["basin_map"])
