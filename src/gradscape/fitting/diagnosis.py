"""Why a fit stopped, in words, and whether to trust it.

A solver's "converged" only says that a tolerance was met. At the point where it stopped, these
checks decide whether that point is a minimum the data determine:

- **the next step**: at a minimum the Gauss–Newton step ``δ = argmin ‖r − Jδ‖`` (from the exact
  Jacobian, by SVD) is zero to rounding. A solver that stopped on a small step or a small
  change of SSE while ``δ`` would still move a parameter by more than :data:`STEP` of
  ``|bⱼ| + seⱼ`` stopped short: false convergence. (A gradient test such as
  ``|Jⱼᵀr| / ‖Jⱼ‖‖r‖`` cannot tell: where a model fits to rounding, the gradient at the best
  float64 parameters is still visibly nonzero.) NIST's problems end with ``δ`` below 1e-8;
  finite-difference solvers stop with ``δ`` of 1e-2 on Hahn1 and ENSO.
- **the Jacobian**: rank-deficient (some combination of parameters is not determined by the
  data) or badly conditioned (condition number of the column-scaled Jacobian above
  :data:`CONDITION`: estimates strongly correlated, few digits certain).
- **the scatter**: with one input, the residual variance is compared with what the data allow,
  the variance of neighbouring points about each other (Rice's difference estimator,
  ``Σ(yᵢ₊₁ − yᵢ)² / 2(n − 1)`` in the order of x). A residual variance :data:`SCATTER` times
  larger says the curve misses the data's shape: a local minimum or a model that does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import listing
from .uncertainty import Statistics

#: Largest Gauss–Newton step, relative to ``|bⱼ| + seⱼ``, that counts as none.
STEP = 1e-6
#: Condition number of the column-scaled Jacobian above which the fit is badly conditioned.
CONDITION = 1e8
#: Residual variance over the neighbouring-point variance above which the curve misses the data.
SCATTER = 10.0

#: The solver's stop codes, in words.
STOPS = {
    0: "stopped at the cap of {cap:,} evaluations before converging",
    1: "the gradient vanished (gtol)",
    2: "the SSE stopped changing (its relative change fell below ftol)",
    3: "the step became negligible (relative step below xtol)",
    4: "the SSE stopped changing and the step became negligible (ftol and xtol)",
    5: "no further reduction of the SSE is possible in float64",
}


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on a fit.

    Attributes:
        verdict: ``"converged"``, ``"suspect"`` (a check failed: do not trust it as the best
            fit) or ``"failed"`` (it did not converge).
        stop: why the solver stopped, in words.
        warnings: each failed check, one line each.
        suggestions: what to try.
        step: the largest Gauss–Newton step left, relative to ``|bⱼ| + seⱼ``.
        scatter: residual variance over the neighbouring-point variance (``nan`` when not
            computed).
    """

    verdict: str
    stop: str
    warnings: tuple[str, ...]
    suggestions: tuple[str, ...]
    step: float
    scatter: float


def at_bound(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Which parameters sit on a bound (within 1e-10 of its size: the trust-region reflective
    method stays strictly inside)."""
    tol = 1e-10 * (1 + np.abs(x))
    out: np.ndarray = (np.isfinite(lo) & (x <= lo + tol)) | (np.isfinite(hi) & (x >= hi - tol))
    return out


def gauss_newton_step(
    J: np.ndarray, r: np.ndarray, x: np.ndarray, se: np.ndarray, free: np.ndarray
) -> tuple[float, int]:
    """The largest ``|δⱼ| / (|bⱼ| + seⱼ)`` of the Gauss–Newton step over the free parameters,
    and which parameter it is (``-1`` when none is free)."""
    if not np.any(free):
        return 0.0, -1
    delta = np.zeros_like(x)
    delta[free] = np.linalg.lstsq(J[:, free], r, rcond=None)[0]
    scale = np.abs(x) + np.where(np.isfinite(se), se, 0.0)
    rel = np.where(free, np.abs(delta) / np.where(scale > 0, scale, 1.0), 0.0)
    j = int(np.argmax(rel))
    return float(rel[j]), j


def neighbour_variance(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Rice's variance estimate from differences of neighbouring points in the order of ``x``
    (weighted: the differences of ``√w·y``), ``nan`` when fewer than 8 rows."""
    used = w > 0
    if used.sum() < 8:
        return float("nan")
    order = np.argsort(x[used], kind="stable")
    z = (np.sqrt(w[used]) * y[used])[order]
    d = np.diff(z)
    return float(np.sum(d**2) / (2 * len(d)))


def diagnose(
    status: int,
    stats: Statistics,
    J: np.ndarray,
    r: np.ndarray,
    names: tuple[str, ...],
    x: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    scatter_x: np.ndarray | None,
    y: np.ndarray,
    w: np.ndarray,
    cap: int,
) -> Diagnosis:
    """Judge the point a solve stopped at (see the module's docstring for the checks).

    Args:
        status: the solver's stop code (:data:`STOPS`).
        stats: the statistics at the end; ``J``, ``r``: weighted Jacobian and residuals there.
        x, lo, hi: the parameters and their bounds (a parameter at a bound is exempt from the
            gradient check: the minimum may lie beyond).
        scatter_x: the one input (for the scatter check), or ``None``.
        cap: the evaluation cap, for the words.
    """
    stop = STOPS[status].format(cap=cap)
    warnings: list[str] = []
    suggestions: list[str] = []
    verdict = "converged"
    bound = at_bound(x, lo, hi)
    free = ~bound
    step, j = gauss_newton_step(J, r, x, stats.se, free)
    if status == 0:
        verdict = "failed"
        suggestions.append("give starting values closer to the answer")
    elif step > STEP:
        verdict = "suspect"
        warnings.append(
            f"false convergence: the solver stopped ({stop}) but this is not a minimum: a "
            f"Gauss-Newton step from here would still move {names[j]} by {step:.1e} of "
            f"|{names[j]}| + se (above {STEP:.0e})"
        )
        suggestions.append("start elsewhere, or search many starts within bounds")
    if stats.rank < len(names):
        verdict = "suspect" if verdict == "converged" else verdict
        involved = [n for n, v in zip(names, stats.null, strict=True) if v > 1e-6]
        warnings.append(
            f"the Jacobian is rank-deficient (rank {stats.rank} of {len(names)}): the data do "
            f"not determine {listing(involved)} apart; their standard errors are infinite"
        )
        suggestions.append(
            f"fix one of {listing(involved)} or rewrite the model so each parameter shows in "
            "the data"
            if len(involved) > 1
            else f"fix {involved[0] if involved else 'a parameter'} or give data that depend on it"
        )
    elif stats.condition > CONDITION:
        i, k = np.unravel_index(
            np.nanargmax(np.abs(stats.corr - np.eye(len(names)))), stats.corr.shape
        )
        warnings.append(
            f"the Jacobian is badly conditioned (condition number {stats.condition:.1e} after "
            f"scaling its columns): {names[i]} and {names[k]} are correlated "
            f"{stats.corr[i, k]:+.6f}, so their estimates carry fewer certain digits"
        )
        suggestions.append(
            "rescale or reparametrise the model (e.g. centre an input: x - mean(x)) so the "
            "parameters are less correlated"
        )
    if stats.dof == 0:
        warnings.append(
            f"no degrees of freedom: {stats.rank} parameter(s) determined by as many rows, so "
            "the curve passes through every point and no standard error or interval can be "
            "estimated"
        )
        suggestions.append("add rows (more data than parameters) to learn how sure the fit is")
    scatter = float("nan")
    if scatter_x is not None and stats.dof > 0:
        noise = neighbour_variance(scatter_x, y, w)
        if np.isfinite(noise) and noise > 0:
            scatter = stats.s**2 / noise
            if scatter > SCATTER:
                verdict = "suspect" if verdict == "converged" else verdict
                warnings.append(
                    f"the residuals are {np.sqrt(scatter):.1f} times larger than the scatter of "
                    f"neighbouring points (s = {stats.s:.4g} against about {np.sqrt(noise):.4g}):"
                    " the curve misses the shape of the data — a local minimum, or a model "
                    "that does not fit"
                )
                suggestions.append("search many starts within bounds, and look at the residuals")
    if np.any(bound):
        warnings.append(
            f"{listing([n for n, b in zip(names, bound, strict=True) if b])} ended on a "
            "bound: the best fit may lie beyond it, and the standard errors and intervals "
            "ignore the bound"
        )
        suggestions.append("widen the bounds if the model allows")
    return Diagnosis(
        verdict=verdict,
        stop=stop,
        warnings=tuple(warnings),
        suggestions=tuple(dict.fromkeys(suggestions)),
        step=step,
        scatter=scatter,
    )
