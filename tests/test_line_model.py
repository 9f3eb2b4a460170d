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


def _noisy_line(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.linspace(1.0, 10.0, 30)
    return x, 2.0 * x + 1.0 + rng.normal(0.0, 0.3, x.size)


# Powers of two scale data exactly, so NumPy's fit of the unscaled data, scaled, is the truth:
# m·2^(ky−kx) and c·2^ky. About 1e±9, 1e±20, 1e±50, 1e±99, and x and y apart.
SCALES = [(k, k) for k in (-330, -166, -66, -30, 30, 66, 166, 330)] + [(0, 300), (-300, 0)]


@pytest.mark.parametrize(("kx", "ky"), SCALES)
def test_closed_form_at_every_scale_matches_polyfit(kx: int, ky: int) -> None:
    x, y = _noisy_line()
    m, c = np.polyfit(x, y, 1)
    cf = gs.closed_form(gs.Dataset(x=np.ldexp(x, kx), y=np.ldexp(y, ky)))
    assert cf["m"] == pytest.approx(np.ldexp(m, ky - kx), rel=1e-12)
    assert cf["c"] == pytest.approx(np.ldexp(c, ky), rel=1e-12)


@pytest.mark.parametrize(
    ("x_scale", "y_scale", "match"),
    [
        (1e-200, 1e-200, r"x values around 1e-199: too small for the SSE: Σx² ≈ 1e-396"),
        (1e-308, 1e-308, r"x values around 1e-307: too small .* multiply it by 1e307"),
        (5e-324, 1.0, r"slope of y against x is about 1e323, beyond"),  # subnormal x
        (1.0, 1e-155, r"y values around 1e-154: too small for the SSE: Σy²"),
        (1e150, 1e150, r"x values around 1e151: too large for the SSE: Σx² ≈ 1e304"),
        (1e-300, 1e300, r"slope of y against x is about 1e600, beyond float64's range"),
        (5e-324, 5e-324, r"x values around 1e-322: too small"),  # subnormal x and y
    ],
)
def test_data_beyond_float64_is_refused_with_the_reason(
    x_scale: float, y_scale: float, match: str
) -> None:
    _, y = _noisy_line()
    data = gs.Dataset(x=np.arange(1.0, 31.0) * x_scale, y=y * y_scale)
    with pytest.raises(gs.DataError, match=match):
        gs.sse_objective(data)
