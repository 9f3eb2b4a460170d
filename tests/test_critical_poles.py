"""Poles, jumps and the edge of a domain are never critical points or minima; the searches say
where f runs off without bound (closed forms: none of these functions has a critical point in
the box, except 1/(x^2 + y^2 - 1), whose only one is the maximum -1 at the origin)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import gradscape as gs
from gradscape.critical import critical_points
from gradscape.multistarts import multistart
from gradscape.point_sets import sane_band, soundness

BOX = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}


@pytest.mark.parametrize(
    ("text", "pole"),
    [
        ("1/x + y^2", "toward x = 0"),
        ("log(x) + 1/y", "toward y = 0"),
        ("tan(x) + y^2", "toward x = "),  # ±1.571, ±4.712: the poles in the box
    ],
)
def test_no_critical_point_at_a_pole(text: str, pole: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no float -> int cast of inf/nan
        cp = critical_points(gs.objective(text), BOX, starts=900)
    assert not len(cp.points) and cp.kinds == ()
    assert cp.outside_points is not None and not len(cp.outside_points)
    said = [w for w in cp.warnings if "decreases without bound" in w]
    assert len(said) == 1 and pole in said[0] and "no critical point there" in said[0]
    if text.startswith("tan"):
        assert "x = -1.571" in said[0] or "x = 1.571" in said[0] or "x = -4.712" in said[0]
    summary = cp.summary()
    assert summary["warnings"] == list(cp.warnings) and not summary["points"]
    json.dumps(summary, allow_nan=False)


def test_newton_running_off_toward_infinity_is_said_not_listed_outside() -> None:
    cp = critical_points(gs.objective("1/x + y^2"), BOX, starts=400)
    assert cp.ran_off > 0 and cp.outside == 0  # ∇f fades as x → ∞: no critical point there
    assert any("ran off toward infinity" in w for w in cp.warnings)
    assert any("increases without bound toward x = 0" in w for w in cp.warnings)


def test_the_circle_of_poles_leaves_only_the_maximum_at_the_origin() -> None:
    cp = critical_points(gs.objective("1/(x^2 + y^2 - 1)"), BOX, starts=900)
    assert cp.kinds == ("maximum",)
    np.testing.assert_allclose(cp.points[0], [0.0, 0.0], atol=1e-9)
    assert cp.values[0] == pytest.approx(-1.0, abs=1e-12)
    assert any("decreases without bound" in w for w in cp.warnings)
    m = multistart(gs.objective("1/(x^2 + y^2 - 1)"), BOX, starts=400)
    assert not len(m.points) and m.warnings[0].startswith("no minimum: f decreases without bound")


@pytest.mark.parametrize(
    ("text", "pole"),
    [
        ("1/x + y^2", "no minimum: f decreases without bound toward x = 0"),
        ("log(x) + 1/y", "no minimum: f decreases without bound toward"),
        ("tan(x) + y^2", "no minimum: f decreases without bound toward x = "),
    ],
)
def test_multistart_says_no_minimum_where_f_is_unbounded_below(text: str, pole: str) -> None:
    m = multistart(gs.objective(text), BOX, starts=400)
    assert not len(m.points) and not np.any(m.labels >= 0)
    assert m.warnings[0].startswith(pole)
    assert m.summary()["warnings"] == list(m.warnings) and m.summary()["best"] is None


def test_a_jump_is_no_extremum_and_splits_the_lines_of_minima() -> None:
    # sign(x) + y^2: minima fill the half-lines y = 0, x < 0 (f = -1) and x > 0 (f = 1)
    obj = gs.objective("x/abs(x) + y^2")
    for found in (critical_points(obj, BOX, starts=400), multistart(obj, BOX, starts=400)):
        assert found.kinds == ("minimum", "minimum")
        np.testing.assert_allclose(found.shown_values, [-1.0, 1.0], atol=1e-12)
        sides = [st["extent"]["x"] for st in found.point_sets]
        assert sides[0][1] < 0 < sides[1][0]  # neither set crosses the jump at x = 0
        assert np.all(np.abs(found.points[:, 0]) > 1e-3)


def test_soundness_tells_a_cone_from_a_pole_and_a_jump() -> None:
    pts = np.array([[0.0, 0.0], [1e-22, 0.0], [-1e-22, 0.0]])
    starts = np.random.default_rng(0).uniform(-5, 5, size=(400, 2))
    for text, ok, trend in [
        ("abs(x) + abs(y)", [True] * 3, None),
        ("sqrt(x^2 + y^2)", [True] * 3, None),
        ("1/x + y^2", [False] * 3, [1, 1, -1]),  # 1/0 = +inf; +inf and -inf beside
        ("x/abs(x) + y^2", [False] * 3, [2, 0, 0]),
    ]:
        obj = gs.objective(text)
        s = soundness(obj, pts, 10.0, sane_band(obj, starts))
        assert s.ok.tolist() == ok, text
        if trend is not None:
            assert s.trend.tolist() == trend, text
            assert s.axes[1:].tolist() == [[True, False]] * 2  # across x
