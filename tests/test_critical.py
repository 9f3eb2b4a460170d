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
from gradscape.box_search import OUTSIDE
from gradscape.cli import main
from gradscape.critical import CriticalPoints, critical_points
from gradscape.multistarts import Minima, multistart

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
        (
            dict(ranges=BOX, starts=0),
            "starts must be a whole number from 1 to 10,000,000 (MAX_STARTS); got 0.",
        ),
        (
            dict(ranges=BOX, starts=10**9),
            "starts must be a whole number from 1 to 10,000,000 (MAX_STARTS); got 1000000000.",
        ),
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


# -- minima where f is not differentiable (issue 9, item 1 in critical and multistart) ---------
@pytest.mark.parametrize(
    ("text", "box", "tip", "value"),
    [  # closed forms: each is smallest at the tip of a cone, where no gradient exists
        ("abs(x) + abs(y)", BOX, (0.0, 0.0), 0.0),
        ("sqrt(x^2 + y^2) + 1", BOX, (0.0, 0.0), 1.0),
        ("abs(x - 0.3) + 2*abs(y + 0.7)", BOX, (0.3, -0.7), 0.0),
        ("ackley", None, (0.0, 0.0), 0.0),
    ],
)
def test_a_minimum_at_a_corner_is_found_and_not_given_a_hessian_kind(
    text: str, box: Any, tip: tuple[float, float], value: float
) -> None:
    obj = gs.objective(text)
    m = multistart(obj, box, starts=144)
    assert m.kinds[0] == "minimum (non-smooth)" and np.all(np.isnan(m.eigenvalues[0]))
    np.testing.assert_allclose(m.points[0], tip, atol=1e-9)
    assert m.values[0] == pytest.approx(value, abs=1e-9)
    assert m.counts.sum() + sum(m.failed().values()) + m.outside == 144
    item = m.summary()["minima"][0]
    assert item["eigenvalues"] is None and item["kind"] == "minimum (non-smooth)"
    json.dumps(m.summary(), allow_nan=False)  # strict JSON: no NaN

    cp = critical_points(obj, box, starts=144)
    (i,) = [k for k, kind in enumerate(cp.kinds) if kind == "minimum (non-smooth)"]
    np.testing.assert_allclose(cp.points[i], tip, atol=1e-9)
    assert (
        "minimum" not in {cp.kinds[k] for k in range(len(cp.kinds)) if k != i} or text == "ackley"
    )


def test_a_maximum_at_a_corner_is_found_by_critical() -> None:
    cp = critical_points(gs.objective("1 - abs(x) - abs(y)"), BOX, starts=100)
    assert cp.kinds == ("maximum (non-smooth)",) and cp.indices == (2,)
    np.testing.assert_allclose(cp.points[0], [0.0, 0.0], atol=1e-9)
    assert cp.values[0] == pytest.approx(1.0, abs=1e-9)


# -- sets of minima that are not isolated points (issue 9, item 2) -----------------------------
def _on(text: str, p: np.ndarray) -> bool:
    """Closed-form membership of the set of minima of each test function."""
    x, y = p[0], p[1]
    return bool(
        {
            "relu(x) + y^2": x <= 1e-9 and abs(y) <= 1e-9,
            "(x + y)^2": abs(x + y) <= 1e-9,
            "max(x, 0)^2 + y^2": x <= 1e-9 and abs(y) <= 1e-9,
            "(x^2 + y^2 - 1)^2": abs(np.hypot(x, y) - 1) <= 1e-9,
            "abs(x + y)": abs(x + y) <= 1e-9,
            "abs(x^2 + y^2 - 1)": abs(np.hypot(x, y) - 1) <= 1e-9,
        }[text]
    )


@pytest.mark.parametrize(
    ("text", "shape", "kind"),
    [
        ("relu(x) + y^2", "line", "minimum"),
        ("(x + y)^2", "line", "minimum"),
        ("max(x, 0)^2 + y^2", "line", "minimum"),
        ("(x^2 + y^2 - 1)^2", "curve", "minimum"),
        ("abs(x + y)", "line", "minimum (non-smooth)"),
        ("abs(x^2 + y^2 - 1)", "curve", "minimum (non-smooth)"),
    ],
)
def test_a_flat_set_of_minima_is_one_entry(text: str, shape: str, kind: str) -> None:
    m = multistart(gs.objective(text), BOX, starts=400)
    on_set = [i for i in range(len(m.points)) if m.sets[i] is not None]
    assert len(on_set) == 1, f"{len(m.points)} entries for one set"
    (i,) = on_set
    found = m.sets[i]
    assert found is not None and found["shape"] == shape and found["dimension"] == 1
    assert m.kinds[i] == kind and m.values[i] == pytest.approx(0.0, abs=1e-9)
    assert _on(text, m.points[i]) and found["points_found"] > 10
    # Every start that reached it ended on the set (closed form), and it is the box's only minimum
    # of its value: the starts not on it converged elsewhere (x^2 + y^2 - 1: the top at 0).
    assert not any(_on(text, m.points[j]) for j in range(len(m.points)) if j != i)
    assert m.counts[i] + sum(m.failed().values()) + m.outside + m.counts.sum() - m.counts[i] == 400
    assert found["phrase"].startswith(f"a {shape} of minima f = 0")


def test_a_line_of_minima_is_said_with_its_extent() -> None:
    m = multistart(gs.objective("relu(x) + y^2"), BOX, starts=400)
    (found,) = m.sets
    assert found is not None
    lo_x, hi_x = found["extent"]["x"]
    assert lo_x == pytest.approx(-2.0) and -0.2 < hi_x <= 0.0  # the half-line x <= 0 in the box
    assert found["extent"]["y"] == [0.0, 0.0]
    assert found["phrase"].startswith("a line of minima f = 0 from x = -2 to ")
    assert found["phrase"].endswith("along y = 0")
    d = np.array(list(found["direction"].values()))
    np.testing.assert_allclose(np.abs(d), [1.0, 0.0], atol=1e-9)
    m = multistart(gs.objective("(x + y)^2"), BOX, starts=400)
    d = np.array(list(m.sets[0]["direction"].values()))  # type: ignore[index]
    np.testing.assert_allclose(np.abs(d), [2**-0.5, 2**-0.5], atol=1e-9)


def test_separate_sets_isolated_flat_minima_and_planes() -> None:
    # Two lines of minima y = ±1 are two sets, not one.
    m = multistart(gs.objective("(y^2 - 1)^2 + 0*x", variables=("x", "y")), BOX, starts=400)
    assert len(m.points) == 2 and all(s is not None and s["shape"] == "line" for s in m.sets)
    np.testing.assert_allclose(sorted(m.points[:, 1]), [-1.0, 1.0], atol=1e-9)
    # An isolated minimum that is flat (x^4): descents end spread around it, never a "line".
    m = multistart(gs.objective("x^4 + y^2"), BOX, starts=400)
    assert all(s is None for s in m.sets) and np.abs(m.points).max() < 1e-2
    # Equal isolated minima with non-degenerate Hessians stay apart (Himmelblau's four).
    m = multistart(gs.objective("himmelblau"), starts=400)
    assert len(m.points) == 4 and m.sets == (None,) * 4
    # A plane of minima in three variables: one entry of dimension 2.
    box3 = {**BOX, "z": (-2.0, 2.0)}
    m = multistart(gs.objective("(x + y + z)^2"), box3, starts=300, seed=1)
    (found,) = m.sets
    assert found is not None and found["dimension"] == 2 and found["shape"] == "plane"
    assert m.counts[0] + m.outside == 300  # the plane runs out of the box: some ends lie beyond


@pytest.mark.parametrize("c", [1e-9, 1e9])
def test_a_set_of_minima_does_not_depend_on_the_scale_of_f(c: float) -> None:
    m = multistart(gs.objective(f"{c}*(relu(x) + y^2)"), BOX, starts=400)
    assert len(m.points) == 1 and m.sets[0] is not None and m.sets[0]["shape"] == "line"


def test_critical_says_a_circle_of_minima_once(tmp_path: Path) -> None:
    cp = critical_points(gs.objective("(x^2 + y^2 - 1)^2"), BOX, starts=900)
    assert cp.kinds == ("minimum", "maximum")  # the circle (a set), the top at 0
    found = cp.sets[0]
    assert found is not None and found["shape"] == "curve" and found["dimension"] == 1
    assert abs(np.hypot(*cp.points[0]) - 1) < 1e-9 and cp.sets[1] is None
    np.testing.assert_allclose(cp.points[1], [0.0, 0.0], atol=1e-12)
    back = CriticalPoints.load(cp.save(tmp_path / "c"))
    assert back.sets[0] is not None and back.sets[0]["shape"] == "curve"


def test_cli_shows_sets_once_and_corners_without_a_hessian(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--range", "x=-2:2", "--range", "y=-2:2", "--starts", "144", "--force"]
    assert main(["multistart", "relu(x)+y^2", *args, "--out", str(tmp_path / "m")]) == 0
    text = capsys.readouterr().out
    assert "1 distinct minimum in the box (1 of them a set of points" in text
    assert "minimum (a line)" in text and "a line of minima f = 0 from x = -2 to" in text
    assert "reached from 144 starts" in text
    assert main(["critical", "abs(x)+abs(y)", *args, "--out", str(tmp_path / "c")]) == 0
    text = capsys.readouterr().out
    assert "minimum (non-smooth)" in text and "— (no Hessian)" in text
    assert "f is not differentiable at that point" in text
    assert main(["multistart", "abs(x)+abs(y)", *args, "--json", "--out", str(tmp_path / "j")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["best"]["kind"] == "minimum (non-smooth)" and out["best"]["eigenvalues"] is None
    assert out["walked_to_corners"] == 144 and out["failed_total"] == 0


@pytest.mark.parametrize(
    ("text", "box", "shape"),
    [
        ("relu(x^2 + y^2 - 1)", {"x": (-2.0, 2.0), "y": (-2.0, 2.0)}, "region"),  # a disk
        ("max(x^2 - 1, 0)", {"x": (-2.0, 2.0)}, "interval"),
    ],
)
def test_a_set_as_wide_as_the_space_is_one_region(
    text: str, box: dict[str, tuple[float, float]], shape: str
) -> None:
    # it crashed (an index past the last singular value); the set is every point with |x| <= 1
    m = multistart(gs.objective(text), box, starts=400)
    (found,) = [s for s in m.sets if s is not None]
    assert found["shape"] == shape and found["dimension"] == len(box)
    assert found["phrase"].startswith(f"an {shape} of minima f = 0" if shape == "interval"
                                      else f"a {shape} of minima f = 0")  # fmt: skip
    for lo, hi in found["extent"].values():
        assert -1.0 <= lo < -0.5 and 0.5 < hi <= 1.0
    cp = critical_points(gs.objective(text), box, starts=400)
    assert sum(s is not None for s in cp.sets) == 1


def test_the_results_carry_the_starts_asked_for_and_why_others_ran() -> None:
    """1,001 starts in two variables run as the 36 × 28 grid (see start_grid): the result, not
    the CLI, says so; an exact grid says nothing."""
    obj = gs.objective("x^2 + y^2")
    box = {"x": (-1.0, 1.0), "y": (-1.0, 1.0)}
    cp = gs.critical_points(obj, box, starts=1001)
    assert cp.starts == 36 * 28 and cp.starts_requested == 1001
    assert (
        cp.starts_note.startswith("1,001 starts asked, 1,008 run") and "36 × 28" in cp.starts_note
    )
    assert cp.summary()["starts_note"] == cp.starts_note
    m = gs.multistart(obj, box, starts=1001, max_steps=50)
    assert m.labels.size == 1008 and m.summary()["starts_requested"] == 1001
    exact = gs.critical_points(obj, box, starts=1000)
    assert exact.starts_note == "" and "starts_note" not in exact.summary()
    given = gs.multistart(obj, box, starts=np.array([[0.5, 0.5], [-0.5, 0.25]]), max_steps=50)
    assert given.starts_requested is None and given.starts_note == ""


def test_the_results_carry_the_values_shown_and_the_box_scale() -> None:
    """A set of minima (the circle x² + y² = 1) is shown with its set's value; isolated points
    with their own; the scale for rounding dust is the largest bound of the box."""
    obj = gs.objective("(x^2 + y^2 - 1)^2")
    box = {"x": (-2.0, 3.0), "y": (-2.0, 2.0)}
    cp = gs.critical_points(obj, box, starts=400)
    assert cp.scale == 3.0 and len(cp.point_sets) == len(cp.kinds)
    for value, shown, found in zip(cp.values, cp.shown_values, cp.point_sets, strict=True):
        assert shown == (found["value"] if found else value)
    ring = [found for found in cp.point_sets if found]
    assert ring and ring[0]["value"] == 0.0  # f is exactly 0 on the circle
    centre = [v for v, found in zip(cp.shown_values, cp.point_sets, strict=True) if not found]
    np.testing.assert_allclose(centre, [1.0])  # the maximum at the origin, f(0, 0) = 1


def test_a_multistart_where_every_start_diverged_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradscape.cli import main

    obj = gs.objective("himmelblau")
    m = multistart(obj, starts=16, method="gd", lr=1.0)
    assert m.diverged and m.failed() == {"diverged": 16} and not len(m.values)
    assert m.summary()["warnings"] == ["every start diverged (gd (lr 1)); lower the learning rate"]
    assert not multistart(obj, starts=16, method="gd", lr=1e-3).diverged
    argv = ["multistart", "himmelblau", "--optimizer", "gd", "--lr", "1", "--starts", "16",
            "--out", str(tmp_path / "m"), "--json"]  # fmt: skip
    assert main(argv) == 1  # the exit status of a computation that diverged
    assert "every start diverged" in capsys.readouterr().err
