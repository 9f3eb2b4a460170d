"""Residuals beyond float64 where a model fits its data to rounding.

When a model reproduces its data almost exactly (NIST's Lanczos1: SSE 1.4e-25 on values near 1),
float64 residuals ``yᵢ − f(b; xᵢ)`` are differences of nearly equal numbers and carry only a few
correct digits, and so do the SSE, ``s`` and every standard error. Then the residuals are
computed in :data:`DIGITS`-digit arithmetic (SymPy's ``evalf`` on the model's own expression tree,
no code generated) and the estimates refined by Gauss–Newton steps on those residuals (the
float64 Jacobian is accurate enough for the step's direction: classic iterative refinement).
The work is per row, so it is done only where it is needed and for at most
:data:`MAX_EXACT_ROWS` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp

from .models import FitData, FitModel

#: Residuals whose root mean square is below this fraction of the response's are refined.
ROUNDING = 1e-11
#: Digits of the refined residuals.
DIGITS = 50
#: Most rows refined (each costs about a millisecond per step).
MAX_EXACT_ROWS = 500
#: Gauss–Newton refinement steps, at most.
STEPS = 4


def rounding_limited(r: np.ndarray, fd: FitData) -> bool:
    """Whether the float64 residuals ``r`` are at the rounding level of the response."""
    scale = float(np.sqrt(np.mean(fd.weights * fd.y**2)))
    return bool(np.sqrt(np.mean(r**2)) < ROUNDING * scale)


def residuals(fm: FitModel, fd: FitData, b: np.ndarray) -> np.ndarray:
    """``√wᵢ (lhsᵢ − f(b; xᵢ))`` computed with :data:`DIGITS` digits, both sides from the data
    (the decimals as written in the file where there is one, else the binary numbers given),
    rounded to float64 at the end."""
    lhs, rhs = fm.lhs, fm.rhs
    p = fm.p
    e = rhs.sympy.xreplace(
        {s: sp.Float(float(v), DIGITS) for s, v in zip(rhs.symbols[:p], b, strict=True)}
    )
    cols = {c: fd.L[:, j] for j, c in enumerate(fm.lhs_columns)}
    cols.update({c: fd.X[:, j] for j, c in enumerate(fm.inputs)})
    out = np.empty(fd.n)
    for i in range(fd.n):

        def value(c: str, i: int = i) -> Any:
            return _number(fd.texts[c][i] if fd.texts and c in fd.texts else None, cols[c][i])

        y = lhs.sympy.xreplace(
            {s: value(c) for s, c in zip(lhs.symbols, lhs.variables, strict=True)}
        )
        f = e.xreplace({s: value(c) for s, c in zip(rhs.symbols[p:], fm.inputs, strict=True)})
        r = (y - f) * sp.sqrt(sp.Float(float(fd.weights[i]), DIGITS))
        out[i] = float(r.evalf(DIGITS))
    return out


def _number(text: str | None, value: float) -> Any:
    """The cell as an exact decimal when its text is one SymPy reads as such, else ``value``."""
    if text is not None:
        try:
            x = sp.Float(text.strip(), DIGITS)
        except (ValueError, TypeError, SyntaxError):
            x = None
        if x is not None and float(x) == value:
            return x
    return sp.Float(float(value), DIGITS)


def refine(
    residuals_of: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    free: np.ndarray,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Newton steps from ``b``, each kept only if it does not raise the SSE of ``residuals_of``
    (float64, or :func:`residuals` in extended precision); returns the parameters and their
    residuals. ``jacobian(b)`` is the float64 ``∂r/∂b``; only ``free`` parameters move, and a
    step that would leave the bounds ``[lo, hi]`` ends the refinement.

    A trust-region solver stops when its step is small relative to the whole parameter vector,
    so a parameter much smaller than the others can be left a few digits short; these steps,
    at a point already in the quadratic basin, finish it.
    """
    r = residuals_of(b)
    for _ in range(STEPS):
        J = jacobian(b)[:, free]
        delta = np.linalg.lstsq(J, r, rcond=None)[0]
        trial = b.copy()
        trial[free] = b[free] - delta
        if np.array_equal(trial, b):
            break
        if lo is not None and hi is not None and np.any((trial < lo) | (trial > hi)):
            break
        r_new = residuals_of(trial)
        # kept when the SSE does not rise beyond its own rounding: at a flat minimum the step
        # is still accurate (Jᵀr is) where the SSE cannot see the change any more
        if not np.all(np.isfinite(r_new)) or r_new @ r_new > (r @ r) * (1 + 1e-13):
            break
        b, r = trial, r_new
    return b, r
