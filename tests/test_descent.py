"""Gradient descent: reaches the least-squares line, stops for the right reason, reports divergence."""

from __future__ import annotations

import numpy as np
import pytest

import gradscape as gs
from conftest import polyfit, unscaled_line


def run_planned(data: gs.Dataset, start=(0.0, 0.0)) -> gs.Trajectory:  # type: ignore[no-untyped-def]
    obj = gs.sse_objective(data)
    plan = gs.plan_descent(obj, start)
    return gs.descend(obj, start, lr=plan.lr, max_steps=plan.max_steps, gtol=plan.gtol)


# κ ~ 3e4 for the unscaled line: the plan's step budget grows with κ (at the fixture's 8e5 this
# one descent took 17 million steps, 15 s of the suite)
@pytest.mark.parametrize(
    "make",
    [lambda: gs.synthetic_line(n=40, seed=7), lambda: unscaled_line(low=20.0)],
    ids=["synthetic", "unscaled"],
)
def test_planned_descent_reaches_polyfit(make) -> None:  # type: ignore[no-untyped-def]
    data = make()
    t = run_planned(data)
    assert t.converged and t.stop_reason == "converged"
    m, c = polyfit(data)
    assert t.final_params["m"] == pytest.approx(m, rel=1e-6)
    assert t.final_params["c"] == pytest.approx(c, rel=1e-6, abs=1e-6)


def test_plan_uses_the_curvature(sse: gs.Objective, line: gs.Dataset) -> None:
    h = 2.0 * np.array([[np.sum(line.x**2), np.sum(line.x)], [np.sum(line.x), line.n]])
    lam = np.linalg.eigvalsh(h)
    plan = gs.plan_descent(sse, [0.0, 0.0])
    assert plan.max_stable_lr == pytest.approx(2 / lam[-1], rel=1e-10)
    assert plan.lr == pytest.approx(1 / lam[-1], rel=1e-10)
    assert plan.condition == pytest.approx(lam[-1] / lam[0], rel=1e-8)
    assert "1/λmax" in plan.lr_reason and "κ" in plan.steps_reason


def test_records_every_step_then_thins(sse: gs.Objective) -> None:
    plan = gs.plan_descent(sse, [0.0, 0.0])
    t = gs.descend(
        sse, [0.0, 0.0], lr=plan.lr / 20, max_steps=3000, gtol=0.0, head=100, max_records=290
    )
    assert t.stop_reason == "max_steps" and not t.converged and t.n_steps == 3000
    assert t.steps[0] == 0 and t.steps[-1] == 3000
    np.testing.assert_array_equal(t.steps[:101], np.arange(101))
    assert np.all(np.diff(t.steps) > 0) and t.record_every == 10
    # Each recorded row is consistent: the value and gradient belong to the parameters.
    for i in (0, 50, len(t.steps) - 1):
        assert gs.value(sse, t.params[i]) == pytest.approx(t.values[i], rel=1e-12)
        np.testing.assert_allclose(gs.gradient(sse, t.params[i]), t.gradients[i], rtol=1e-10)
    # One update rule per weight: θ₁ = θ₀ − η·∂f/∂θ at θ₀.
    np.testing.assert_allclose(t.params[1], t.params[0] - plan.lr / 20 * t.gradients[0], rtol=1e-12)
    np.testing.assert_allclose(t.step_sizes[0], plan.lr / 20 * np.linalg.norm(t.gradients[0]))
    assert t.values[-1] <= t.values[0] and t.best_value == pytest.approx(t.values.min())


def test_per_weight_learning_rates(sse: gs.Objective) -> None:
    t = gs.descend(sse, [0.0, 0.0], lr={"m": 1e-4, "c": 1e-3}, max_steps=1)
    np.testing.assert_allclose(t.params[1], -np.array([1e-4, 1e-3]) * t.gradients[0], rtol=1e-12)
    with pytest.raises(gs.InputError, match="need exactly m, c; missing c"):
        gs.descend(sse, [0.0, 0.0], lr={"m": 1e-4})


def test_divergence_is_reported_with_the_stable_rate(sse: gs.Objective) -> None:
    stable = gs.max_stable_lr(sse, [0.0, 0.0])
    assert stable is not None
    t = gs.descend(sse, [0.0, 0.0], lr=1.05 * stable, max_steps=100_000)
    # Still finite but a millionfold above the start: "grew", and that step is the last row.
    assert t.diverged and not t.converged and t.stop_reason == "grew"
    assert t.values[-1] > 1e6 * t.values[0] and t.steps[-1] == t.n_steps
    assert gs.value(sse, t.params[-1]) == pytest.approx(t.values[-1], rel=1e-12)
    assert t.max_stable_lr == pytest.approx(stable)
    assert f"2/λmax = {stable:.4g}" in t.message
    assert np.all(np.isfinite(t.params)) and np.all(np.isfinite(t.values))
    assert t.best_value == pytest.approx(t.values.min()) and t.best_step < t.n_steps
    # Just below the limit it converges (slowly): the limit is sharp.
    ok = gs.descend(sse, [0.0, 0.0], lr=0.95 * stable, max_steps=200_000, gtol=1e-6)
    assert ok.converged


def test_non_finite_step_is_caught() -> None:
    import jax.numpy as jnp

    obj = gs.Objective(lambda t: jnp.exp(t[0] ** 2), names=("x",))
    t = gs.descend(obj, [1.0], lr=10.0, max_steps=50)
    assert t.diverged and np.all(np.isfinite(t.values))


def test_quadratic_with_exact_lr_converges_in_one_step() -> None:
    obj = gs.Objective(lambda t: 2.0 * (t[0] - 3.0) ** 2, names=("x",))  # f'' = 4
    t = gs.descend(obj, [10.0], lr=0.25, max_steps=10)
    assert t.converged and t.n_steps == 1 and t.final_params["x"] == pytest.approx(3.0)


def test_save_and_load(tmp_path, sse: gs.Objective) -> None:  # type: ignore[no-untyped-def]
    t = gs.descend(sse, [0.0, 0.0], lr=1e-4, max_steps=20)
    back = gs.Trajectory.load(t.save(tmp_path / "t.npz"))
    np.testing.assert_array_equal(back.params, t.params)
    assert back.names == t.names and back.lr == t.lr and back.message == t.message
    assert back.max_stable_lr == t.max_stable_lr


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -0.1}, r"The 'lr' parameter of descend must be a float > 0. Got -0.1 instead."),
        ({"lr": 0}, r"'lr' parameter of descend must be a float > 0. Got 0 instead"),
        ({"lr": "fast"}, r"'lr' parameter of descend must be a float > 0. Got 'fast' instead"),
        (
            {"lr": 0.1, "max_steps": 0},
            r"max_steps must be a whole number from 1 to 100,000,000 \(MAX_STEPS\); got 0",
        ),
        ({"lr": 0.1, "gtol": -1.0}, r"gtol must be a number >= 0; got -1.0"),
    ],
)
def test_bad_descent_settings(sse: gs.Objective, kwargs: dict, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(gs.InputError, match=match):
        gs.descend(sse, [0.0, 0.0], **kwargs)


def test_plan_refuses_non_convex_start() -> None:
    obj = gs.Objective(lambda t: t[0] ** 2 - t[1] ** 2, names=("x", "y"))
    with pytest.raises(gs.InputError, match="not curved upwards"):
        gs.plan_descent(obj, [1.0, 1.0])


def test_plan_caps_the_budget_for_a_tiny_lr(sse: gs.Objective) -> None:
    plan = gs.plan_descent(sse, [0.0, 0.0], lr=1e-9, max_auto_steps=50_000)
    assert plan.max_steps == 50_000 and plan.predicted_steps > 50_000
    assert "a cap" in plan.steps_reason and "raise lr" in plan.steps_reason


def test_second_run_and_second_sweep_do_not_recompile(sse: gs.Objective) -> None:
    gs.descend(sse, [0.0, 0.0], lr=1e-4, max_steps=30)
    gs.descend(sse, [1.0, 2.0], lr={"m": 2e-4, "c": 1e-3}, max_steps=3000, gtol=1e-3)
    (segment,) = [v[1] for k, v in sse.compiled.items() if isinstance(k, tuple) and k[0] == "run"]
    assert segment.each._cache_size() == 1 and segment.strided._cache_size() <= 1
    first = gs.surface(sse, "m", "c", x_range=(0, 1), y_range=(0, 1), points=9)
    again = gs.surface(sse, "m", "c", x_range=(2, 3), y_range=(-1, 1), points=9)
    assert len([k for k in sse.compiled if k[0] == "sweep"]) == 1
    assert first.block_rows == again.block_rows


# -- descent on badly scaled data reaches the closed form, or says it did not (issue 9, item 9) --
def _noisy_line(kx: int, ky: int) -> tuple[gs.Dataset, float, float]:
    """A noisy line scaled by powers of two (exact), and NumPy's fit of it scaled the same way."""
    rng = np.random.default_rng(0)
    x = np.linspace(1.0, 10.0, 30)
    y = 2.0 * x + 1.0 + rng.normal(0.0, 0.3, x.size)
    m, c = np.polyfit(x, y, 1)
    data = gs.Dataset(x=np.ldexp(x, kx), y=np.ldexp(y, ky))
    return data, float(np.ldexp(m, ky - kx)), float(np.ldexp(c, ky))


@pytest.mark.parametrize(
    ("kx", "ky"),
    [(-330, -330), (-66, -66), (-30, -30), (30, 30), (33, 33), (66, 66), (330, 330), (0, 300)],
)
def test_descent_reaches_polyfit_at_every_scale(kx: int, ky: int) -> None:
    from gradscape.line_model import LineStats
    from gradscape.tours import descend_line

    data, m, c = _noisy_line(kx, ky)
    fit = descend_line(LineStats.of(data))
    t = fit.trajectory
    assert t.converged and t.stop_reason == "converged" and fit.distance <= fit.tolerance
    assert t.final_params["m"] == pytest.approx(m, rel=1e-7)
    assert t.final_params["c"] == pytest.approx(c, rel=1e-7)
    assert t.final_value == pytest.approx(float(np.sum((data.y - (m * data.x + c)) ** 2)), rel=1e-9)
    if kx == ky != 0:  # plain GD on (m, c) cannot: it says where it ran instead
        assert fit.coordinates is not None and "mapped back to (m, c)" in fit.coordinates


def test_a_stop_away_from_the_closed_form_is_never_converged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gradscape.tours as tours
    from gradscape.line_model import LineStats

    data, _, _ = _noisy_line(30, 30)  # values about 1e9
    s = LineStats.of(data)
    fit = tours.descend_line(s, steps=50)  # plain GD on (m, c): c cannot move at this scale
    assert fit.distance > fit.tolerance and fit.trajectory.stop_reason == "max_steps"
    # Whatever stops descent (here a stopping rule made far too loose), the end is checked.
    monkeypatch.setattr(tours, "RTOL", 10.0)
    fit = tours.descend_line(s)
    t = fit.trajectory
    assert fit.distance > fit.tolerance
    assert not t.converged and t.stop_reason == "imprecise" and "from the closed form" in t.message


def test_the_last_steps_are_recorded_one_by_one(sse: gs.Objective) -> None:
    plan = gs.plan_descent(sse, [0.0, 0.0])
    t = gs.descend(
        sse, [0.0, 0.0], lr=plan.lr / 20, max_steps=2999, gtol=0.0, head=100, max_records=290
    )
    assert t.record_every == 10 and t.n_steps == 2999
    np.testing.assert_array_equal(t.steps[-8:], np.arange(2992, 3000))  # not 2990, then 2999
    for i in range(-8, 0):
        assert gs.value(sse, t.params[i]) == pytest.approx(t.values[i], rel=1e-12)
    # Each of them is one update from the one before: θₖ₊₁ = θₖ − η·∇f(θₖ).
    np.testing.assert_allclose(
        t.params[-1], t.params[-2] - plan.lr / 20 * t.gradients[-2], rtol=1e-12
    )


def test_step_budgets_are_capped() -> None:
    from gradscape.descent import MAX_STEPS

    obj = gs.Objective(lambda t: t[0] ** 2, names=("x",))
    for steps in (MAX_STEPS + 1, 10**23):
        with pytest.raises(
            gs.InputError, match=r"a whole number from 1 to 100,000,000 \(MAX_STEPS\)"
        ):
            gs.descend(obj, [1.0], lr=0.1, max_steps=steps)
        with pytest.raises(gs.InputError, match=r"from 1 to 100,000,000 \(MAX_STEPS\)"):
            gs.plan_descent(obj, [1.0], max_steps=steps)


def test_a_tiny_gradient_is_not_taken_for_zero() -> None:
    # ‖g‖² underflows for g ~ 1e-200: the stop rule must not read that as convergence.
    obj = gs.Objective(lambda t: 1e-200 * (t[0] - 3.0) ** 2 + 1e-200 * t[1] ** 2, names=("a", "b"))
    t = gs.descend(obj, [0.0, 1.0], lr=1e199, max_steps=100, gtol=1e-212)
    assert t.n_steps >= 1 and t.final_params["a"] == pytest.approx(3.0, rel=1e-9)


def test_a_tiny_lr_is_slow_not_divergent(sse: gs.Objective) -> None:
    # 1 − ηλ rounds to 1 for η = 1e-20: the plan must still see the (slow) contraction.
    plan = gs.plan_descent(sse, [0.0, 0.0], lr=1e-20, max_auto_steps=1000)
    assert "diverge" not in plan.steps_reason and "a cap" in plan.steps_reason
    lam_min = float(np.linalg.eigvalsh(gs.hessian(sse, [0.0, 0.0]))[0])
    expected = np.log(plan.gtol / np.linalg.norm(gs.gradient(sse, [0.0, 0.0]))) / (-1e-20 * lam_min)
    assert plan.predicted_steps == pytest.approx(min(expected, 2**62), rel=1e-6)
    assert gs.descent.predicted_steps(1e-20, [lam_min], 1e-10) == pytest.approx(
        np.log(1e-10) / (-1e-20 * lam_min), rel=1e-12
    )
