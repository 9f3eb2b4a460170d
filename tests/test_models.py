"""The line and its error against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

import gradscape as gs
from conftest import polyfit, unscaled_line, year_line


@pytest.mark.parametrize(
    "make", [lambda: gs.synthetic_line(n=30, seed=1), unscaled_line, year_line]
)
def test_closed_form_matches_polyfit(make) -> None:  # type: ignore[no-untyped-def]
    data = make()
    cf = gs.closed_form(data)
    m, c = polyfit(data)
    assert cf["m"] == pytest.approx(m, rel=1e-8)
    assert cf["c"] == pytest.approx(c, rel=1e-8)


@pytest.mark.parametrize(
    "make", [lambda: gs.synthetic_line(n=30, seed=1), unscaled_line, year_line]
)
def test_stats_form_equals_the_literal_sum(make) -> None:  # type: ignore[no-untyped-def]
    data = make()
    fast, literal = gs.sse_objective(data), gs.sse_objective(data, method="sum")
    cf = gs.closed_form(data)
    rng = np.random.default_rng(5)
    points = [[cf["m"], cf["c"]], [0.0, 0.0], *(rng.normal([cf["m"], cf["c"]], 2.0, size=(5, 2)))]
    for p in points:
        direct = float(np.sum((data.y - (p[0] * data.x + p[1])) ** 2))  # NumPy, by hand
        assert fast(p) == pytest.approx(direct, rel=1e-9)
        assert literal(p) == pytest.approx(direct, rel=1e-12)


def test_mse_is_sse_over_n(line: gs.Dataset) -> None:
    sse, mse = gs.sse_objective(line), gs.mse_objective(line)
    assert mse([1.0, 2.0]) == pytest.approx(sse([1.0, 2.0]) / line.n, rel=1e-12)
    assert mse.label == "MSE" and sse.label == "SSE"


def test_predict(line: gs.Dataset) -> None:
    np.testing.assert_allclose(gs.predict({"m": 2.0, "c": 1.0}, [0.0, 1.0]), [1.0, 3.0])
    np.testing.assert_allclose(gs.predict([2.0, 1.0], [2.0]), [5.0])


def test_unknown_method(line: gs.Dataset) -> None:
    with pytest.raises(gs.InputError, match="'stats' or 'sum'; got 'fast'"):
        gs.sse_objective(line, method="fast")  # type: ignore[arg-type]
