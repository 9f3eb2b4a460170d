"""gradscape.fit against independent truth: NumPy least squares and closed forms, SciPy re-fits,
scaled and duplicated data; its diagnosis and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import least_squares

import gradscape as gs
from gradscape.fitting import diagnosis, nist
from gradscape.fitting.pairs import pair_surface, sse_objective
from gradscape.fitting.uncertainty import statistics


@pytest.fixture(scope="module")
def plane() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    x1, x2 = rng.uniform(0, 10, 40), rng.uniform(-5, 5, 40)
    return {"x1": x1, "x2": x2, "y": 1.5 + 0.8 * x1 - 2.0 * x2 + rng.normal(0, 0.7, 40)}


@pytest.fixture(scope="module")
def plane_fit(plane: dict[str, np.ndarray]) -> gs.Fit:
    return gs.fit("y = a + b*x1 + c*x2", plane)


def test_linear_model_equals_numpy_lstsq(plane: dict[str, np.ndarray], plane_fit: gs.Fit) -> None:
    A = np.column_stack([np.ones(40), plane["x1"], plane["x2"]])
    coef, sse, *_ = np.linalg.lstsq(A, plane["y"], rcond=None)
    f = plane_fit
    assert f.parameters == ("a", "b", "c") and f.inputs == ("x1", "x2")
    np.testing.assert_allclose(f.estimates, coef, rtol=1e-11)
    assert f.sse == pytest.approx(float(sse[0]), rel=1e-11)
    s2 = float(sse[0]) / 37
    cov = s2 * np.linalg.inv(A.T @ A)
    np.testing.assert_allclose(f.se, np.sqrt(np.diag(cov)), rtol=1e-9)
    np.testing.assert_allclose(f.corr, cov / np.outer(f.se, f.se), atol=1e-9)
    y = plane["y"]
    assert f.r2 == pytest.approx(1 - float(sse[0]) / np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert f.dof == 37 and f.s == pytest.approx(np.sqrt(s2), rel=1e-11)
    assert f.verdict == "converged" and not f.warnings


def test_linear_profile_interval_is_the_wald_interval(plane_fit: gs.Fit) -> None:
    """For a linear model the SSE is exactly quadratic: both intervals coincide, at b ± t·se."""
    f = plane_fit
    t = stats.t.ppf(0.975, f.dof)
    assert f.t == pytest.approx(t, rel=1e-12)
    np.testing.assert_allclose(f.wald_lower, f.estimates - t * f.se, rtol=1e-12)
    np.testing.assert_allclose(f.profile_lower, f.wald_lower, rtol=1e-6)
    np.testing.assert_allclose(f.profile_upper, f.wald_upper, rtol=1e-6)


def test_bands_of_a_line_equal_the_closed_form() -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(0, 10, 25)
    y = 3 - 0.5 * x + rng.normal(0, 0.4, 25)
    f = gs.fit("y = c + m*x", {"x": x, "y": y}, intervals=False)
    A = np.column_stack([np.ones(25), x])
    g = np.column_stack([np.ones(len(f.band_x)), f.band_x[:, 0]])
    lev = np.einsum("ij,jk,ik->i", g, np.linalg.inv(A.T @ A), g)
    t = stats.t.ppf(0.975, 23)
    np.testing.assert_allclose(f.band_conf, t * f.s * np.sqrt(lev), rtol=1e-8)
    np.testing.assert_allclose(f.band_pred, t * f.s * np.sqrt(1 + lev), rtol=1e-8)
    assert f.band_x[0, 0] == 0 and f.band_x[-1, 0] == 10


def test_tour_data_gives_the_closed_form(tmp_path: Path) -> None:
    data = gs.synthetic_line()
    f = gs.fit("y = m*x + c", data.write_csv(tmp_path / "line.csv"), intervals=False)
    best = gs.closed_form(data)
    assert f.params["m"] == pytest.approx(best["m"], rel=1e-12)
    assert f.params["c"] == pytest.approx(best["c"], rel=1e-12)
    # the first step from the default start is the Gauss-Newton step: no damping needed
    assert abs(f.path_damping[1]) < 1e-12 and f.njev == 2


def test_weights_equal_a_scaled_unweighted_fit() -> None:
    """Weighted residuals √w·(y − f) are the unweighted residuals of √w·y = √w·f."""
    rng = np.random.default_rng(2)
    x = np.linspace(0.5, 6, 30)
    w = rng.uniform(0.2, 5, 30)
    y = 4 * np.exp(-0.7 * x) + rng.normal(0, 1, 30) / np.sqrt(w) * 0.05
    weighted = gs.fit("y = a*exp(-k*x)", {"x": x, "y": y, "w": w}, weights="w", intervals=False)
    scaled = gs.fit(
        "ys = sw*a*exp(-k*x)", {"x": x, "ys": np.sqrt(w) * y, "sw": np.sqrt(w)}, intervals=False
    )
    np.testing.assert_allclose(weighted.estimates, scaled.estimates, rtol=1e-10)
    np.testing.assert_allclose(weighted.se, scaled.se, rtol=1e-8)
    assert weighted.sse == pytest.approx(scaled.sse, rel=1e-10)
    # integer weights count rows: weight 2 is the row given twice (same estimates)
    k = rng.integers(1, 3, 30)
    counted = gs.fit("y = a*exp(-k*x)", {"x": x, "y": y, "w": k}, weights="w", intervals=False)
    repeated = gs.fit("y = a*exp(-k*x)", {"x": np.repeat(x, k), "y": np.repeat(y, k)},
                      intervals=False)  # fmt: skip
    np.testing.assert_allclose(counted.estimates, repeated.estimates, rtol=1e-10)


def test_bounds_are_respected_and_said() -> None:
    """With b bounded below its best value the constrained optimum is the bound, and a by the
    closed form of the line with that slope."""
    x = np.linspace(0, 5, 20)
    y = 1 + 2 * x + np.sin(3 * x) * 0.1
    f = gs.fit("y = a + b*x", {"x": x, "y": y}, bounds={"b": (-1, 1.5)}, intervals=False)
    assert f.method == "trf"
    assert f.params["b"] == pytest.approx(1.5, abs=1e-12) and f.params["b"] <= 1.5
    assert f.params["a"] == pytest.approx(np.mean(y - 1.5 * x), rel=1e-9)
    assert any("b ended on a bound" in w for w in f.warnings)


def test_profile_interval_ends_are_where_a_scipy_refit_says() -> None:
    """At each end of a profile interval, fixing the parameter there and re-fitting the others
    (SciPy's own solver, finite differences) gives SSE = SSE_min·(1 + t²/dof)."""
    p = nist.problem("Misra1a")
    f = gs.fit(p.model, p.data, start=p.starts[1])
    x, y = p.data["x"], p.data["y"]
    target = f.sse * (1 + f.t**2 / f.dof)
    for end in (f.profile_lower[1], f.profile_upper[1]):  # b2 fixed, b1 re-fitted
        out = least_squares(lambda b1, e=end: y - b1[0] * (1 - np.exp(-e * x)), [f.params["b1"]],
                            xtol=1e-14, ftol=1e-14)  # fmt: skip
        assert 2 * out.cost == pytest.approx(target, rel=1e-6)
    # nonlinear: the profile interval is not the Wald interval, and holds the estimate
    assert f.profile_lower[1] < f.estimates[1] < f.profile_upper[1]
    assert abs(f.profile_lower[1] - f.wald_lower[1]) > 1e-4 * f.se[1]
    sse = f.profile_sse[1][np.isfinite(f.profile_sse[1])]
    assert sse.min() == pytest.approx(f.sse, rel=1e-12)


def test_rank_deficient_model_is_said() -> None:
    x = np.linspace(1, 5, 12)
    f = gs.fit("y = a*b*x", {"x": x, "y": 3 * x + 0.01 * np.cos(x)}, intervals=False)
    assert f.verdict == "suspect" and f.rank == 1
    assert any("rank-deficient (rank 1 of 2)" in w and "a, b" in w for w in f.warnings)
    assert np.all(np.isinf(f.se))
    assert f.params["a"] * f.params["b"] == pytest.approx(np.polyfit(x, 3 * x + 0.01 * np.cos(x),
                                                                     1)[0], rel=1e-2)  # fmt: skip


def test_local_minimum_is_suspect_and_multistart_finds_the_global() -> None:
    x = np.linspace(0, 6, 60)
    y = 2 * np.sin(3 * x) + 0.05 * np.cos(17 * x)
    local = gs.fit("y = a*sin(w*x)", {"x": x, "y": y}, intervals=False)  # starts at w = 1
    assert local.verdict == "suspect"
    assert any("larger than the scatter of neighbouring points" in w for w in local.warnings)
    assert any("many starts within bounds" in s for s in local.suggestions)
    found = gs.fit("y = a*sin(w*x)", {"x": x, "y": y}, bounds={"a": (-5, 5), "w": (0.1, 5)},
                   starts=300, intervals=False)  # fmt: skip
    assert found.verdict == "converged"
    assert abs(found.params["w"]) == pytest.approx(3, rel=1e-3)
    assert len(found.minima_sse) > 1 and np.all(np.diff(found.minima_sse) >= 0)
    assert found.minima_sse[0] == pytest.approx(found.sse, rel=1e-9)
    assert found.minima_counts.sum() <= 300


def test_multistart_in_a_box_of_very_different_widths() -> None:
    """b1 in hundreds, b2 in ten-thousandths: the starts search the box scaled to unit widths."""
    p = nist.problem("Misra1a")
    f = gs.fit(p.model, p.data, bounds={"b1": (0, 1000), "b2": (0, 0.01)}, starts=100,
               intervals=False)  # fmt: skip
    assert f.verdict == "converged" and f.minima_counts[0] > 50
    for b, want in p.certified.items():
        assert nist.digits(f.params[b], want) >= 6
    assert f.notes[0].startswith("100 starts drawn in the bounds (seed 0)")


def test_false_convergence_is_not_success() -> None:
    """A stop on a small step where a Gauss-Newton step would still move the estimates."""
    rng = np.random.default_rng(0)
    J = rng.normal(size=(20, 2))
    r = J @ np.array([0.3, -0.2]) + 0.01 * rng.normal(size=20)
    st = statistics(J, r, rng.normal(size=20), np.ones(20))
    lo, hi = np.full(2, -np.inf), np.full(2, np.inf)
    d = diagnosis.diagnose(3, st, J, r, ("a", "b"), np.array([1.0, 1.0]), lo, hi, None,
                           np.zeros(20), np.ones(20), 100)  # fmt: skip
    assert d.verdict == "suspect" and d.step > 0.1
    assert d.warnings[0].startswith("false convergence: the solver stopped (the step became")
    cap = diagnosis.diagnose(0, st, J, r, ("a", "b"), np.ones(2), lo, hi, None, np.zeros(20),
                             np.ones(20), 100)  # fmt: skip
    assert cap.verdict == "failed" and cap.stop.startswith("stopped at the cap of 100 evaluations")


def test_save_load_predict_and_pair_surface(tmp_path: Path, plane_fit: gs.Fit) -> None:
    g = gs.Fit.load(plane_fit.save(tmp_path / "fit"))
    np.testing.assert_array_equal(g.estimates, plane_fit.estimates)
    assert g.verdict == plane_fit.verdict and g.sse == plane_fit.sse and g.model == plane_fit.model
    new = {"x1": np.array([1.0, 2.0]), "x2": np.array([0.0, 1.0])}
    a, b, c = plane_fit.estimates
    np.testing.assert_allclose(g.predict(new), a + b * new["x1"] + c * new["x2"], rtol=1e-12)
    s = pair_surface(plane_fit, "b", "c", points=21)
    assert s.values.shape == (21, 21)
    obj = sse_objective(plane_fit)
    assert obj(plane_fit.params) == pytest.approx(plane_fit.sse, rel=1e-12)
    assert np.nanmin(s.values) >= plane_fit.sse * (1 - 1e-12)
    with pytest.raises(gs.InputError, match=r"'d' is not a parameter of the model; its parameters"):
        pair_surface(plane_fit, "b", "d")


def test_log_response_and_several_inputs() -> None:
    p = nist.problem("Nelson")
    f = gs.fit(p.model, p.data, start=p.starts[1], intervals=False)
    assert f.response == "log(y)" and f.inputs == ("x1", "x2")
    np.testing.assert_allclose(f.y, np.log(p.data["y"]), rtol=1e-15)
    assert f.band_x.shape == (p.n, 2)


def test_start_notes_and_close_names() -> None:
    x = np.linspace(0, 1, 10)
    f = gs.fit("y = a*tme + b", {"time": x, "tme2": x, "y": 2 * x}, intervals=False)
    assert "tme" in f.parameters  # not a column: a parameter, and said so
    assert any("tme is taken as a parameter" in n and "tme2" in n for n in f.notes)
    assert any(n.startswith("no start given for a = 1, b = 1, tme = 1") for n in f.notes)


@pytest.mark.parametrize(
    ("model", "data", "kwargs", "error", "match"),
    [
        ("y = b1*x", {"x": [1, 2, 3]}, {}, gs.ExpressionError, r"'y' is not a column of the data"),
        (
            "y = b1*z",
            {"x": [1, 2, 3], "y": [1, 2, 4]},
            {"start": {"b9": 1}},
            gs.InputError,
            r"start names b9, not a parameter of the model; its parameters are b1, z",
        ),
        (
            "y = b1*x",
            {"x": [1, 2, 3], "y": [2, 2, 2]},
            {},
            gs.DataError,
            r"The response y is constant \(2 in every row of the data\); there is nothing to fit",
        ),
        (
            "y = a + b*x + c*x^2",
            {"x": [1, 2], "y": [1, 3]},
            {},
            gs.DataError,
            r"2 row\(s\) with positive weight but the model has 3 parameters",
        ),
        (
            "y = b*x",
            {"x": [1, np.nan, 3], "y": [1, 2, 3]},
            {},
            gs.DataError,
            r"Column 'x' of the data has nan at data row 2; every value a model uses must be a finite",
        ),
        ("y b*x", {"x": [1, 2], "y": [1, 2]}, {}, gs.ExpressionError, r"one '='"),
        ("y = b*x = 2", {"x": [1, 2], "y": [1, 2]}, {}, gs.ExpressionError, r"one '='"),
        ("y = ", {"x": [1, 2], "y": [1, 2]}, {}, gs.ExpressionError, r"each side of '=' needs"),
        ("y = 2*x", {"x": [1, 2], "y": [1, 3]}, {}, gs.ExpressionError, r"has no parameter"),
        (
            "log(y) = b*x",
            {"x": [1, 2, 3], "y": [1, -2, 3]},
            {},
            gs.DataError,
            r"response log\(y\) is undefined at data row 2 of the data \(y = -2\): log",
        ),
        (
            "y = b*x",
            {"x": [1, 2, 3], "y": [1, 2, 4], "w": [1, -1, 1]},
            {"weights": "w"},
            gs.DataError,
            r"Weight at data row 2 of the data is -1; weights must be finite and ≥ 0",
        ),
        (
            "y = b*x",
            {"x": [1, 2, 3], "y": [1, 2, 4]},
            {"bounds": {"b": (2, 1)}},
            gs.InputError,
            r"bounds for b must have low < high; got 2:1",
        ),
        (
            "y = b*x",
            {"x": [1, 2, 3], "y": [1, 2, 4]},
            {"bounds": {"b": (2, 3)}, "start": {"b": 1}},
            gs.InputError,
            r"the start b = 1 is outside its bounds 2:3",
        ),
        (
            "y = b*x",
            {"x": [1, 2, 3], "y": [1, 2, 4]},
            {"starts": 10},
            gs.InputError,
            r"starts are drawn within the bounds: give bounds for b too",
        ),
        (
            "y = log(b - x)",
            {"x": [1, 2, 3], "y": [1, 2, 4]},
            {},
            gs.InputError,
            r"The model is not defined at the start \(b = 1\) for data row 1 of the data: log",
        ),
    ],
)
def test_bad_input_is_one_clear_line(
    model: str, data: dict[str, list[float]], kwargs: dict, error: type, match: str
) -> None:
    with pytest.raises(error, match=match) as exc:
        gs.fit(model, {k: np.asarray(v, float) for k, v in data.items()}, intervals=False,
               **kwargs)  # fmt: skip
    assert isinstance(exc.value, ValueError | TypeError)


def test_caret_points_into_the_whole_model() -> None:
    with pytest.raises(gs.ExpressionError) as exc:
        gs.fit("y = b1*(1 - exq(-b2*x))", {"x": [1.0, 2.0], "y": [1.0, 2.0]})
    assert exc.value.text == "y = b1*(1 - exq(-b2*x))"
    assert exc.value.text[exc.value.start : exc.value.end] == "exq"


def test_file_errors_are_the_readers(tmp_path: Path) -> None:
    bad = tmp_path / "d.csv"
    bad.write_text("x,y\n1,2\n2,nan\n3,4\n")
    with pytest.raises(gs.DataError, match=r"Row 3, column 'y' of d.csv is not finite"):
        gs.fit("y = b*x", bad)
    with pytest.raises(gs.DataError, match=r"does not exist|missing|not found|No such"):
        gs.fit("y = b*x", tmp_path / "none.csv")
