"""report.html of every verb with --out: self-contained (plotly.js inlined once, no remote
script), interactive figures whose arrays are the result's arrays, user text escaped; and the
file opens and draws in a browser with no network."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape import figures, report
from gradscape.cli import main

_FIGURE = re.compile(
    r"<script type='application/json' class='gs-figure' data-target='[^']+'>(.*?)</script>", re.S
)


def figures_of(html: str) -> list[dict[str, Any]]:
    """The figures' JSON in a report, parsed."""
    return [json.loads(text) for text in _FIGURE.findall(html)]


def read_report(folder: Path) -> tuple[str, list[dict[str, Any]]]:
    """The report of ``folder``, checked self-contained; its text and its figures."""
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\ssrc\s*=", html, re.I)  # no remote (or any) script file
    assert not re.search(r"<link[^>]*href\s*=\s*['\"]?https?:", html, re.I)
    assert f'content="{report.CSP}"' in html and "default-src 'none'" in report.CSP
    head = report.plotly_js()[:200]
    assert html.count(head) == 1  # plotly.js inlined once
    figs = figures_of(html)
    assert figs and all(isinstance(f["data"], list) and f["layout"] for f in figs)
    return html, figs


def trace(fig: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in fig["data"] if t.get("name") == name)


def titled(figs: list[dict[str, Any]], words: str) -> dict[str, Any]:
    return next(f for f in figs if words in f["layout"]["title"]["text"])


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main([*argv, "--json"]) in (0, 1)
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


def test_tour_report_draws_the_saved_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = run(["tour", "--out", str(tmp_path)], capsys)
    assert "report.html" in summary["files"] and "contours.png" in summary["files"]
    assert (tmp_path / "contours.png").read_bytes()[:4] == b"\x89PNG"  # the PNGs stay
    html, figs = read_report(tmp_path)
    assert len(figs) == 5
    traj = gs.Trajectory.load(tmp_path / "trajectory.npz")
    surf = gs.Surface.load(tmp_path / "surface.npz")
    contours = titled(figs, "contours and the descent path")
    path = trace(contours, "gradient descent")
    np.testing.assert_array_equal(path["x"], traj.params[:, traj.names.index("m")])
    np.testing.assert_array_equal(path["y"], traj.params[:, traj.names.index("c")])
    np.testing.assert_array_equal(contours["data"][0]["x"], surf.x)
    shown = contours["data"][0].get("customdata", contours["data"][0]["z"])  # log scale: f itself
    np.testing.assert_array_equal(shown, surf.values)
    star = trace(contours, "closed form")
    assert star["x"] == [pytest.approx(summary["closed_form"]["m"])]
    surface = titled(figs, "error surface")
    np.testing.assert_array_equal(surface["data"][0]["z"], surf.values)
    loss = titled(figs, "descent:")
    np.testing.assert_array_equal(loss["data"][0]["x"], traj.steps)
    assert "Files beside this report" in html and "href='trajectory.npz'" in html


def test_sweep_reports_curve_and_surface(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(["sweep", "x^3 - 3*x", "--range", "x=-3:3", "--points", "61", "--out",
               str(tmp_path / "a")], capsys)  # fmt: skip
    assert sorted(out["files"]) == ["curve.png", "report.html", "summary.json", "sweep.npz"]
    _, figs = read_report(tmp_path / "a")
    p = gs.Profile.load(tmp_path / "a" / "sweep.npz")
    (fig,) = figs
    np.testing.assert_array_equal(fig["data"][0]["x"], p.axis)
    np.testing.assert_array_equal(fig["data"][0]["y"], p.values)
    np.testing.assert_array_equal(fig["data"][1]["y"], p.derivative)
    assert sorted(trace(fig, "minimum (1)")["x"] + trace(fig, "maximum (1)")["x"]) == pytest.approx(
        [-1.0, 1.0]
    )
    run(["sweep", "himmelblau", "--points", "41", "--out", str(tmp_path / "b")], capsys)
    _, figs = read_report(tmp_path / "b")
    s = gs.Surface.load(tmp_path / "b" / "sweep.npz")
    assert [f["data"][0]["type"] for f in figs] == ["surface", "contour"]
    np.testing.assert_array_equal(figs[0]["data"][0]["z"], s.values)
    assert len(trace(figs[1], "global minimum")["x"]) == 4  # Himmelblau's four minima


def test_descend_report_paths_are_the_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(["descend", "himmelblau", "--from", "x=0,y=0", "--compare", "gd,adam", "--steps",
               "60", "--out", str(tmp_path)], capsys)  # fmt: skip
    assert "report.html" in out["files"] and "race.gif" in out["files"]
    _, figs = read_report(tmp_path)
    contours, values = titled(figs, "the paths"), titled(figs, "value per step")
    for name in ("gd", "adam"):
        r = gs.Run.load(tmp_path / f"run_{name}.npz")
        path = trace(contours, r.settings)
        np.testing.assert_array_equal(np.c_[path["x"], path["y"]], r.shown_path())
        curve = trace(values, r.settings)
        np.testing.assert_array_equal(curve["x"], r.steps)
        np.testing.assert_allclose(curve["y"], np.maximum(r.values, 4 * np.finfo(float).eps))


def test_critical_and_multistart_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(["critical", "x^2 - y^2", "--range", "x=-1:1", "--range", "y=-1:1", "--starts",
               "25", "--out", str(tmp_path / "c")], capsys)  # fmt: skip
    assert "report.html" in out["files"]
    _, figs = read_report(tmp_path / "c")
    saddle = trace(figs[0], "saddle (1)")
    assert saddle["x"] == [pytest.approx(0.0, abs=1e-9)]
    assert trace(figs[1], "saddle (1)")["z"] == [pytest.approx(0.0, abs=1e-9)]
    run(["multistart", "himmelblau", "--starts", "100", "--steps", "100", "--out",
         str(tmp_path / "m")], capsys)  # fmt: skip
    _, figs = read_report(tmp_path / "m")
    m = gs.Minima.load(tmp_path / "m" / "minima.npz")
    (basins,) = figs
    heat = basins["data"][0]
    assert heat["type"] == "heatmap" and np.shape(heat["z"]) == m.grid
    np.testing.assert_array_equal(heat["x"], m.starts[: m.grid[1], 0])
    minima = basins["data"][1]
    np.testing.assert_array_equal(np.c_[minima["x"], minima["y"]], m.points)


def test_race_and_derive_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["race", "x^2 + 10*y^2", "--range", "x=-1:1", "--range", "y=-1:1", "--optimizers",
         "gd,adam", "--starts", "3", "--budget", "2", "--steps", "50", "--out",
         str(tmp_path / "r")], capsys)  # fmt: skip
    _, (fig,) = read_report(tmp_path / "r")
    r = gs.Race.load(tmp_path / "r" / "race.npz")
    bars = fig["data"][0]
    assert bars["y"] == list(r.optimizers)[::-1]
    np.testing.assert_array_equal(bars["x"], np.asarray(r.success)[::-1])
    out = run(["derive", "x^2*y", "--at", "x=1,y=2", "--out", str(tmp_path / "d")], capsys)
    assert out["files"] == ["derivation.npz", "report.html", "summary.json"]
    _, figs = read_report(tmp_path / "d")
    grad = figs[0]["data"][0]
    assert grad["x"] == ["x", "y"] and grad["y"] == pytest.approx([4.0, 1.0])
    np.testing.assert_allclose(figs[1]["data"][0]["z"], [[4.0, 2.0], [2.0, 0.0]])


def test_train_landscape_spectrum_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "run"
    metrics = run(["train", "--data", "moons", "--model", "mlp:4", "--lr", "0.02", "--epochs",
                   "6", "--out", str(folder)], capsys)  # fmt: skip
    assert "report.html" in metrics["files"]
    _, (curves,) = read_report(folder)
    t = gs.Training.load(folder / "training.npz")
    np.testing.assert_array_equal(trace(curves, "validation")["y"], t.val_loss)
    best = trace(curves, f"best epoch {t.best_epoch}")
    assert best["x"] == [t.best_epoch]
    run(["landscape", str(folder), "--grid", "5", "--directions", "pca", "--out",
         str(tmp_path / "l")], capsys)  # fmt: skip
    _, figs = read_report(tmp_path / "l")
    land = gs.Landscape.load(tmp_path / "l" / "landscape.npz")
    np.testing.assert_array_equal(figs[1]["data"][0]["z"], land.values)
    path = trace(figs[0], "training trajectory")
    np.testing.assert_array_equal(np.c_[path["x"], path["y"]], land.path)
    run(["spectrum", str(folder), "--top", "2", "--bottom", "1", "--steps", "12", "--density",
         "--exact", "--out", str(tmp_path / "s")], capsys)  # fmt: skip
    _, figs = read_report(tmp_path / "s")
    sp = gs.Spectrum.load(tmp_path / "s" / "spectrum.npz")
    np.testing.assert_array_equal(trace(figs[0], "top (Lanczos)")["y"], sp.top)
    np.testing.assert_array_equal(figs[1]["data"][0]["x"], sp.density_grid)


def test_user_text_is_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = "</script><b>x"
    line = gs.synthetic_line()  # the built-in data: the tour's compiled programs are reused
    rows = "\n".join(f"{x!r},{y!r}" for x, y in zip(line.x.tolist(), line.y.tolist(), strict=True))
    data = tmp_path / "a<b>.csv"
    data.write_text(f"{evil},y\n{rows}\n", encoding="utf-8")
    run(["tour", "--data", str(data), "--out", str(tmp_path / "o")], capsys)
    html, figs = read_report(tmp_path / "o")
    assert "<b>" not in html.replace(report.plotly_js(), "")
    assert "&lt;/script&gt;&lt;b&gt;x" in html  # the story's text, shown as text
    data_fig = titled(figs, "points")
    assert data_fig["layout"]["xaxis"]["title"]["text"] == evil  # intact once parsed


def test_render_escapes_and_caps_nothing_silently() -> None:
    spec = {"data": [{"type": "scatter", "x": [1.0, float("nan")], "y": [np.inf, 2],
                      "name": "</script><script>alert(1)</script>"}],
            "layout": {"title": {"text": "<!-- & -->"}}}  # fmt: skip
    html = report.render("<i>t</i>", [("<h>", ["a < b & c"])], [report.Figure(spec, "<c>", "<h>")],
                         source="javascript:alert(1)")  # fmt: skip
    body = html.replace(report.plotly_js(), "")
    assert "<i>" not in body and "&lt;i&gt;t&lt;/i&gt;" in body and "a &lt; b &amp; c" in body
    assert "alert(1)</script>" not in body and "<!--" not in body
    assert "href='javascript" not in body and "Saved from javascript:alert(1)" in body
    (fig,) = figures_of(html)
    assert fig["data"][0]["name"] == "</script><script>alert(1)</script>"
    assert fig["data"][0]["x"] == [1.0, None] and fig["data"][0]["y"] == [None, 2]
    assert report.render("t", [("a", ["b"])]).count("<script") == 0  # no figure, no plotly.js


def test_long_paths_are_thinned_with_their_ends() -> None:
    keep = figures.thin(1_000_000)
    assert keep.size <= figures.MAX_TRACE_POINTS and keep[0] == 0 and keep[-1] == 999_999
    np.testing.assert_array_equal(figures.thin(5), np.arange(5))


def test_report_opens_offline_in_a_browser(
    browser: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import screenshot

    run(["sweep", "himmelblau", "--points", "31", "--out", str(tmp_path)], capsys)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    requests: list[str] = []

    def refuse(route: Any) -> None:
        requests.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(https?|wss?)://"), refuse)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((tmp_path / "report.html").as_uri())
    page.wait_for_selector("body[data-drawn='2']", timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 2
    assert page.locator(".js-plotly-plot .main-svg").count() >= 2  # plotly drew the svg layers
    assert page.evaluate("typeof Plotly") == "object"
    screenshot(page, "report-sweep")
    context.close()
    assert not errors and not requests


def test_gradient_arrows_point_uphill_and_stay_short() -> None:
    x, y = np.linspace(-2, 2, 37), np.linspace(-1, 1, 19)
    mx, my = np.meshgrid(x, y)
    s = gs.Surface(x_name="x", y_name="y", x=x, y=y, values=mx**2 + 4 * my**2, fixed={},
                   label="f(x, y)", block_rows=0, gradient=np.stack([2 * mx, 8 * my]))  # fmt: skip
    (arrows,) = figures.gradient_arrows(s)
    xs = np.array(arrows["x"], dtype=float).reshape(-1, 3)
    ys = np.array(arrows["y"], dtype=float).reshape(-1, 3)
    assert np.isnan(xs[:, 2]).all()  # a gap between arrows
    mid_x, mid_y = xs[:, :2].mean(axis=1), ys[:, :2].mean(axis=1)
    dx, dy = xs[:, 1] - xs[:, 0], ys[:, 1] - ys[:, 0]
    # along (2x, 8y), uphill: the cross product vanishes, the dot product is positive
    np.testing.assert_allclose(dx * 8 * mid_y - dy * 2 * mid_x, 0.0, atol=1e-12)
    assert np.all(dx * 2 * mid_x + dy * 8 * mid_y >= 0)
    assert np.all(np.abs(dx) <= 0.5 * 4 / 18 + 1e-12)  # at most half a coarse cell
    assert arrows["marker"]["size"][:3] == [0, 9, 0]  # the head at the end
