"""Critical points and multistart against published truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.critical import CriticalPoints, Minima, critical_points, multistart

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
