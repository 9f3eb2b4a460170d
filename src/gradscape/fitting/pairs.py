"""The SSE of a fit as an objective, and its surface over two parameters with the solver's path.

The surface holds every other parameter at its estimate, so it is a slice through the
``p``-dimensional SSE; the path drawn on it is the solver's, projected onto the two
parameters (with more than two parameters the others move too).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, listing
from ..objectives import Objective
from ..sweep import Surface, surface
from .fits import Fit
from .models import FitData
from .solve import sse_objective as _sse_objective

#: Most grid points per axis of a pair surface.
MAX_PAIR_POINTS = 301


def check_pair(parameters: tuple[str, ...], x: str, y: str) -> tuple[str, str]:
    """``(x, y)`` if both are parameters and differ.

    Raises:
        InputError: a name that is not a parameter, the same one twice, or a model of one
            parameter.
    """
    unknown = [n for n in (x, y) if n not in parameters]
    if unknown:
        raise InputError(
            f"{listing(map(repr, unknown))} is not a parameter of the model; its parameters are "
            f"{listing(parameters)}."
        )
    if x == y:
        raise InputError(f"A pair needs two different parameters; got {x!r} twice.")
    return x, y


def default_pair(fit: Fit) -> tuple[str, str] | None:
    """The two parameters whose estimates are most correlated (``|r|``; the only two where
    there are two): their SSE surface shows the valley a solver has to follow. ``None`` for a
    model of one parameter."""
    p = len(fit.parameters)
    if p < 2:
        return None
    corr = np.abs(np.nan_to_num(np.asarray(fit.corr, np.float64), nan=-1.0))
    np.fill_diagonal(corr, -np.inf)
    a, b = sorted(int(k) for k in np.unravel_index(int(np.argmax(corr)), corr.shape))
    return fit.parameters[a], fit.parameters[b]


def sse_objective(fit: Fit) -> Objective:
    """``SSE(b) = Σ wᵢ (yᵢ − f(b; xᵢ))²`` over the fit's parameters, on the fit's data."""
    data = FitData(X=fit.X, y=fit.y, weights=fit.weights, source=fit.source,
                   weights_name=fit.weights_name, L=np.zeros((fit.n, 0)))  # fmt: skip
    objective: Objective = _sse_objective(fit._parsed, data)
    return objective


def pair_range(fit: Fit, name: str, span: float = 4.0) -> tuple[float, float]:
    """The estimate ± ``span`` standard errors, widened to hold the solver's path (5 % margin)."""
    j = fit.parameters.index(name)
    b, se = float(fit.estimates[j]), float(fit.se[j])
    half = span * se if np.isfinite(se) and se > 0 else max(abs(b) * 0.5, 1.0)
    lo, hi = b - half, b + half
    if len(fit.path):
        lo, hi = min(lo, float(fit.path[:, j].min())), max(hi, float(fit.path[:, j].max()))
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def pair_surface(fit: Fit, x: str, y: str, *, points: int = 81) -> Surface:
    """The SSE over ``x`` (columns) and ``y`` (rows), others at their estimates, on a grid
    covering ``±4`` standard errors and the solver's path.

    Raises:
        InputError: a name that is not a parameter, the same one twice, or ``points`` outside
            ``2 … MAX_PAIR_POINTS``.
    """
    from .._x64 import x64

    check_pair(fit.parameters, x, y)
    if not 2 <= points <= MAX_PAIR_POINTS:
        raise InputError(f"points must be 2 … MAX_PAIR_POINTS = {MAX_PAIR_POINTS}; got {points}.")
    with x64():
        return surface(
            sse_objective(fit),
            x,
            y,
            at=fit.params,
            x_range=pair_range(fit, x),
            y_range=pair_range(fit, y),
            points=points,
        )
