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

import math
from dataclasses import dataclass
from typing import Literal

import jax.numpy as jnp
import numpy as np

from .errors import DataError, InputError
from .line_data import Dataset
from .objectives import Objective

LINE_NAMES = ("m", "c")


#: The SSE's pieces (Σx², Σ(x − x̄)², Σy², …) must lie between these magnitudes: inside, float64
#: keeps full precision with room for the surface's corners and the descent's last steps.
SAFE_LOW, SAFE_HIGH = 1e-280, 1e280


@dataclass(frozen=True)
class LineStats:
    """Sufficient statistics of a dataset for the line fit (all float64).

    They are computed on the data divided by powers of two (exact), so that no square underflows
    or overflows on the way, and scaled back; :meth:`check_scale` says when a result lies outside
    what float64 can hold.
    """

    n: int
    x_mean: float
    y_mean: float
    sxx: float  # Σ (x − x̄)²
    sxy: float  # Σ (x − x̄)(y − ȳ)
    syy: float  # Σ (y − ȳ)²
    m: float  # least-squares slope
    c: float  # least-squares intercept
    sse_min: float  # SSE at (m, c), summed directly
    x_sd: float = 1.0  # sqrt(Sxx / N), the spread of x
    y_sd: float = 1.0  # sqrt(Syy / N), the spread of y (|ȳ| or 1 when y is constant)
    sum_xx: float = 0.0  # Σ x², half the Hessian's m-m entry
    sum_yy: float = 0.0  # Σ y², the SSE of the line m = c = 0
    log10: tuple[
        tuple[str, float, str], ...
    ] = ()  # (sum, log10 of it, its column): see check_scale

    @classmethod
    def of(cls, data: Dataset) -> LineStats:
        """The statistics of ``data``.

        Raises:
            DataError: the slope or intercept of the least-squares line is beyond float64's
                range, or x varies too little to fit a slope at all.
        """
        x, y = data.x, data.y
        ex, ey = _exponent(x), _exponent(y)
        xs, ys = np.ldexp(x, -ex), np.ldexp(y, -ey)  # |values| ≤ 1, exact
        xm, ym = float(xs.mean()), float(ys.mean())
        dx, dy = xs - xm, ys - ym
        sxx, sxy, syy = float(dx @ dx), float(dx @ dy), float(dy @ dy)
        if not sxx > 0:
            raise DataError(
                f"{data.x_label} varies by less than float64 can resolve next to its size "
                f"({np.ptp(x):.3g} around {float(np.max(np.abs(x))):.3g}); no slope can be fitted."
            )
        m_s = sxy / sxx
        c_s = ym - m_s * xm
        r = ys - (m_s * xs + c_s)
        sse_s = float(r @ r)
        n = data.n
        sum_xx, sum_yy = float(xs @ xs), float(ys @ ys)
        y_sd_s = math.sqrt(syy / n) if syy > 0 else (abs(ym) or 1.0)
        log2 = math.log10(2.0)
        logs = (
            ("Σx²", math.log10(sum_xx) + 2 * ex * log2, data.x_label),
            ("Σ(x − x̄)²", math.log10(sxx) + 2 * ex * log2, data.x_label),
            ("Σy²", math.log10(sum_yy) + 2 * ey * log2 if sum_yy > 0 else None, data.y_label),
            ("Σ(y − ȳ)²", math.log10(syy) + 2 * ey * log2 if syy > 0 else None, data.y_label),
        )
        try:
            m = math.ldexp(m_s, ey - ex)
            c = math.ldexp(c_s, ey)
        except OverflowError:
            m = c = math.inf
        if not (math.isfinite(m) and math.isfinite(c)):
            ratio = math.log10(abs(m_s) or 1.0) + (ey - ex) * log2
            raise DataError(
                f"The least-squares slope of {data.y_label} against {data.x_label} is about "
                f"1e{ratio:.0f}, beyond float64's range (1.8e308): measure {data.x_label} or "
                f"{data.y_label} in other units (multiply by a power of ten) and run again."
            )
        return cls(
            n=n, x_mean=_ldexp(xm, ex), y_mean=_ldexp(ym, ey), sxx=_ldexp(sxx, 2 * ex),
            sxy=_ldexp(sxy, ex + ey), syy=_ldexp(syy, 2 * ey), m=m, c=c,
            sse_min=_ldexp(sse_s, 2 * ey), x_sd=_ldexp(math.sqrt(sxx / n), ex),
            y_sd=_ldexp(y_sd_s, ey), sum_xx=_ldexp(sum_xx, 2 * ex), sum_yy=_ldexp(sum_yy, 2 * ey),
            log10=tuple((q, v, col) for q, v, col in logs if v is not None),
        )  # fmt: skip

    def check_scale(self) -> None:
        """Refuse data whose SSE float64 cannot compute: a piece of it beyond float64's range.

        Raises:
            DataError: naming the quantity, its size and how to rescale the column.
        """
        for what, lg, col in self.log10:
            if not math.log10(SAFE_LOW) <= lg <= math.log10(SAFE_HIGH):
                small = lg < math.log10(SAFE_LOW)
                per = round((lg - math.log10(self.n)) / 2)  # the size of one value of the column
                bound = math.log10(SAFE_LOW if small else SAFE_HIGH)
                spread = "x̄" in what or "ȳ" in what
                size = "varies by about" if spread else "values around"
                too = ("little" if small else "much") if spread else ("small" if small else "large")
                raise DataError(
                    f"{col} {size} 1e{per}: too {too} for the SSE: {what} ≈ 1e{lg:.0f} lies {'below' if small else 'above'} "
                    f"1e{bound:.0f}, beyond which float64 loses precision or overflows; measure "
                    f"{col} in other units (e.g. multiply it by 1e{-per}) and run again."
                )


def _exponent(v: np.ndarray) -> int:
    """``e`` with ``max |v| / 2**e`` in ``[0.5, 1)`` (0 when ``v`` is all zero)."""
    top = float(np.max(np.abs(v)))
    return math.frexp(top)[1] if top > 0 else 0


def _ldexp(v: float, e: int) -> float:
    """``v · 2**e``, ``±inf`` on overflow (0 on underflow, as float64 does)."""
    try:
        return math.ldexp(v, e)
    except OverflowError:
        return math.copysign(math.inf, v)


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

    s = LineStats.of(data)
    s.check_scale()
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


@dataclass(frozen=True)
class LinePoint:
    r"""The line ``y = m·x + c`` at one point of weight space: its SSE and both partials.

    Computed from :class:`LineStats` in O(1), in the centred form of the module docstring
    (:math:`\delta_m = m - m^*`, :math:`\delta_c = c - c^*`, :math:`u = \delta_c + \bar x\,\delta_m`):

    .. math::
        \mathrm{SSE} = \mathrm{SSE}^* + S_{xx}\,\delta_m^2 + N u^2, \quad
        \frac{\partial \mathrm{SSE}}{\partial m} = 2 S_{xx}\,\delta_m + 2 N \bar x\, u, \quad
        \frac{\partial \mathrm{SSE}}{\partial c} = 2 N u.

    Attributes:
        m, c: the point.
        sse: the sum of squared errors there.
        d_m, d_c: :math:`\partial\mathrm{SSE}/\partial m` and :math:`\partial\mathrm{SSE}/\partial c`.
        equations: ``{"sse", "d_m", "d_c"}``: each quantity's formula, the same written with the
            data's sums, and with this point's numbers, as one line of text.
    """

    m: float
    c: float
    sse: float
    d_m: float
    d_c: float
    equations: dict[str, str]


def _num(v: float) -> str:
    """``v`` with 6 significant digits, in brackets when negative (it follows a ``·``)."""
    text = f"{v:.6g}"
    return f"({text})" if text.startswith("-") else text


def line_point(s: LineStats, m: float, c: float) -> LinePoint:
    """The SSE of the line ``(m, c)`` and its partial derivatives, with their formulas in numbers.

    Raises:
        NumericalError: the SSE or a partial is beyond float64's range at this point.
    """
    from .errors import NumericalError

    m, c = float(m), float(c)
    dm, dc = m - s.m, c - s.c
    u = dc + s.x_mean * dm
    n = float(s.n)
    with np.errstate(over="ignore", invalid="ignore"):
        sse = float(np.float64(s.sse_min) + s.sxx * np.float64(dm) * dm + n * np.float64(u) * u)
        d_m = float(2 * s.sxx * np.float64(dm) + 2 * n * s.x_mean * np.float64(u))
        d_c = float(2 * n * np.float64(u))
    if not all(math.isfinite(v) for v in (sse, d_m, d_c)):
        raise NumericalError(
            f"The SSE of the line m = {m:.6g}, c = {c:.6g} is beyond float64's range "
            "(about 1.8e308); pick weights nearer the data's scale."
        )
    sum_x, sum_y = n * s.x_mean, n * s.y_mean
    sum_xy = s.sxy + n * s.x_mean * s.y_mean
    equations = {
        "sse": (
            "SSE = Σᵢ (yᵢ − (m·xᵢ + c))² = SSE* + Sxx·(m − m*)² + N·(c − c* + x̄·(m − m*))²"
            f" = {s.sse_min:.6g} + {s.sxx:.6g}·{_num(dm)}² + {s.n}·{_num(u)}² = {sse:.6g}"
        ),
        "d_m": (
            "∂SSE/∂m = −2 Σᵢ xᵢ·(yᵢ − (m·xᵢ + c)) = 2(Σx²)·m + 2(Σx)·c − 2(Σxy)"
            f" = {2 * s.sum_xx:.6g}·{_num(m)} + {2 * sum_x:.6g}·{_num(c)} − {2 * sum_xy:.6g}"
            f" = {d_m:.6g}"
        ),
        "d_c": (
            "∂SSE/∂c = −2 Σᵢ (yᵢ − (m·xᵢ + c)) = 2(Σx)·m + 2N·c − 2(Σy)"
            f" = {2 * sum_x:.6g}·{_num(m)} + {2 * s.n}·{_num(c)} − {2 * sum_y:.6g} = {d_c:.6g}"
        ),
    }
    return LinePoint(m=m, c=c, sse=sse, d_m=d_m, d_c=d_c, equations=equations)
