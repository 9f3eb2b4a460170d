"""Critical points and multistart against published truth."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape import plot
from gradscape.cli import main
from gradscape.critical import OUTSIDE, CriticalPoints, Minima, critical_points, multistart

BOX = {"x": (-2.0, 2.0), "y": (-2.0, 2.0)}


def test_saddle_has_one_critical_point_of_index_one() -> None:
    cp = critical_points(gs.objective("x^2 - y^2"), BOX, starts=400)
    assert cp.kinds == ("saddle",) and cp.indices == (1,)
    np.testing.assert_allclose(cp.points, [[0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(cp.eigenvalues, [[-2.0, 2.0]], rtol=1e-12)


def test_double_well() -> None:
    cp = critical_points(gs.objective("x^4 - 2*x^2 + y^2"), BOX, starts=400)
    assert cp.kinds == ("minimum", "minimum", "saddle")
    np.testing.assert_allclose(cp.values, [-1.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(cp.points, [[-1, 0], [1, 0], [0, 0]], atol=1e-10)
    np.testing.assert_allclose(cp.eigenvalues[2], [-4.0, 2.0], rtol=1e-10)


def test_himmelblau_critical_points_and_degenerate_monkey_saddle() -> None:
    cp = critical_points(gs.objective("himmelblau"), starts=900)
    assert cp.kinds.count("minimum") == 4 and cp.kinds.count("saddle") == 4
    assert cp.kinds.count("maximum") == 1
    (top,) = cp.points[np.array(cp.kinds) == "maximum"]
    np.testing.assert_allclose(top, [-0.270845, -0.923039], atol=1e-6)  # published local maximum
    cp = critical_points(gs.objective("monkey_saddle"), starts=400)
    assert cp.kinds == ("degenerate",) and np.abs(cp.points).max() < 1e-8


def test_multistart_finds_all_four_himmelblau_minima(tmp_path: Path) -> None:
    m = multistart(gs.objective("himmelblau"), starts=900)
    assert len(m.points) == 4 and m.kinds == ("minimum",) * 4
    published = np.array(gs.functions.himmelblau.minima)
    for p in m.points:
        assert np.min(np.linalg.norm(published - p, axis=1)) < 1e-8
    np.testing.assert_allclose(m.values, 0.0, atol=1e-20)
    assert m.counts.sum() + sum(m.failed().values()) == 900 == m.labels.size
    assert np.all(m.counts > 100)  # every basin is large
    back = Minima.load(m.save(tmp_path / "m"))
    np.testing.assert_array_equal(back.labels, m.labels)
    assert back.grid == (30, 30)


def test_multistart_six_hump_camel_two_global_minima() -> None:
    m = multistart(gs.objective("six_hump_camel"), starts=2500)
    assert m.values[:2] == pytest.approx([-1.0316, -1.0316], abs=1e-4)
    np.testing.assert_allclose(
        sorted(m.points[:2].tolist()), [[-0.0898, 0.7126], [0.0898, -0.7126]], atol=1e-4
    )
    assert m.values[2] > m.values[1] + 0.5


@pytest.mark.parametrize("method", ["newton", "gd"])
def test_multistart_rastrigin_global_minimum(method: str) -> None:
    m = multistart(gs.objective("rastrigin"), starts=2500, method=method)
    np.testing.assert_allclose(m.points[0], [0.0, 0.0], atol=1e-8)
    assert m.values[0] == pytest.approx(0.0, abs=1e-12)
    assert len(m.points) > 100 and not m.failed()


def test_multistart_in_three_dimensions_uses_seeded_random_starts() -> None:
    obj = gs.objective("styblinski_tang:3")
    a = multistart(obj, starts=500, seed=1)
    b = multistart(obj, starts=500, seed=1)
    np.testing.assert_array_equal(a.starts, b.starts)
    assert a.grid is None and len(a.points) == 8  # 2^3 corners
    assert a.values[0] == pytest.approx(-39.16616570377142 * 3, rel=1e-12)


def test_unbounded_function_fails_clearly() -> None:
    m = multistart(gs.objective("x^2 - y^2"), BOX, starts=100, method="gd", lr=0.1)
    assert len(m.points) <= 1 and m.failed().get("left_bounds", 0) >= 90


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(ranges={"x": (1, -1), "y": (0, 1)}), "low < high"),
        (dict(ranges={"x": (0, 1)}), "Give a range for every variable of f(x, y); missing y"),
        (dict(ranges={"x": (0, 1), "y": (0, 1), "z": (0, 1)}), "z is not a variable"),
        (dict(ranges=BOX, starts=0), "number of starts must be a whole number >= 1"),
        (dict(ranges=BOX, starts=10**9), "At most 10,000,000 starts"),
        (dict(ranges=BOX, method="nope"), "Unknown optimizer 'nope'"),
        (dict(ranges=BOX, lr=0.0), "learning rate must be a number > 0"),
    ],
)
def test_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(gs.InputError, match=re.escape(message)):
        multistart(gs.objective("x*y"), **kwargs)


def test_cli_critical_and_multistart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["critical", "x^2 - y^2", "--range", "x=-1:1", "--range", "y=-1:1", "--starts",
                 "100", "--json", "--out", str(tmp_path / "c")]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    (p,) = out["points"]
    assert p["kind"] == "saddle" and p["point"] == pytest.approx({"x": 0, "y": 0}, abs=1e-12)
    assert p["eigenvalues"] == pytest.approx([-2, 2])
    assert CriticalPoints.load(tmp_path / "c" / "critical.npz").kinds == ("saddle",)
    assert (tmp_path / "c" / "critical.png").stat().st_size > 0
    assert (tmp_path / "c" / "critical_3d.png").stat().st_size > 0

    assert main(["multistart", "himmelblau", "--starts", "400", "--json", "--out",
                 str(tmp_path / "m")]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert len(out["minima"]) == 4 and out["best"]["value"] == pytest.approx(0, abs=1e-20)
    assert sum(m["count"] for m in out["minima"]) == 400 and out["failed_total"] == 0
    assert {"point", "value", "kind", "count"} <= set(out["best"])
    assert (tmp_path / "m" / "basins.png").stat().st_size > 0

    assert main(["multistart", "x*y", "--out", str(tmp_path / "e")]) == 2
    assert "Give the box" in capsys.readouterr().err


def test_single_precision_search_finds_the_same_minima() -> None:
    obj = gs.objective("himmelblau")
    a = multistart(obj, starts=400, method="adam", lr=0.05, max_steps=3000)
    b = multistart(obj, starts=400, method="adam", lr=0.05, max_steps=3000, precision="float32")
    assert len(b.points) == 4 and np.max(b.values) < 1e-20  # polished in float64
    np.testing.assert_allclose(np.sort(b.points, axis=0), np.sort(a.points, axis=0), atol=1e-8)
    reached_a = a.points[a.labels]  # where each start ended
    reached_b = b.points[b.labels]
    same = np.all(np.abs(reached_a - reached_b) < 1e-6, axis=1)
    assert np.mean(same) > 0.98  # basins agree up to ties at their borders


# -- the box: what is listed lies in it; what went outside is counted -----------------------------
def test_multistart_lists_only_the_minima_in_the_box() -> None:
    m = multistart(gs.objective("rastrigin"), starts=10000)
    assert np.all((m.points >= m.lo) & (m.points <= m.hi))
    # Rastrigin has a local minimum near every integer point: 11 × 11 of them in [-5.12, 5.12]²
    assert len(m.points) == 121 and np.abs(m.points - np.round(m.points)).max() < 0.03
    away = m.outside_points
    assert m.outside > 0 and np.all(np.any((away < m.lo) | (away > m.hi), axis=1))
    assert m.outside_counts.sum() == m.outside == np.sum(m.labels == OUTSIDE)
    assert m.counts.sum() + m.outside + sum(m.failed().values()) == m.labels.size
    s = m.summary()
    assert s["outside_box"]["starts"] == m.outside and len(s["outside_box"]["points"]) == len(away)


def test_critical_points_outside_the_box_are_counted_not_listed() -> None:
    cp = critical_points(gs.objective("sin(x)*sin(y)"), {"x": (0.5, 7), "y": (0.5, 7)}, starts=900)
    # cos x sin y = sin x cos y = 0: extrema at (π/2 + kπ, π/2 + jπ), saddles at (kπ, jπ)
    h, p = np.pi / 2, np.pi
    extrema = [(a, b) for a in (h, 3 * h) for b in (h, 3 * h)]
    saddles = [(a, b) for a in (p, 2 * p) for b in (p, 2 * p)]
    assert len(cp.points) == 8 and cp.kinds.count("saddle") == 4
    for q, kind in zip(cp.points, cp.kinds, strict=True):
        truth = saddles if kind == "saddle" else extrema
        assert np.min(np.abs(np.array(truth) - q).max(axis=1)) < 1e-9
    away = cp.outside_points
    assert cp.outside > 0 and len(away) > 0
    assert np.all(np.any((away < 0.5) | (away > 7), axis=1))
    assert cp.summary()["outside_box"]["starts"] == cp.outside


@pytest.mark.parametrize("search", [multistart, critical_points])
def test_a_box_whose_width_overflows_is_named(search: Any) -> None:
    with pytest.raises(
        gs.InputError, match=r"Range of x is too wide: its width .* overflows float64"
    ):
        search(gs.objective("x^2"), {"x": (-1e308, 1e308)}, starts=10)
    with pytest.raises(gs.InputError, match=r"the margin of one width around it.* overflows"):
        search(gs.objective("x^2"), {"x": (0.0, 1e308)}, starts=10)


def test_cli_names_a_box_too_wide(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["multistart", "x^2", "--range", "x=-1e308:1e308", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "Range of x is too wide: its width" in err[0]
        and "overflows float64" in err[0]
    )


def test_critical_refuses_more_variables_than_newton_can_afford() -> None:
    with pytest.raises(gs.InputError, match=r"forms the 501 × 501 Hessian .* capped at 500"):
        critical_points(gs.objective("sphere:501"), starts=2)


def test_cli_counts_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["critical", "x^2 - y^2", "--range", "x=-1:1", "--range", "y=-1:1", "--starts", "100"]
    assert main([*argv, "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "1 critical point in the box from 100 starts: 1 saddle" in out
    assert main(["multistart", "rastrigin", "--starts", "10000", "--out", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "121 distinct minima in the box" in out
    assert re.search(r"ended outside the box: \d+ starts?, at \d+ points? beyond it", out)
    assert "e-2" not in out.split("best:")[1].splitlines()[0]  # rounding dust printed as 0


# -- figures ----------------------------------------------------------------------------------------
def test_touching_basins_have_different_colours() -> None:
    from matplotlib.collections import QuadMesh

    m = multistart(gs.objective("rastrigin"), starts=2500)
    fig = plot.basin_map(m.starts, m.grid, m.labels, m.points, m.values, m.names, "basins")
    mesh = next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))
    rgba = mesh.to_rgba(np.asarray(mesh.get_array())).reshape(*m.grid, 4)
    lab = m.labels.reshape(m.grid)
    for (la, ca), (lb, cb) in (
        ((lab[:, :-1], rgba[:, :-1]), (lab[:, 1:], rgba[:, 1:])),
        ((lab[:-1], rgba[:-1]), (lab[1:], rgba[1:])),
    ):
        touching = (la >= 0) & (lb >= 0) & (la != lb)
        assert touching.any() and not np.any(np.all(ca == cb, axis=-1) & touching)


def test_critical_points_are_drawn_over_the_surface() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgb
    from mpl_toolkits.mplot3d import proj3d

    from gradscape.sweep import surface

    obj = gs.objective("himmelblau")
    cp = critical_points(obj, starts=400)
    s = surface(obj, "x", "y", x_range=(-5, 5), y_range=(-5, 5), points=61)
    fig = plot.critical_3d(s, cp.points, cp.values, cp.kinds)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3] / 255
    ax = fig.axes[0]
    for (x, y), v, kind in zip(cp.points, cp.values, cp.kinds, strict=True):
        if kind != "minimum":
            continue
        u, w, _ = proj3d.proj_transform(x, y, v, ax.get_proj())
        col, row = ax.transData.transform((u, w))
        seen = pixels[pixels.shape[0] - round(row), round(col)]
        assert np.abs(seen - to_rgb(plot.BEST_COLOR)).max() < 0.08, (x, y, seen)


@pytest.mark.parametrize("verb", ["multistart", "critical"])
def test_cli_refuses_newton_on_10000_variables_at_once(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    began = time.monotonic()
    assert main([verb, "rosenbrock:10000", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "10,000 × 10,000 Hessian" in err[0] and "capped at 500" in err[0]
    assert time.monotonic() - began < 10  # before building a 10,000-variable objective


def test_critical_points_refuse_work_past_the_time_cap() -> None:
    began = time.monotonic()
    with pytest.raises(gs.InputError, match=r"would take about .* the cap is 0.5 s \(time_limit"):
        critical_points(gs.objective("rastrigin"), starts=1_000_000, time_limit=0.5)
    assert time.monotonic() - began < 20
