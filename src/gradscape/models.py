r"""The straight line ``y = m·x + c`` and its error functions.

The sum of squared errors is a quadratic in the weights, so it can be written around the
least-squares solution :math:`(m^*, c^*)` with :math:`\delta_m = m - m^*`, :math:`\delta_c = c - c^*`:

.. math::
    \mathrm{SSE}(m, c) = \sum_i (y_i - m x_i - c)^2
                      = \mathrm{SSE}^* + S_{xx}\,\delta_m^2 + N(\delta_c + \bar x\,\delta_m)^2,

with :math:`S_{xx} = \sum_i (x_i - \bar x)^2` (the cross terms vanish by the normal equations).
Every term on the right is non-negative, so this form is free of cancellation even for unscaled
data, and costs O(1) per point instead of O(N): sweeps and descent use it by default
(``method="stats"``); ``method="sum"`` evaluates the sum over the data literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .data import Dataset
from .errors import InputError
from .objectives import Objective

LINE_NAMES = ("m", "c")


@dataclass(frozen=True)
class LineStats:
    """Sufficient statistics of a dataset for the line fit (all float64)."""

    n: int
    x_mean: float
    y_mean: float
    sxx: float  # Σ (x − x̄)²
    sxy: float  # Σ (x − x̄)(y − ȳ)
    syy: float  # Σ (y − ȳ)²
    m: float  # least-squares slope
    c: float  # least-squares intercept
    sse_min: float  # SSE at (m, c), summed directly

    @classmethod
    def of(cls, data: Dataset) -> LineStats:
        x, y = data.x, data.y
        xm, ym = float(x.mean()), float(y.mean())
        dx, dy = x - xm, y - ym
        sxx, sxy, syy = float(dx @ dx), float(dx @ dy), float(dy @ dy)
        m = sxy / sxx
        c = ym - m * xm
        r = y - (m * x + c)
        return cls(data.n, xm, ym, sxx, sxy, syy, m, c, float(r @ r))


def closed_form(data: Dataset) -> dict[str, float]:
    r"""The least-squares line: :math:`m = S_{xy}/S_{xx}`, :math:`c = \bar y - m \bar x`.

    Computed from centred data, which stays accurate when x is far from zero.
    """
    s = LineStats.of(data)
    return {"m": s.m, "c": s.c}


def predict(params: dict[str, float] | np.ndarray, x: np.ndarray) -> np.ndarray:
    """``m·x + c`` for ``params`` given as ``{"m", "c"}`` or ``[m, c]``."""
    if isinstance(params, dict):
        m, c = params["m"], params["c"]
    else:
        m, c = np.asarray(params, dtype=np.float64)
    return m * np.asarray(x, dtype=np.float64) + c


def sse_objective(data: Dataset, *, method: Literal["stats", "sum"] = "stats") -> Objective:
    """The sum of squared errors of the line as an :class:`Objective` over ``(m, c)``.

    Args:
        data: the dataset.
        method: ``"stats"`` (exact centred quadratic form, O(1) per evaluation) or ``"sum"``
            (the literal sum over the N data points).
    """
    return _line_error(data, method=method, mean=False)


def mse_objective(data: Dataset, *, method: Literal["stats", "sum"] = "stats") -> Objective:
    """The mean squared error ``SSE / N`` of the line as an :class:`Objective` over ``(m, c)``."""
    return _line_error(data, method=method, mean=True)


def _line_error(data: Dataset, *, method: str, mean: bool) -> Objective:
    import jax.numpy as jnp

    s = LineStats.of(data)
    scale = 1.0 / s.n if mean else 1.0
    if method == "stats":

        def fn(theta):  # type: ignore[no-untyped-def]
            dm = theta[0] - s.m
            dc = theta[1] - s.c
            return scale * (s.sse_min + s.sxx * dm**2 + s.n * (dc + s.x_mean * dm) ** 2)

    elif method == "sum":
        x, y = data.x, data.y

        def fn(theta):  # type: ignore[no-untyped-def]
            r = jnp.asarray(y) - (theta[0] * jnp.asarray(x) + theta[1])
            return scale * jnp.sum(r * r)

    else:
        raise InputError(
            f"The 'method' of the line error must be 'stats' or 'sum'; got {method!r}."
        )
    label = "MSE" if mean else "SSE"
    prefix = "(1/N) " if mean else ""
    return Objective(
        fn=fn,
        names=LINE_NAMES,
        ranges=default_ranges(s),
        label=label,
        formula=f"{prefix}Σᵢ (yᵢ − (m·xᵢ + c))²",
    )


def default_ranges(
    s: LineStats, start: tuple[float, float] = (0.0, 0.0)
) -> dict[str, tuple[float, float]]:
    """A box holding the least-squares point and ``start``, padded by the data's natural scales.

    The slope's scale is ``sd(y)/sd(x)``; the intercept's is ``sd(y) + |x̄|·sd(y)/sd(x)``, how far
    the intercept moves when the slope changes by its own scale.
    """
    m_scale = np.sqrt(s.syy / s.sxx) if s.syy > 0 else 1.0 / np.sqrt(s.sxx / s.n)
    c_scale = np.sqrt(s.syy / s.n) + abs(s.x_mean) * m_scale or 1.0
    out = {}
    for name, best, s0, scale in (("m", s.m, start[0], m_scale), ("c", s.c, start[1], c_scale)):
        lo, hi = min(best, s0), max(best, s0)
        pad = max(0.25 * (hi - lo), float(scale))
        out[name] = (float(lo - pad), float(hi + pad))
    return out
