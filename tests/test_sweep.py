"""Profiles and surfaces: values, grid minimum, bounded-memory blocks, save/load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from conftest import polyfit


def direct_sse(data: gs.Dataset, m: np.ndarray, c: np.ndarray) -> np.ndarray:
    r = data.y[None, None, :] - (m[..., None] * data.x[None, None, :] + c[..., None])
    return np.sum(r * r, axis=-1)


def test_surface_values_and_grid_minimum(line: gs.Dataset, sse: gs.Objective) -> None:
    m0, c0 = polyfit(line)
    surf = gs.surface(
        sse, "m", "c", x_range=(m0 - 2, m0 + 2), y_range=(c0 - 5, c0 + 5), points=(81, 61)
    )
    assert surf.values.shape == (61, 81)
    mm, cc = np.meshgrid(surf.x, surf.y)
    np.testing.assert_allclose(surf.values, direct_sse(line, mm, cc), rtol=1e-10)
    best = surf.argmin()
    assert abs(best["m"] - m0) <= (surf.x[1] - surf.x[0])
    assert abs(best["c"] - c0) <= (surf.y[1] - surf.y[0])


def test_blocks_bound_memory_without_changing_values(sse: gs.Objective) -> None:
    kw = dict(x_range=(-3.0, 5.0), y_range=(-4.0, 4.0), points=(50, 203))
    whole = gs.surface(sse, "m", "c", **kw)  # type: ignore[arg-type]
    calls: list[tuple[int, int]] = []
    tiny = gs.surface(
        sse, "m", "c", memory_limit=4000, progress=lambda d, t: calls.append((d, t)), **kw
    )  # type: ignore[arg-type]
    assert tiny.block_rows < whole.block_rows
    assert len(calls) == -(-203 // tiny.block_rows) and calls[-1] == (203, 203)
    np.testing.assert_array_equal(tiny.values, whole.values)


def test_literal_sum_and_stats_forms_sweep_alike() -> None:
    big = gs.synthetic_line(n=20_000, seed=2)
    kw = dict(x_range=(0.0, 4.0), y_range=(0.0, 4.0), points=60, memory_limit=2**20)
    a = gs.surface(gs.sse_objective(big, method="sum"), "m", "c", **kw)  # type: ignore[arg-type]
    b = gs.surface(gs.sse_objective(big), "m", "c", **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(a.values, b.values, rtol=1e-9)


def test_profiles_are_parabolas_with_the_right_bottom(line: gs.Dataset, sse: gs.Objective) -> None:
    m0, c0 = polyfit(line)
    p = gs.profile(sse, "m", at={"m": 0.0, "c": c0}, range=(m0 - 1, m0 + 1), points=201)
    np.testing.assert_allclose(
        p.values, direct_sse(line, p.axis[None, :], np.full((1, 201), c0))[0], rtol=1e-10
    )
    assert p.argmin() == pytest.approx(m0, abs=0.01)
    assert p.fixed == {"c": pytest.approx(c0)}
    # A parabola: second differences are constant (2·Σx²·h²).
    d2 = np.diff(p.values, 2)
    np.testing.assert_allclose(d2, 2 * np.sum(line.x**2) * (p.axis[1] - p.axis[0]) ** 2, rtol=1e-6)


def test_save_and_load_round_trip(tmp_path, sse: gs.Objective) -> None:  # type: ignore[no-untyped-def]
    surf = gs.surface(sse, "m", "c", x_range=(0, 1), y_range=(0, 2), points=11)
    path = surf.save(tmp_path / "surf")
    assert path.suffix == ".npz"
    back = gs.Surface.load(path)
    np.testing.assert_array_equal(back.values, surf.values)
    assert (back.x_name, back.y_name, back.label, back.fixed) == (
        surf.x_name,
        surf.y_name,
        surf.label,
        surf.fixed,
    )
    with pytest.raises(gs.InputError, match="holds a Surface, not a Profile"):
        gs.Profile.load(path)
    with pytest.raises(gs.InputError, match="does not exist"):
        gs.Surface.load(tmp_path / "nope.npz")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"x_range": (1.0, 0.0)}, r"low < high; got 1:0"),
        ({"x_range": (0.0, float("inf"))}, r"must be finite"),
        ({"points": 1}, r"at least 2 points"),
    ],
)
def test_bad_sweep_input(sse: gs.Objective, kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(gs.InputError, match=match):
        gs.surface(sse, "m", "c", **kwargs)


def test_unknown_parameter_and_same_axes(sse: gs.Objective) -> None:
    with pytest.raises(
        gs.InputError, match=r"'w' is not a parameter of SSE\(m, c\); choose one of m, c"
    ):
        gs.profile(sse, "w")
    with pytest.raises(gs.InputError, match="two different parameters"):
        gs.surface(sse, "m", "m")


def test_profile_derivative_and_critical_points() -> None:
    obj = gs.objective("x^3 - 3*x")
    p = gs.profile(obj, "x", range=(-3, 3), points=301, derivative=True)
    np.testing.assert_allclose(p.values, p.axis**3 - 3 * p.axis, atol=1e-12)
    np.testing.assert_allclose(p.derivative, 3 * p.axis**2 - 3, atol=1e-12)
    assert p.critical_points() == [(-1.0, "maximum"), (1.0, "minimum")]  # zeros on the grid
    q = gs.profile(obj, "x", range=(-3, 3), points=100, derivative=True)  # zeros between points
    (a, ka), (b, kb) = q.critical_points()
    assert (ka, kb) == ("maximum", "minimum") and a == pytest.approx(-1, abs=1e-3)
    assert b == pytest.approx(1, abs=1e-3)
    with pytest.raises(gs.InputError, match="no derivative"):
        gs.profile(obj, "x", range=(-1, 1)).critical_points()


# -- sign changes of the derivative: refined from the grid (issue 9) ------------------------------
def _ulps(a: float, b: float) -> float:
    return abs(a - b) / np.spacing(max(abs(a), abs(b)))


@pytest.mark.parametrize(
    ("expr", "fn", "rng", "truth"),
    [
        ("x^3 - 3*x", lambda x: x**3 - 3 * x, (-3.0, 3.0), [(-1.0, "maximum"), (1.0, "minimum")]),
        ("x^3/3 - 2*x", lambda x: x**3 / 3 - 2 * x, (-3.0, 3.1),
         [(-np.sqrt(2), "maximum"), (np.sqrt(2), "minimum")]),
        ("sin(x)", np.sin, (-4.0, 4.0), [(-np.pi / 2, "minimum"), (np.pi / 2, "maximum")]),
        ("exp(x) - 3*x", lambda x: np.exp(x) - 3 * x, (-2.0, 3.0), [(np.log(3.0), "minimum")]),
    ],
)  # fmt: skip
def test_derivative_sign_changes_are_exact_to_float_precision(
    expr: str, fn: Any, rng: tuple[float, float], truth: list[tuple[float, str]]
) -> None:
    # issue 9: `sweep "x^3 - 3*x"` gave x ≈ ±0.999975, the grid's interpolation
    obj = gs.objective(expr)
    for points in (100, 401):  # the roots between grid points, and (some) on them
        p = gs.profile(obj, "x", range=rng, points=points, derivative=True)
        assert p.critical is not None and [c["kind"] for c in p.critical] == [k for _, k in truth]
        for c, (x, _) in zip(p.critical, truth, strict=True):
            assert _ulps(c["x"], x) <= 4, (c, x)
            assert c["refined"] and c["grid"][0] <= c["x"] <= c["grid"][1]
            assert c["value"] == pytest.approx(fn(x), rel=1e-14, abs=1e-14)
        assert p.critical_points() == [(c["x"], c["kind"]) for c in p.critical]


@pytest.mark.parametrize(
    ("expr", "rng", "x", "kind"),
    [
        ("abs(x - 0.3) + x^2", (-1.0, 1.0), 0.3, "kink minimum"),  # |x| has no zero slope
        ("-abs(x - 0.1)", (-1.0, 1.0), 0.1, "kink maximum"),
        ("max(x, -x)", (-1.0, 1.0), 0.0, "kink minimum"),  # autodiff gives 0 at the grid point
        ("log(abs(x))", (-1.0, 1.1), 0.0, "singular"),  # f' = 1/x: a pole, no minimum
        ("1/x^2", (-1.0, 1.1), 0.0, "singular"),  # the grid called this a maximum
    ],
)
def test_sign_changes_that_are_not_stationary_are_named(
    expr: str, rng: tuple[float, float], x: float, kind: str
) -> None:
    p = gs.profile(gs.objective(expr), "x", range=rng, points=401, derivative=True)
    (c,) = p.critical or ()
    assert c["kind"] == kind
    assert _ulps(c["x"], x) <= 1 if x else c["x"] == 0.0
    assert ("not differentiable" in c["how"]) == kind.startswith("kink")
    assert ("not an extremum" in c["how"]) == (kind == "singular")


def test_the_sweep_says_its_critical_points_are_refined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from gradscape.cli import main

    assert main(["sweep", "x^3 - 3*x", "--range", "x=-3:3", "--out", str(tmp_path)]) == 0
    story = capsys.readouterr().out
    assert "by bisection on df/dx between grid points, to float precision" in story
    assert "x = -1  maximum, f = 2" in story and "x = 1  minimum, f = -2" in story
    crit = json.loads((tmp_path / "summary.json").read_text())["critical_points"]
    assert [(c["x"], c["kind"], c["value"], c["refined"]) for c in crit] == [
        (-1.0, "maximum", 2.0, True),
        (1.0, "minimum", -2.0, True),
    ]
    back = gs.Profile.load(tmp_path / "sweep.npz")
    assert back.critical_points() == [(-1.0, "maximum"), (1.0, "minimum")]


def test_surface_gradient_in_small_blocks_matches_closed_form() -> None:
    obj = gs.objective("x^2*sin(y) + z", variables=("x", "y", "z"))
    s = gs.surface(
        obj, "y", "x", at={"z": 3.0}, x_range=(-2, 2), y_range=(-1, 1), points=(37, 23),
        gradient=True, memory_limit=4096,
    )  # fmt: skip
    assert s.block_rows < 23
    my, mx = np.meshgrid(s.x, s.y)  # columns are y, rows are x
    np.testing.assert_allclose(s.values, mx**2 * np.sin(my) + 3, atol=1e-12)
    np.testing.assert_allclose(s.gradient[0], mx**2 * np.cos(my), atol=1e-12)  # ∂f/∂y
    np.testing.assert_allclose(s.gradient[1], 2 * mx * np.sin(my), atol=1e-12)  # ∂f/∂x
    assert s.fixed == {"z": 3.0}
    ext = s.extremes()
    assert ext["min"]["value"] == pytest.approx(s.values.min())


# -- a grid's lowest cell is not the minimum (issue 9, item 7) ------------------------------------
def _line36() -> gs.Dataset:
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 1000.0, 36)
    return gs.Dataset(x=x, y=x + rng.normal(0.0, 5.0, x.size))


def test_profiles_and_surfaces_carry_the_refined_minimum(tmp_path: Path) -> None:
    data = _line36()
    sse = gs.sse_objective(data)
    m0, c0 = polyfit(data)
    p = gs.profile(sse, "c", at={"m": m0, "c": 0.0}, range=(-800.0, 800.0))
    assert abs(p.argmin() - c0) > 0.1  # the grid cell is off …
    low = p.minimum
    assert low is not None and low["refined"]
    assert low["point"]["c"] == pytest.approx(c0, rel=1e-9)  # … the refined point is not
    assert low["value"] == pytest.approx(np.sum((data.y - m0 * data.x - c0) ** 2), rel=1e-12)
    s = gs.surface(sse, "m", "c", x_range=(-1.0, 2.0), y_range=(-800.0, 800.0), points=121)
    assert s.minimum is not None and s.minimum["refined"]
    assert s.minimum["point"]["m"] == pytest.approx(m0, rel=1e-9)
    assert s.minimum["point"]["c"] == pytest.approx(c0, rel=1e-7)
    assert s.minimum["grid_point"] == s.argmin()
    back = gs.Surface.load(s.save(tmp_path / "s.npz"))
    assert back.minimum is not None and back.minimum["point"] == s.minimum["point"]


def test_a_minimum_that_cannot_be_refined_is_called_a_grid_value() -> None:
    from gradscape.sources import objective

    cubic = objective("x^3 - 3*x")  # local minimum at x = 1, falls away to the left
    low = gs.profile(cubic, "x", range=(-1.5, 3.0), points=181).minimum
    assert low is not None and low["refined"] and low["point"]["x"] == pytest.approx(1.0, rel=1e-12)
    low = gs.profile(cubic, "x", range=(-3.0, 3.0)).minimum  # lowest at the left edge
    assert low is not None and not low["refined"] and low["point"]["x"] == -3.0
    assert low["note"].startswith("lowest grid value, at the edge of the range")
    kink = gs.profile(objective("abs(x - 0.3)"), "x", range=(-1.0, 1.0), points=10).minimum
    assert kink is not None and not kink["refined"] and "lowest grid value" in kink["note"]


def test_the_sweep_story_shows_the_refined_minimum_beside_the_grid() -> None:
    from gradscape.sources import objective
    from gradscape.story import sweep_story

    cubic = objective("x^3 - 3*x")
    lines = sweep_story(gs.profile(cubic, "x", range=(-1.5, 3.0), points=401), cubic.formula)[0][1]
    assert "lowest on the grid: f = -1.99998 at x = 0.9975" in lines
    assert "minimum near the lowest grid cell (Newton's method from it): f = -2 at x = 1" in lines
    edge = sweep_story(gs.profile(cubic, "x", range=(-3.0, 3.0)), cubic.formula)[0][1]
    assert any("at the edge of the range: the minimum may lie outside it" in ln for ln in edge)


def test_surface_of_many_parameters_differentiates_only_the_swept_ones() -> None:
    # 200 parameters, two swept: forward mode along the two axes (reverse mode paid for all
    # the slices at every grid point: a 1,000-variable sweep once ran past ten minutes).
    n = 200
    obj = gs.objective(" + ".join(f"{k % 3 + 1}*x{k}^2" for k in range(n)))
    at = dict.fromkeys(obj.names, 0.0)
    s = gs.surface(
        obj, "x0", "x1", at=at, x_range=(-1, 1), y_range=(-2, 2), points=41, gradient=True
    )
    x, y = np.meshgrid(s.x, s.y)
    np.testing.assert_allclose(s.values, x**2 + 2 * y**2, rtol=1e-14)
    np.testing.assert_allclose(s.gradient[0], 2 * x, rtol=1e-14)  # type: ignore[index]
    np.testing.assert_allclose(s.gradient[1], 4 * y, rtol=1e-14)  # type: ignore[index]


@pytest.mark.parametrize(
    ("lo", "hi", "points"), [(-0.3, 0.7, 11), (-1.1, 0.9, 21), (-0.7, 0.3, 11)]
)
def test_grid_points_meant_to_be_zero_are_zero(lo: float, hi: float, points: int) -> None:
    # np.linspace puts 5.55e-17 where -0.3 + 3·0.1 should be 0; the sweep shows f(0) there.
    p = gs.profile(gs.objective("x^2 + 1"), "x", range=(lo, hi), points=points)
    exact = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    zero = int(np.argmin(np.abs(exact)))
    assert p.axis[zero] == 0.0 and p.values[zero] == 1.0
    np.testing.assert_allclose(p.axis, exact, rtol=0, atol=1e-15)
    far = gs.profile(gs.objective("x"), "x", range=(-1e300, -1e200), points=5)
    assert np.all(far.axis < 0)  # nothing snapped where the range does not hold 0


def test_a_sweep_plan_decides_ranges_points_and_held_point() -> None:
    """The defaults the CLI shows come from the library: a built-in's domain, SWEEP_POINTS per
    axis, the others held at its published minimiser and the swept ones at their centre."""
    obj = gs.objective("rosenbrock:3")
    plan = gs.plan_sweep(obj, ranges={"x2": (-1, 3)})
    assert plan.ranges == {"x2": (-1.0, 3.0)} and plan.points == 401
    assert plan.base == {"x1": 1.0, "x2": 1.0, "x3": 1.0}  # rosenbrock's minimiser is all ones
    whole = gs.plan_sweep(obj, fixed={"x1": 0.5})
    assert whole.ranges == {"x2": obj.ranges["x2"], "x3": obj.ranges["x3"]}
    assert whole.points == 151 and whole.base == {"x1": 0.5, "x2": 0.0, "x3": 0.0}
    line = gs.plan_sweep(gs.objective("x^2+y"), ranges={"x": (-2, 4)}, points=9)
    assert line.base == {"x": 1.0, "y": 0.0}
    result = line.run()
    assert isinstance(result, gs.Profile) and result.derivative is not None
    np.testing.assert_allclose(result.values, np.linspace(-2, 4, 9) ** 2)
    np.testing.assert_allclose(result.derivative, 2 * np.linspace(-2, 4, 9))


@pytest.mark.parametrize(
    ("ranges", "fixed", "points", "match"),
    [
        (
            None,
            None,
            None,
            r"Say what to sweep: a range for one or two variables \(--range x=-5:5 --range y=-5:5, "
            r"or ranges=\{'x': \(-5, 5\), 'y': \(-5, 5\)\} in Python\)\.",
        ),
        ({"x": (0, 1)}, {"x": 1}, None, r"x is both swept \(--range\) and fixed \(--fix\)"),
        ({"q": (0, 1)}, None, None, r"--range: q is not a variable of f\(x, y, z\)"),
        (None, {"q": 1}, None, r"--fix: q is not a variable of f\(x, y, z\)"),
        ({n: (0, 1) for n in "xyz"}, None, None, r"one or two variables; got 3 \(x, y, z\)"),
        ({"x": (0, 1), "y": (0, 1)}, None, 5000, r"25,000,000 grid points; at most 16,000,000"),
        ({"x": (0, 1)}, None, 1, r"points must be a whole number >= 2; got 1\."),
        ({"x": (1, 0)}, None, None, r"Range of x must have low < high; got 1:0\."),
    ],
)
def test_a_sweep_plan_refuses_what_the_cli_refuses(
    ranges: Any, fixed: Any, points: Any, match: str
) -> None:
    with pytest.raises(gs.InputError, match=match):
        gs.plan_sweep(gs.objective("x*y+z"), ranges, fixed, points)


def test_every_variable_held_leaves_nothing_to_sweep() -> None:
    with pytest.raises(gs.InputError, match=r"Every variable is fixed; give one or two"):
        gs.plan_sweep(gs.objective("himmelblau"), fixed={"x": 0, "y": 0})


def test_a_function_undefined_on_the_whole_grid_is_an_error_not_a_blank() -> None:
    obj = gs.objective("log(x)")
    with pytest.raises(gs.NumericalError, match=r"undefined everywhere on this grid; at x=-3, "):
        gs.profile(obj, "x", range=(-3, -1), points=5)
    with pytest.raises(gs.NumericalError, match=r"infinite \(it overflows\) everywhere"):
        gs.surface(gs.objective("exp(x^2)*y^2+1e308*exp(x^2)"), "x", "y",
                   x_range=(30, 31), y_range=(1, 2), points=3)  # fmt: skip


def test_the_share_of_undefined_points_is_a_warning_on_the_result(tmp_path: Path) -> None:
    axis = np.linspace(-1, 1, 11)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.mean(~np.isfinite(np.log(axis)))  # NumPy's log is the independent truth
    p = gs.profile(gs.objective("log(x)"), "x", range=(-1, 1), points=11)
    assert p.warnings == (f"f(x) is undefined or infinite on {share:.1%} of the grid "
                          "(left blank in the figures)",)  # fmt: skip
    assert gs.Profile.load(p.save(tmp_path / "p")).warnings == p.warnings
    s = gs.surface(gs.objective("x^2+y^2"), "x", "y", x_range=(-1, 1), y_range=(-1, 1), points=5)
    assert s.warnings == ()
