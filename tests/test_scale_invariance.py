"""Tolerances are relative: ``c·f`` has the same critical points, minima, descents and race as
``f``, whatever the scale ``c`` (absolute ones called every start of ``1e-9·(x² + y²)`` converged
before its first step and a minimum, and left ``1e9·himmelblau`` unconverged)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import gradscape as gs
from gradscape.calculus import is_critical

HIMMELBLAU = "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
BOX = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}
SCALES = ("1e-9", "1e9")


def scaled(c: str) -> gs.Objective:
    return gs.objective(f"{c}*({HIMMELBLAU})")


@pytest.fixture(scope="module")
def reference() -> dict[str, object]:
    f = gs.objective(HIMMELBLAU)
    return {
        "minima": gs.multistart(f, BOX, starts=400),
        "critical": gs.critical_points(f, BOX, starts=400),
        "gd": gs.minimize(f, {"x": 0.0, "y": 0.0}, "gd", max_steps=5000),
    }


@pytest.mark.parametrize("c", SCALES)
def test_minima_and_critical_points_do_not_depend_on_the_scale(
    c: str, reference: dict[str, object]
) -> None:
    m, ref = gs.multistart(scaled(c), BOX, starts=400), reference["minima"]
    assert isinstance(ref, gs.Minima)
    assert m.kinds == ref.kinds == ("minimum",) * 4  # published: four global minima, f = 0
    np.testing.assert_allclose(m.points, ref.points, atol=1e-7)
    np.testing.assert_array_equal(m.counts, ref.counts)
    cp, ref_cp = gs.critical_points(scaled(c), BOX, starts=400), reference["critical"]
    assert isinstance(ref_cp, gs.CriticalPoints)
    assert cp.kinds == ref_cp.kinds and cp.indices == ref_cp.indices
    assert sorted(cp.kinds) == ["maximum"] + ["minimum"] * 4 + ["saddle"] * 4
    np.testing.assert_allclose(cp.points, ref_cp.points, atol=1e-7)


@pytest.mark.parametrize("c", SCALES)
def test_a_descent_takes_the_same_steps_at_any_scale(c: str, reference: dict[str, object]) -> None:
    run, ref = gs.minimize(scaled(c), {"x": 0.0, "y": 0.0}, "gd", max_steps=5000), reference["gd"]
    assert isinstance(ref, gs.Run)
    assert run.stop_reason == ref.stop_reason == "converged"
    assert abs(run.n_steps - ref.n_steps) <= 1
    np.testing.assert_allclose(run.params[-1], [3.0, 2.0], atol=1e-7)  # published minimum
    assert run.gtol == pytest.approx(float(c) * ref.gtol, rel=1e-12)


def test_a_small_function_is_not_converged_before_its_first_step(tmp_path: object) -> None:
    bowl = gs.objective("1e-9*(x^2 + y^2)")
    for method in ("gd", "momentum", "newton", "lbfgs"):
        run = gs.minimize(bowl, {"x": 1.0, "y": 1.0}, method, max_steps=3000)
        assert run.n_steps >= 1 and run.stop_reason == "converged", method
        assert np.max(np.abs(run.params[-1])) < 1e-6, method  # the minimum is at 0
    proc = subprocess.run(
        [sys.executable, "-m", "gradscape.cli", "descend", "1e-9*(x^2+y^2)", "--from",
         "x=1,y=1", "--json", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run_json,) = json.loads(proc.stdout)["runs"]
    assert run_json["steps"] >= 1 and run_json["gtol"] < 1e-16


def test_the_second_derivative_test_is_relative() -> None:
    d = gs.derive("1e-9*(x^2 + y^2)", at={"x": 0, "y": 0})
    assert d.critical and d.kind == "minimum"  # was "degenerate": eigenvalues 2e-9 < 1e-8
    d = gs.derive("1e-9*(x^2 + y^2)", at={"x": 1e-3, "y": 0})
    assert not d.critical  # the gradient is 2e-12, but 1e-3 away from the minimum
    assert gs.classify([2e-9, 2e-9]) == ("minimum", 0)
    assert gs.classify([1.0, 1e-12]) == ("degenerate", 0)  # relative to the largest
    assert is_critical([2e-12], [[2e-9]], [1e-3]) is False
    assert is_critical([2e-12], [[2.0]], [1e-12]) is True


def test_a_race_does_not_depend_on_the_scale_or_an_offset() -> None:
    results = []
    for expr in (HIMMELBLAU, f"1e-9*({HIMMELBLAU})", f"1e9*({HIMMELBLAU}) + 5"):
        r = gs.race(gs.objective(expr), BOX, optimizers=["gd", "newton"], starts=8, budget=3,
                    minimum=5.0 if expr.endswith("5") else 0.0)  # fmt: skip
        results.append(r)
    ref = results[0]
    for r in results[1:]:
        np.testing.assert_array_equal(r.success, ref.success)
        np.testing.assert_allclose(r.median_steps, ref.median_steps, atol=1)
    assert results[1].success_gap == pytest.approx(1e-9 * ref.success_gap, rel=1e-6)


def test_gradient_norms_do_not_underflow_at_tiny_scales() -> None:
    # |∇f| of 1e-200·himmelblau at (0, 0) is 2.6e-199: its squares underflow to 0, and the
    # start (the maximum's neighbourhood) was "converged after 0 steps"
    f = gs.objective(f"1e-200*({HIMMELBLAU})")
    for method in ("gd", "newton"):
        run = gs.minimize(f, {"x": 0.0, "y": 0.0}, method, max_steps=5000)
        assert run.n_steps > 0 and run.stop_reason == "converged", method
        np.testing.assert_allclose(run.params[-1], [3.0, 2.0], atol=1e-7)
        assert run.grad_norms[0] == pytest.approx(1e-200 * np.hypot(14.0, 22.0), rel=1e-12)


def test_a_point_one_away_from_a_minimum_at_1e8_is_not_critical(tmp_path: object) -> None:
    d = gs.derive("(x - 1e8)^2", at={"x": 100000001.0})
    assert not d.critical and d.kind == "not critical"  # ∇f = 2
    proc = subprocess.run(
        [sys.executable, "-m", "gradscape.cli", "derive", "(x-1e8)^2", "--at", "x=100000001",
         "--out", str(tmp_path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == ""  # no numpy warnings either
    assert "At x = 100000001" in proc.stdout and "(x - 100000001)" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "gradscape.cli", "derive", "exp(x)", "--at", "x=709",
         "--out", str(tmp_path), "--force"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and "Warning" not in proc.stderr, proc.stderr
