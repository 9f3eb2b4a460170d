"""The optimizer family and the run engine: convergence against known minima, Newton's one step,
stop reasons, many starts at once."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape import batches, engine
from gradscape.batches import Batch, minimize_many
from gradscape.engine import STATUS
from gradscape.optimizers import NAMES, optimizer
from gradscape.runs import Run, minimize

QUADRATIC = "3*x^2 + 2*x*y + 2*y^2 - x + y"  # H = [[6, 2], [2, 4]], minimum at H⁻¹(1, -1)
Q_MIN = np.linalg.solve([[6.0, 2.0], [2.0, 4.0]], [1.0, -1.0])

# settings under which each method converges on Rosenbrock from (-1.2, 1) within the budget
ROSENBROCK = {
    "gd": dict(max_steps=60000, gtol=1e-5),
    "momentum": dict(max_steps=20000),
    "nesterov": dict(max_steps=20000),
    "adagrad": dict(lr=0.5, max_steps=60000, gtol=1e-5),
    # constant-lr RMSprop steps like sign(g) near a minimum; a large eps makes it a gradient step
    "rmsprop": dict(lr=1e-3, eps=1.0, max_steps=60000, gtol=1e-5),
    "adam": dict(lr=0.01, max_steps=20000),
    "adamw": dict(lr=0.01, weight_decay=0.0, max_steps=20000),
    "newton": dict(max_steps=100),
    "lbfgs": dict(max_steps=200),
}


def test_all_named_optimizers_are_covered() -> None:
    assert set(ROSENBROCK) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_converges_on_a_convex_quadratic(name: str) -> None:
    obj = gs.objective(QUADRATIC)
    kw = {
        "adagrad": dict(lr=0.5),
        "rmsprop": dict(lr=1e-3, eps=1e-2),
        "adamw": dict(weight_decay=0.0),
    }
    r = minimize(obj, [1.0, 1.0], name, max_steps=50000, gtol=1e-6, **kw.get(name, {}))
    assert r.stop_reason == "converged", r.message
    np.testing.assert_allclose(r.params[-1], Q_MIN, atol=1e-5)
    assert r.best_value <= r.values[0]


@pytest.mark.parametrize("name", NAMES)
def test_converges_on_rosenbrock(name: str) -> None:
    kw = dict(ROSENBROCK[name])
    gtol = kw.pop("gtol", 1e-6)
    r = minimize(gs.objective("rosenbrock"), {"x": -1.2, "y": 1.0}, name, gtol=gtol, **kw)
    assert r.stop_reason == "converged", r.message
    np.testing.assert_allclose(r.params[-1], [1.0, 1.0], atol=2e-3)
    assert r.params.shape == (r.n_steps + 1, 2) and r.step_sizes.shape == (r.n_steps + 1,)
    np.testing.assert_array_equal(r.steps, np.arange(r.n_steps + 1))
    assert r.step_sizes[-1] == 0 and np.all(r.step_sizes[:-1] > 0)
    assert r.grad_norms[-1] <= gtol and np.all(np.isfinite(r.values))


def test_newton_solves_a_quadratic_in_one_step() -> None:
    r = minimize(gs.objective(QUADRATIC), [5.0, -7.0], "newton")
    assert r.n_steps == 1 and r.stop_reason == "converged"
    np.testing.assert_allclose(r.params[1], Q_MIN, rtol=1e-14)


def test_newton_goes_downhill_at_a_saddle_and_a_maximum() -> None:
    r = minimize(gs.objective("x^2 - y^2 + y^4"), [0.5, 0.01], "newton", max_steps=100)
    assert r.converged and abs(abs(r.params[-1][1]) - np.sqrt(0.5)) < 1e-8  # not the saddle
    assert np.all(np.diff(r.values) <= 1e-12)
    r = minimize(gs.objective("-x^2 + x^4"), [0.01], "newton", max_steps=100)
    assert r.converged and abs(abs(r.params[-1][0]) - np.sqrt(0.5)) < 1e-8


def test_scalar_vector_and_dict_parameters() -> None:
    import jax.numpy as jnp

    scalar = gs.Objective(lambda t: (t[0] - 2.0) ** 2, names=("w",))
    assert minimize(scalar, 5.0, "adam", lr=0.1, max_steps=5000, gtol=1e-7).final_params[
        "w"
    ] == pytest.approx(2.0, abs=1e-6)
    vector = gs.Objective.from_pytree(lambda w: jnp.sum((w - jnp.arange(3.0)) ** 2), jnp.zeros(3))
    r = minimize(vector, np.zeros(3), "momentum", max_steps=5000)
    np.testing.assert_allclose(r.params[-1], [0, 1, 2], atol=1e-7)
    tree = gs.Objective.from_pytree(
        lambda p: (p["m"] - 1.0) ** 2 + 10 * (p["c"] + 2.0) ** 2, {"m": 0.0, "c": 0.0}
    )
    r = minimize(tree, {"m": 0.0, "c": 0.0}, "lbfgs")
    assert r.final_params == pytest.approx({"c": -2.0, "m": 1.0}, abs=1e-6)


def test_transformations_also_work_eagerly_and_custom_ones_plug_in() -> None:
    import jax.numpy as jnp
    import optax

    f = lambda t: jnp.sum((t - 1.0) ** 2)  # noqa: E731
    for name in NAMES:
        tx = optimizer(name, lr=0.1).transformation()
        theta = jnp.zeros(2)
        state = tx.init(theta)
        for _ in range(3):  # plain Python, no jit
            v, g = f(theta), 2 * (theta - 1.0)
            updates, state = tx.update(g, state, theta, value=v, grad=g, value_fn=f)
            theta = theta + updates
        assert float(f(theta)) < 2.0, name
    r = minimize(gs.objective(QUADRATIC), [1.0, 1.0], optax.sgd(0.1), max_steps=5000, gtol=1e-7)
    assert r.converged and r.lr is None


def test_divergence_is_reported_not_returned() -> None:
    r = minimize(gs.objective(QUADRATIC), [1.0, 1.0], "gd", lr=1.0, max_steps=10000)
    assert r.diverged and r.stop_reason == "grew" and "2/λmax" in r.message
    assert r.values[-1] > 1e6 * r.values[0] and r.steps[-1] == r.n_steps
    assert r.curvature_start["stable_lr"] == pytest.approx(
        2 / np.linalg.eigvalsh([[6, 2], [2, 4]])[-1]
    )
    assert np.all(np.isfinite(r.best_params)) and r.n_steps < 10000


def test_bounds_and_budget() -> None:
    r = minimize(gs.objective("x^2 - y^2"), [1.0, 1e-3], "gd", bounds={"x": (-3, 3), "y": (-3, 3)})
    assert r.stop_reason == "left_bounds" and abs(r.params[-1][1]) > 3
    r = minimize(gs.objective("rosenbrock"), [-1.2, 1.0], "gd", max_steps=7)
    assert r.stop_reason == "max_steps" and r.n_steps == 7 and r.params.shape == (8, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(method="sgdd"), "Unknown optimizer 'sgdd'; the optimizers are gd, momentum"),
        (dict(method="adam", lr=-1.0), "learning rate must be a number > 0"),
        (dict(method="adam", lr=float("nan")), "learning rate must be a number > 0"),
        (dict(method="momentum", momentum=1.5), r"momentum must be in \[0, 1\)"),
        (
            dict(method="adam", momentum=0.5),
            "adam has no option momentum; its options are b1, b2, eps",
        ),
        (
            dict(method="gd", max_steps=0),
            "step budget must be a whole number from 1 to 2,147,483,647",
        ),
        (dict(method="gd", gtol=-1.0), "gtol must be a number >= 0"),
    ],
)
def test_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(gs.InputError, match=message):
        minimize(gs.objective("x^2"), [1.0], **kwargs)


def test_run_saves_and_loads(tmp_path: Path) -> None:
    r = minimize(gs.objective("himmelblau"), [0.0, 0.0], "adam", lr=0.05, max_steps=3000)
    back = Run.load(r.save(tmp_path / "run"))
    np.testing.assert_array_equal(back.params, r.params)
    assert back.stop_reason == r.stop_reason and back.curvature_end == r.curvature_end


def test_many_starts_agree_with_single_runs() -> None:
    obj = gs.objective("himmelblau")
    starts = np.random.default_rng(3).uniform(-5, 5, size=(64, 2))
    b = minimize_many(obj, starts, "newton", max_steps=200, gtol=1e-10, chunk=24)
    assert b.counts()["converged"] == 64
    for i in (0, 17, 63):
        r = minimize(obj, starts[i], "newton", max_steps=200, gtol=1e-10)
        np.testing.assert_allclose(b.params[i], r.params[-1], atol=1e-10)
        assert b.n_steps[i] == r.n_steps
    # every start that reached f = 0 sits on one of the four published minima
    published = np.array(gs.functions.himmelblau.minima)
    assert np.sum(b.values < 1e-12) > 0
    for p in b.params[b.values < 1e-12]:
        assert np.min(np.linalg.norm(published - p, axis=1)) < 1e-8


def test_many_starts_default_learning_rate_is_stable_on_a_steep_function(tmp_path: Path) -> None:
    obj = gs.objective("rastrigin")
    starts = np.random.default_rng(0).uniform(-5.12, 5.12, size=(2000, 2))
    b = minimize_many(obj, starts, "gd", max_steps=1000)
    assert b.counts()["diverged"] == 0 and b.counts()["converged"] == 2000
    assert "steepest curvature" in b.lr_reason and b.lr < 1 / 390
    assert Batch.load(b.save(tmp_path / "b")).status.tolist() == b.status.tolist()


def test_single_precision_many_starts_follow_the_double_precision_paths() -> None:
    obj = gs.objective("rastrigin")
    starts = np.random.default_rng(5).uniform(-5.12, 5.12, size=(300, 2))
    b64 = minimize_many(obj, starts, "gd", lr=1e-3, max_steps=300, gtol=0.0)
    b32 = minimize_many(obj, starts, "gd", lr=1e-3, max_steps=300, gtol=0.0, precision="float32")
    assert b32.params.dtype == np.float64
    assert np.mean(b32.n_steps == b64.n_steps) > 0.95  # a few stop at an exactly zero gradient
    np.testing.assert_allclose(b32.params, b64.params, atol=1e-5)
    with pytest.raises(gs.InputError, match="precision must be float64 or float32"):
        minimize_many(obj, starts, "gd", precision="float16")


def test_many_starts_stop_for_the_first_rule_that_holds() -> None:
    # diverged before left_bounds before converged before max_steps, in chunks of 2 (padded to
    # 8); a budget of one step, so each start takes that step and is then checked (the lean
    # engine checks every few steps): stops, steps and end points worked out by hand
    bowl = gs.objective("x^2 + y^2")  # a gd step of lr 0.5 lands on the minimum exactly
    b = minimize_many(bowl, [[0.0, 0.0], [1.0, 2.0], [1.0, 2.0]], "gd", max_steps=1, gtol=0.0,
                      lr=np.array([0.5, 0.5, 0.25]), chunk=2)  # fmt: skip
    assert [STATUS[s] for s in b.status] == ["converged", "converged", "max_steps"]
    assert b.n_steps.tolist() == [1, 1, 1]
    np.testing.assert_array_equal(b.params, [[0, 0], [0, 0], [0.5, 1.0]])
    np.testing.assert_array_equal(b.values, [0.0, 0.0, 1.25])
    # outside x in [1, 2]: at the minimum (zero gradient), and beyond 1e150 (not finite)
    b = minimize_many(bowl, [[0.0, 0.0], [1e200, 0.0], [1.5, 0.0]], "gd", lr=0.1, max_steps=1,
                      gtol=0.0, bounds={"x": (1.0, 2.0)}, chunk=2)  # fmt: skip
    assert [STATUS[s] for s in b.status] == ["left_bounds", "diverged", "max_steps"]
    np.testing.assert_allclose(b.params, [[0, 0], [0.8e200, 0], [1.2, 0]], rtol=1e-15)
    np.testing.assert_allclose(b.grad_norms[[0, 2]], [0.0, 2.4], rtol=1e-15)


def test_a_stop_check_of_many_starts_costs_little_beside_a_step() -> None:
    # the lean engine checks the stop rules once every _UNROLL steps: a checked step that costs
    # r plain ones makes the loop (_UNROLL - 1 + r) / _UNROLL times a raw loop of the updates;
    # XLA's own count of the compiled work keeps it within 10% (jnp.select made it 15%)
    import jax

    obj = gs.objective("rastrigin")
    starts = np.random.default_rng(0).uniform(-5.12, 5.12, size=(64, 2))
    with jax.enable_x64(True):
        plan = batches._plan(obj, starts, "gd", 1e-3, 1000, 0.0, None, None, None, "float64", {})
        carry = batches._chunk(plan, starts, 0, plan.size, "float64")[3]
        _, step, _, free, _ = engine.step_parts(obj, plan.opt, lean=True, grow=False)
        checked = jax.vmap(lambda c: step(c, plan.settings)[0])

        def flops(f: object) -> float:
            cost = jax.jit(f).lower(carry).compile().cost_analysis()
            return float((cost[0] if isinstance(cost, list) else cost)["flops"])

        r = flops(checked) / flops(jax.vmap(free))
    assert plan.lean and (engine.UNROLL - 1 + r) / engine.UNROLL <= 1.1, r


# -- bounded work: every many-start verb on several CPU devices, Ctrl-C, caps ------------------
def _cli(
    argv: list[str], timeout: float, devices: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if devices is not None:  # one XLA CPU device per core at least two, as the CLI makes them
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return subprocess.run([sys.executable, "-m", "gradscape.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, env=env, check=False)  # fmt: skip


def test_a_large_newton_multistart_on_several_cpu_devices_finishes(tmp_path: Path) -> None:
    # 100,000 Newton starts over one XLA device per core deadlocked: each device's batched
    # eigendecomposition waited in XLA's thread pool for parts no free thread could run
    proc = _cli(["multistart", "rastrigin", "--starts", "100000", "--json", "--out",
                 str(tmp_path)], timeout=240, devices=max(2, os.cpu_count() or 1))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["starts"] == 100_000 and len(out["minima"]) == 11**2  # one per integer point
    assert out["best"]["value"] == pytest.approx(0.0, abs=1e-12)


_INTERRUPTIBLE = """
import contextlib, sys
import gradscape.batches
import gradscape.cli.optimize as verbs
from gradscape.cli import main

gradscape.batches.TIME_LIMIT = 1e9  # long work, not refused: it is interrupted


@contextlib.contextmanager
def ticks(label):
    def tick(done, total):
        print("tick", flush=True)

    yield tick


verbs._progress = ticks
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["multistart", "rastrigin", "--starts", "200000", "--optimizer", "gd", "--lr", "1e-7",
         "--steps", "1000000"],
        ["critical", "rastrigin", "--starts", "3000000"],
        ["race", "rastrigin", "--optimizers", "gd", "--starts", "2000", "--budget", "3",
         "--steps", "1000000"],
        ["descend", "rosenbrock", "--optimizer", "newton", "--lr", "1e-9", "--steps", "10000000"],
    ],
    ids=["multistart", "critical", "race", "descend"],
)  # fmt: skip
def test_ctrl_c_stops_a_large_search_within_seconds(argv: list[str], tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", _INTERRUPTIBLE, *argv, "--out", str(tmp_path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready and proc.stdout.readline().strip() == "tick"  # inside the compiled loop
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
            waited = time.monotonic() - sent
        finally:
            proc.kill()
        err = proc.stderr.read()
    assert code == 130 and waited < 4.0, (code, waited, err)
    assert err.strip().splitlines()[-1] == "gradscape: interrupted" and "Traceback" not in err


def test_a_single_run_keeps_a_bounded_history_for_any_budget() -> None:
    from gradscape.engine import TAIL
    from gradscape.runs import history_policy

    # Every step of the head, then every stride-th, then the exact last TAIL steps.
    r = minimize(gs.objective("rosenbrock"), [-1.2, 1.0], "gd", lr=1e-4, gtol=0.0,
                 max_steps=200_000, head=100, max_records=50)  # fmt: skip
    assert r.stop_reason == "max_steps" and r.n_steps == 200_000 and r.record_every == 3998
    np.testing.assert_array_equal(r.steps[:100], np.arange(100))
    np.testing.assert_array_equal(r.steps[-TAIL:], np.arange(200_000 - TAIL + 1, 200_001))
    assert len(r.steps) <= 100 + 50 + TAIL + 1 and np.all(np.diff(r.steps) > 0)
    f = gs.objective("rosenbrock")
    for i in (0, 120, len(r.steps) - 1):  # each row's value and gradient belong to its point
        assert gs.value(f, r.params[i]) == pytest.approx(r.values[i], rel=1e-12)
        np.testing.assert_allclose(gs.gradient(f, r.params[i]), r.gradients[i], rtol=1e-10)
    # The largest budget in many variables: the history fits HISTORY_BYTES.
    head, stride = history_policy(10_000, 2**31 - 1, 1000, 100_000)
    rows = head + -(-(2**31 - 1 - head) // stride) + TAIL + 1
    assert 8 * rows * (2 * 10_000 + 4) <= 256 * 1024**2


@pytest.mark.parametrize(
    ("fn", "start", "method", "lr", "steps", "stop"),
    [
        ("rosenbrock", [-1.2, 1.0], "gd", 1e-3, 3000, "max_steps"),  # values fall: plain steps
        ("rosenbrock", [-1.2, 1.0], "momentum", 1e-3, 3000, "converged"),  # they rise: replays
        ("x^2 + 10*y^2", [3.0, 1.0], "gd", 0.05, 5000, "converged"),  # stops between rows
        ("x^2 + 10*y^2", [3.0, 1.0], "gd", 0.11, 5000, "grew"),  # above 2/λmax: blows up
    ],
)
def test_unrecorded_steps_are_the_recorded_steps(
    fn: str, start: list[float], method: str, lr: float, steps: int, stop: str
) -> None:
    """Steps between rows run without a row (plain steps, replayed as full steps where one is
    not plain): the same run as one that records every step, but for rounding (XLA may fuse
    the same arithmetic in another order)."""
    obj = gs.objective(fn)
    every = minimize(obj, start, method, lr=lr, max_steps=steps, head=steps + 1)
    thin = minimize(obj, start, method, lr=lr, max_steps=steps, head=10, max_records=40)
    assert every.record_every == 1 and thin.record_every > 20
    assert thin.stop_reason == every.stop_reason == stop and thin.n_steps == every.n_steps
    for a, b in ((thin.params, every.params), (thin.values, every.values),
                 (thin.gradients, every.gradients)):  # fmt: skip
        np.testing.assert_allclose(a, b[thin.steps], rtol=1e-12, atol=1e-12 * np.max(np.abs(b)))
    assert thin.best_step == every.best_step
    np.testing.assert_allclose(thin.best_params, every.best_params, rtol=1e-12)


def test_newton_refuses_more_variables_than_it_can_afford() -> None:
    obj = gs.objective("rosenbrock:501")
    message = r"newton forms the 501 × 501 Hessian .* capped at 500 variables"
    with pytest.raises(gs.InputError, match=message):
        minimize(obj, np.zeros(501), "newton")
    with pytest.raises(gs.InputError, match=message):
        minimize_many(obj, np.zeros((2, 501)), "newton")


def test_large_gradient_descent_takes_its_step_from_hessian_vector_products() -> None:
    import jax
    import jax.numpy as jnp

    n = 600  # past the full Hessian's size: power iteration on Hessian-vector products
    obj = gs.Objective(
        lambda t: jnp.sum(100 * (t[1:] - t[:-1] ** 2) ** 2 + (1 - t[:-1]) ** 2),
        names=tuple(f"x{i}" for i in range(n)),
    )
    start = np.resize([-1.2, 1.0], n)
    r = minimize(obj, start, "gd", max_steps=3)
    with jax.enable_x64(True):
        h = np.asarray(jax.hessian(obj.fn)(jnp.asarray(start)))
    top = np.max(np.abs(np.linalg.eigvalsh(h)))
    assert "power iteration" in r.lr_reason
    # a lower bound on |λ|max that climbs to it; within 1% here, far inside 2/λmax's stability
    assert 1 / r.lr <= top * (1 + 1e-12) and 1 / r.lr == pytest.approx(top, rel=1e-2)


def test_many_start_results_and_time_are_capped_before_the_work() -> None:
    from gradscape.multistarts import multistart

    obj = gs.objective("rosenbrock:20")
    with pytest.raises(gs.InputError, match=r"about 9.\d+ GiB of results; the cap is 2 GiB"):
        multistart(obj, starts=10_000_000, method="gd")  # refused before making the starts
    bowl = gs.Objective(lambda t: t @ t, names=tuple(f"x{i}" for i in range(20)))
    starts = np.random.default_rng(0).uniform(-2, 2, size=(20000, 20))
    began = time.monotonic()
    with pytest.raises(gs.InputError, match=r"would take about .* the cap is 0.5 s \(time_limit"):
        minimize_many(bowl, starts, "gd", lr=1e-9, gtol=0.0, max_steps=10**6, time_limit=0.5)
    assert time.monotonic() - began < 20  # refused on its first segments, not at the end


def test_a_segment_compiles_once_whatever_the_optimizer_state() -> None:
    # optax states hold weakly typed scalars; a carry that changed type would compile again
    obj = gs.objective("rosenbrock")
    for name in ("lbfgs",):
        minimize(obj, [-1.2, 1.0], name, max_steps=40)
        minimize_many(obj, np.tile([-1.2, 1.0], (16, 1)), name, max_steps=40)
        for many in (False, True):
            segment = next(v[1] for k, v in obj.compiled.items()
                           if isinstance(k, tuple) and k[:2] == ("run", name) and k[4] == many)  # fmt: skip
            jitted = segment if many else segment.each  # one start: rows of every step
            assert jitted._cache_size() == 1, (name, many)


@pytest.mark.parametrize("method", ["gd", "adam", "newton", "lbfgs"])
def test_a_start_where_f_is_not_differentiable_gives_a_run_not_an_error(method: str) -> None:
    # the cone's tip: no gradient, no Hessian (curvature used to raise NumericalError there)
    run = gs.minimize(gs.objective("sqrt(x^2 + y^2)"), {"x": 0.0, "y": 0.0}, method)
    assert run.stop_reason == "diverged" and run.n_steps == 0
    assert run.curvature_start is None
    assert run.message.startswith("stopped at the start: the value or the gradient is not finite")


def test_per_weight_learning_rates_are_an_optax_rate_vector() -> None:
    f = gs.objective(QUADRATIC)  # gradient (6x + 2y - 1, 2x + 4y + 1)
    for method in ("gd", "adam"):
        r = minimize(f, {"x": 1.0, "y": 1.0}, method, lr={"x": 0.01, "y": 0.1}, max_steps=1)
        g = np.array([7.0, 7.0])
        # gd moves by lr·g; adam's first step is lr·sign(g) (bias-corrected moments)
        want = [0.01, 0.1] * (g if method == "gd" else np.sign(g))
        np.testing.assert_allclose(r.params[0] - r.params[1], want, rtol=1e-6)
        assert r.lr == (0.01, 0.1) and r.lr_reason == "given per parameter"
    with pytest.raises(gs.InputError, match=r"One learning rate per parameter works with gd, .*"
                       r"newton sets its own steps"):  # fmt: skip
        minimize(f, [1.0, 1.0], "newton", lr={"x": 0.1, "y": 0.1})
    with pytest.raises(gs.InputError, match=r"need exactly x, y; unknown z"):
        minimize(f, [1.0, 1.0], "gd", lr={"x": 0.1, "y": 0.1, "z": 1.0})
    with pytest.raises(gs.InputError, match=r"The learning rate of y must be a number > 0; got -1"):
        minimize(f, [1.0, 1.0], "gd", lr={"x": 0.1, "y": -1})


def test_the_stability_warning_is_on_the_run(tmp_path: Path) -> None:
    f = gs.objective(QUADRATIC)
    top = np.linalg.eigvalsh([[6.0, 2.0], [2.0, 4.0]])[-1]
    stable = 2 / top
    r = minimize(f, [1.0, 1.0], "gd", lr=1.1 * stable, max_steps=50)
    assert r.warnings == (
        f"gd: lr {1.1 * stable:.4g} is at or above 2/λmax = {stable:.4g} at the start; "
        "gd does not converge there (it oscillates at the limit and blows up beyond)",
    )
    assert r.summary()["warnings"] == list(r.warnings)
    assert Run.load(r.save(tmp_path / "r.npz")).warnings == r.warnings
    # at 2/λmax exactly gd oscillates for ever: warned too
    assert minimize(f, [1.0, 1.0], "gd", lr=stable, max_steps=5).warnings
    assert minimize(f, [1.0, 1.0], "gd", lr=0.9 * stable, max_steps=5).warnings == ()
    assert minimize(f, [1.0, 1.0], "adam", lr=10 * stable, max_steps=5).warnings == ()
    # heavy-ball momentum is stable up to 2(1 + β)/λmax, Nesterov's up to 2(1 + β)/((1 + 2β)λmax)
    assert minimize(f, [1.0, 1.0], "momentum", lr=1.1 * stable, max_steps=5).warnings == ()
    (w,) = minimize(f, [1.0, 1.0], "momentum", lr=1.01 * 3.8 / top, max_steps=5).warnings
    assert w.startswith("momentum: lr") and f"2(1 + β)/λmax (β = 0.9) = {3.8 / top:.4g}" in w
    assert (
        minimize(f, [1.0, 1.0], "nesterov", lr=0.99 * 3.8 / 2.8 / top, max_steps=5).warnings == ()
    )
    assert minimize(f, [1.0, 1.0], "nesterov", lr=1.01 * 3.8 / 2.8 / top, max_steps=5).warnings


def test_one_rate_per_weight_is_judged_by_the_scaled_hessian() -> None:
    # x^2 + 100 y^2: each rate below its own axis' limit (1 and 0.01) is stable, whatever the
    # largest rate; the limit is λmax(diag(lr)^½ H diag(lr)^½) < 2
    f = gs.objective("x^2 + 100*y^2")
    r = minimize(f, [1.0, 1.0], "gd", lr={"x": 0.5, "y": 0.005}, max_steps=200)
    assert r.warnings == () and r.stop_reason == "converged"
    r = minimize(f, [1.0, 1.0], "gd", lr={"x": 0.5, "y": 0.03}, max_steps=200)
    assert r.stop_reason == "grew"
    (w,) = r.warnings
    assert "λmax(diag(lr)·H) = 6 ≥ 2" in w  # diag(0.5, 0.03)·diag(2, 200): 1 and 6


@pytest.mark.parametrize(("fn", "start"), [("log(x)", [-1.0]), ("x^2 + 100*y^2", [1e300, 1.0])])
def test_a_start_outside_the_domain_is_bad_input(fn: str, start: list[float]) -> None:
    with pytest.raises(
        gs.InputError, match=r"(undefined|infinite) at .*; start where f is defined"
    ):
        minimize(gs.objective(fn), start, "gd")


def test_a_blown_up_run_is_drawn_up_to_its_last_sane_step() -> None:
    from gradscape.runs import plot_window

    r = minimize(gs.objective(QUADRATIC), [1.0, 1.0], "gd", lr=1.0, max_steps=100)
    assert r.stop_reason == "grew"
    np.testing.assert_array_equal(r.shown_path(), r.params[:-1])
    shown = r.shown_path()
    window = plot_window([r], {"y": (-3.0, 3.0)})
    span = shown[:, 0].max() - shown[:, 0].min()
    assert window["x"] == pytest.approx(
        (shown[:, 0].min() - span / 10, shown[:, 0].max() + span / 10)
    )
    assert window["y"] == (-3.0, 3.0)
