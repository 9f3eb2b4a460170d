"""How sure a fit is: standard errors, correlations, profile-likelihood intervals and bands.

Standard errors are ``s²(JᵀJ)⁻¹`` computed from the singular value decomposition of the weighted
Jacobian with its columns scaled to unit length (never an inverse of ``JᵀJ``, whose condition
number is the square of ``J``'s): ``cov = s² · D⁻¹ V S⁻² Vᵀ D⁻¹``. Directions whose singular value
is below ``max(n, p) · ε · S₁`` are not determined by the data: the parameters they involve get
an infinite standard error, and the fit says so.

The profile-likelihood interval of ``bⱼ`` is the set of values ``v`` where the SSE with ``bⱼ = v``
and every other parameter re-optimised stays within ``t²`` of the minimum in units of ``s²``:
``|τ(v)| ≤ t_{dof, 1−α/2}`` with ``τ(v) = sign(v − b̂ⱼ) √(SSE(v) − SSE_min) / s`` (Bates & Watts,
*Nonlinear Regression Analysis and Its Applications*, 1988, §6.1). For a linear model it equals
the Wald interval ``b̂ⱼ ± t·seⱼ``; for a nonlinear one it follows the curved SSE surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Confidence level of every interval and band.
LEVEL = 0.95
#: Profile points per side (one standard error apart), at most, before the interval is declared
#: open on that side.
PROFILE_STEPS = 20


@dataclass(frozen=True)
class Statistics:
    """The linearised statistics at a fit.

    Attributes:
        cov: covariance of the estimates, ``(p, p)`` (``inf`` where not determined).
        se: standard errors, ``(p,)``.
        corr: correlation matrix, ``(p, p)`` (``nan`` where not determined).
        s: residual standard deviation ``√(SSE / dof)`` (``nan`` for ``dof = 0``).
        dof: degrees of freedom ``n − rank`` (rows of positive weight less the directions the
            data determine: ``n − p`` at full rank).
        r2: ``1 − SSE / SST`` about the weighted mean of the response.
        singular: singular values of the column-scaled Jacobian, largest first.
        rank: how many are above ``max(n, p) · ε · S₁``.
        condition: ``S₁ / Sₚ`` (``inf`` when rank-deficient).
        null: per parameter, its share of the undetermined directions (0 when full rank).
    """

    cov: np.ndarray
    se: np.ndarray
    corr: np.ndarray
    s: float
    dof: int
    r2: float
    singular: np.ndarray
    rank: int
    condition: float
    null: np.ndarray


def statistics(J: np.ndarray, r: np.ndarray, y: np.ndarray, w: np.ndarray) -> Statistics:
    """:class:`Statistics` from the weighted Jacobian ``J`` (n, p) and residuals ``r`` (n,) at
    the fit, with the response ``y`` and weights ``w`` for R².

    Example:
        >>> J = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
        >>> st = statistics(J, np.array([0.1, -0.2, 0.1]), np.array([1.0, 2.0, 3.0]), np.ones(3))
        >>> st.dof, round(st.s, 6), st.rank
        (1, 0.244949, 2)
    """
    n_used = int(np.count_nonzero(w > 0))
    p = J.shape[1]
    sse = float(r @ r)
    norms = np.linalg.norm(J, axis=0)
    safe = np.where(norms > 0, norms, 1.0)
    _, S, Vt = np.linalg.svd(J / safe, full_matrices=False)
    tol = max(J.shape) * np.finfo(float).eps * (S[0] if S.size else 0.0)
    keep = tol < S
    rank = int(np.count_nonzero(keep))
    dof = n_used - rank  # the directions the data determine use up degrees of freedom
    s = float(np.sqrt(sse / dof)) if dof > 0 else float("nan")
    V = Vt.T
    inv = (V[:, keep] / S[keep] ** 2) @ V[:, keep].T
    cov = s**2 * inv / np.outer(safe, safe)
    null = np.sum(V[:, ~keep] ** 2, axis=1) if rank < p else np.zeros(p)
    undetermined = (null > 1e-6) | (norms == 0)
    cov[undetermined, :] = np.inf
    cov[:, undetermined] = np.inf
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(cov)) if dof > 0 else np.full(p, np.nan)
        corr = cov / np.outer(se, se)
    corr[undetermined, :] = np.nan
    corr[:, undetermined] = np.nan
    np.fill_diagonal(corr, np.where(undetermined, np.nan, 1.0))
    mean = float(np.sum(w * y) / np.sum(w))
    sst = float(np.sum(w * (y - mean) ** 2))
    condition = float(S[0] / S[-1]) if rank == p and S[-1] > 0 else float("inf")
    return Statistics(
        cov=cov,
        se=se,
        corr=corr,
        s=s,
        dof=dof,
        r2=1.0 - sse / sst if sst > 0 else float("nan"),
        singular=S,
        rank=rank,
        condition=condition,
        null=null,
    )


def t_quantile(dof: int, level: float = LEVEL) -> float:
    """Student's ``t`` quantile for a two-sided interval of ``level`` (``inf`` for ``dof < 1``)."""
    if dof < 1:
        return float("inf")
    from scipy.special import stdtrit  # the t quantile (scipy.stats costs 0.3 s to import)

    return float(stdtrit(dof, 0.5 + level / 2))


@dataclass(frozen=True)
class Profile:
    """One parameter's profile: SSE with it fixed and the others re-optimised.

    Attributes:
        values: the fixed values, ascending, the estimate among them.
        sse: the re-optimised SSE at each.
        tau: the signed root ``τ(v)``.
        lower, upper: the profile-likelihood interval's ends (``nan`` where the SSE never rose
            far enough: open on that side).
        lower_note, upper_note: why an end is open, or ``""``.
        better: a value where the SSE fell below the fit's minimum, or ``nan``.
        better_point: the parameters there (all of them), or empty.
    """

    values: np.ndarray
    sse: np.ndarray
    tau: np.ndarray
    lower: float
    upper: float
    lower_note: str
    upper_note: str
    better: float
    better_point: np.ndarray


def profile(
    refit: Callable[[int, float, np.ndarray], tuple[float, np.ndarray] | None],
    x: np.ndarray,
    j: int,
    se: float,
    sse_min: float,
    s: float,
    t: float,
    lo: float,
    hi: float,
    name: str,
    noise: float = 0.0,
) -> Profile:
    """Walk ``bⱼ`` away from its estimate on both sides until ``|τ| > t`` (then find the
    crossing by Brent's method) or a bound, the step cap or a failed re-fit stops it.

    Args:
        refit: ``refit(j, v, warm) -> (sse, params)`` with ``bⱼ = v`` and the others
            re-optimised from ``warm``; ``None`` where it cannot (residuals not finite).
        x: the fit; ``se``, ``sse_min``, ``s``: its statistics; ``t``: the critical value.
        lo, hi: ``bⱼ``'s bounds.
        noise: the SSE's rounding error; a lower SSE counts as a better point only beyond it.
    """
    from scipy.optimize import brentq

    points: dict[float, float] = {float(x[j]): sse_min}
    best = (float("nan"), np.zeros(0))
    lowest = sse_min

    def tau(v: float, sse: float) -> float:
        return float(np.sign(v - x[j]) * np.sqrt(max(sse - sse_min, 0.0)) / s)

    ends: list[tuple[float, str]] = []
    for side in (-1.0, 1.0):
        h = se if np.isfinite(se) and se > 0 else max(abs(x[j]) * 0.1, 1e-3)
        warm, before = x.copy(), x.copy()
        prev_v, prev_t = float(x[j]), 0.0
        end, note = float("nan"), ""
        for k in range(1, PROFILE_STEPS + 1):
            v = float(x[j] + side * k * h)
            if not lo <= v <= hi:
                note = f"{name} reaches its bound {lo if side < 0 else hi:g} first"
                break
            # the others continue along the line through the last two solutions
            got = refit(j, v, 2 * warm - before if k > 1 else warm)
            if got is None:
                note = (
                    f"the SSE is not finite beyond {name} = {prev_v:.6g} (the model overflows or"
                    " is undefined there)"
                )
                break
            sse, (before, warm) = got[0], (warm, got[1])
            points[v] = sse
            if sse < lowest - max(1e-9 * lowest, noise):
                lowest, best = sse, (v, warm.copy())
            tv = tau(v, sse)
            if abs(tv) >= t and abs(prev_t) < t:

                def g(
                    u: float,
                    a: np.ndarray = before,
                    b: np.ndarray = warm,
                    u0: float = prev_v,
                    u1: float = v,
                ) -> float:
                    share = (u - u0) / (u1 - u0)
                    out = refit(j, u, a + share * (b - a))
                    if out is None:
                        return np.inf
                    points[u] = out[0]  # the curve drawn passes through the interval's ends
                    return abs(tau(u, out[0])) - t

                try:
                    end = float(brentq(g, prev_v, v, xtol=1e-8 * (abs(v) + h), rtol=1e-8))
                except (ValueError, RuntimeError):
                    end = float(prev_v + (v - prev_v) * (t - abs(prev_t)) / (abs(tv) - abs(prev_t)))
            if abs(tv) >= 1.5 * t and np.isfinite(end):
                break
            prev_v, prev_t = v, tv
        else:
            if not np.isfinite(end):
                note = (
                    f"the SSE rises too little within {PROFILE_STEPS} standard errors: the "
                    "data hardly bound it on this side"
                )
        ends.append((end, "" if np.isfinite(end) else note))
    values = np.array(sorted(points))
    sses = np.array([points[v] for v in values])
    return Profile(
        values=values,
        sse=sses,
        tau=np.array([tau(float(v), float(e)) for v, e in zip(values, sses, strict=True)]),
        lower=ends[0][0],
        upper=ends[1][0],
        lower_note=ends[0][1],
        upper_note=ends[1][1],
        better=best[0],
        better_point=best[1],
    )


def bands(
    f: np.ndarray, G: np.ndarray, cov: np.ndarray, s: float, t: float, weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Half-widths of the confidence and prediction bands by the delta method.

    Args:
        f: fitted values at the band's points, ``(g,)``; ``G``: ``∂f/∂b`` there, ``(g, p)``.
        cov: the estimates' covariance; ``s``: residual standard deviation; ``t``: critical value.
        weight: of the new observation (its variance is ``s²/weight``); ``nan`` for none.

    Returns:
        ``(t·√(gᵀ cov g), t·√(gᵀ cov g + s²/weight))`` per point: the curve's uncertainty, and
        a new observation's.
    """
    var = np.einsum("ip,pq,iq->i", G, cov, G)
    var = np.where(np.isfinite(var), np.maximum(var, 0.0), np.inf)
    return t * np.sqrt(var), t * np.sqrt(var + s**2 / weight)
