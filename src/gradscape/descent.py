r"""Gradient descent with one update rule per parameter, recorded step by step.

.. math:: \theta_i \leftarrow \theta_i - \eta_i \, \frac{\partial f}{\partial \theta_i}

Each parameter moves against its own partial derivative; ``lr`` may be one number for all or one
per parameter. The loop runs compiled (``jax.lax.scan``) in segments, so a Python check between
segments can stop early, show progress and keep memory bounded. Every step of the first
``head`` steps is recorded, later steps every ``record_every`` so that at most about
``max_records`` rows are kept; the last step is always recorded.

The last :data:`_TAIL` steps are recorded one by one too, so the path's end is exact.

Stop reasons: ``converged`` (gradient norm at most ``gtol``), ``max_steps``, ``diverged`` (the
value or the parameters became non-finite, or the value grew a millionfold above its start).
Divergence is never returned silently: the result says so, keeps the best point seen, and gives
the largest stable learning rate :math:`2/\lambda_{max}` from the Hessian at the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .calculus import hessian, value_and_gradient
from .errors import InputError, listing
from .objectives import Objective, Params
from .results import Result

Progress = Callable[[int, int], None]

STOP_REASONS = ("running", "converged", "max_steps", "diverged")
_GROWTH = 1e6  # the value grew this many times its start's magnitude: divergence
_SEGMENT = 1024  # records per compiled segment
_TAIL = 8  # the last steps are always recorded, one by one, whatever the recording stride

#: Largest step budget :func:`descend` accepts (about a minute or two of compiled steps on a
#: laptop core for a small objective).
MAX_STEPS = 100_000_000


@dataclass(frozen=True, eq=False)
class Trajectory(Result):
    r"""The recorded path of a descent.

    Attributes:
        names: parameter names.
        steps: step number of each recorded row, shape ``(k,)``; row 0 is the start.
        params: parameters at each recorded step, shape ``(k, n)``.
        values: objective value there, shape ``(k,)``.
        gradients: gradient there, shape ``(k, n)``.
        step_sizes: length ``‖Δθ‖`` of the step taken from there, shape ``(k,)`` (0 at the end).
        lr: learning rate per parameter.
        n_steps: number of steps taken.
        converged: whether the gradient norm reached ``gtol``.
        stop_reason: one of ``converged``, ``max_steps``, ``diverged``.
        message: the stop explained in one sentence.
        best_params: the lowest point seen, shape ``(n,)``.
        best_value: the value there.
        best_step: the step it was reached at.
        gtol: gradient-norm tolerance.
        max_steps: step budget.
        record_every: recording stride after the first ``head`` steps.
        max_stable_lr: :math:`2/\lambda_{max}` of the Hessian at the start (``None`` when
            the curvature there is not positive).
    """

    names: tuple[str, ...]
    steps: np.ndarray
    params: np.ndarray
    values: np.ndarray
    gradients: np.ndarray
    step_sizes: np.ndarray
    lr: tuple[float, ...]
    n_steps: int
    converged: bool
    stop_reason: str
    message: str
    best_params: np.ndarray
    best_value: float
    best_step: int
    gtol: float
    max_steps: int
    record_every: int
    max_stable_lr: float | None

    @property
    def final_params(self) -> dict[str, float]:
        """The parameters where descent stopped, as ``{name: value}``."""
        return {n: float(v) for n, v in zip(self.names, self.params[-1], strict=True)}

    @property
    def final_value(self) -> float:
        return float(self.values[-1])

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "diverged"


def _positive(name: str, v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(
            f"The '{name}' parameter of descend must be a float > 0. Got {v!r} instead."
        ) from None
    if not (math.isfinite(f) and f > 0):
        raise InputError(
            f"The '{name}' parameter of descend must be a float > 0. Got {v!r} instead."
        )
    return f


def safe_norm(v: np.ndarray, axis: int | None = None) -> np.ndarray:
    """The Euclidean norm without underflow or overflow: ``max|v| · ‖v / max|v|‖``."""
    v = np.asarray(v, dtype=np.float64)
    top = np.max(np.abs(v), axis=axis, keepdims=True)
    scale = np.where(top > 0, top, 1.0)
    out = np.squeeze(top, axis=axis) * np.linalg.norm(v / scale, axis=axis)
    return np.asarray(out)


def _check_steps(name: str, v: Any) -> int:
    """A step budget: a whole number from 1 to :data:`MAX_STEPS`."""
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or not 1 <= v <= MAX_STEPS:
        raise InputError(
            f"The '{name}' parameter of descend must be an int from 1 to {MAX_STEPS:,} "
            f"(MAX_STEPS). Got {v!r} instead."
        )
    return int(v)


def _lr_vector(obj: Objective, lr: float | Mapping[str, float]) -> np.ndarray:
    if isinstance(lr, Mapping):
        unknown = [k for k in lr if k not in obj.names]
        missing = [n for n in obj.names if n not in lr]
        if unknown or missing:
            raise InputError(
                f"Per-parameter learning rates need exactly {listing(obj.names)}; "
                + (f"missing {listing(missing)}" if missing else f"unknown {listing(unknown)}")
                + "."
            )
        return np.array([_positive(f"lr[{n}]", lr[n]) for n in obj.names])
    return np.full(obj.n, _positive("lr", lr))


def max_stable_lr(obj: Objective, at: Params) -> float | None:
    r"""Largest stable plain-GD learning rate near ``at``: :math:`2/\lambda_{max}(H)`.

    Exact for a quadratic; a local estimate elsewhere. ``None`` when no eigenvalue is positive.
    """
    lam = float(np.linalg.eigvalsh(hessian(obj, at))[-1])
    return 2.0 / lam if lam > 0 else None


#: The default gradient tolerance, relative to the gradient at the start(s)
#: (see :func:`gradscape.runs.default_gtol`).
GTOL = 1e-8


@with_x64
def descend(
    obj: Objective,
    start: Params,
    *,
    lr: float | Mapping[str, float],
    max_steps: int = 1000,
    gtol: float | None = None,
    head: int = 1000,
    max_records: int = 100_000,
    progress: Progress | None = None,
) -> Trajectory:
    r"""Plain gradient descent from ``start``, every parameter with its own update rule.

    Args:
        start: starting parameters.
        lr: learning rate :math:`\eta`, one float or ``{name: float}`` per parameter.
        max_steps: step budget.
        gtol: stop when :math:`\|\nabla f\| \le` ``gtol`` (default
            ``1e-8·‖∇f(start)‖``, as :func:`gradscape.runs.default_gtol`).
        head: the first ``head`` steps are all recorded.
        max_records: about how many rows to keep after ``head``.
        progress: called as ``progress(steps_done, max_steps)`` between segments.

    Returns:
        A :class:`Trajectory`.

    Raises:
        InputError: ``lr``, ``max_steps`` or ``gtol`` out of range.
        NumericalError: the value or gradient at ``start`` is not finite.
    """
    import jax.numpy as jnp

    theta0 = obj.vector(start)
    lrs = _lr_vector(obj, lr)
    _check_steps("max_steps", max_steps)
    if gtol is not None and not (
        isinstance(gtol, int | float) and math.isfinite(gtol) and gtol >= 0
    ):
        raise InputError(
            f"The 'gtol' parameter of descend must be a float >= 0. Got {gtol!r} instead."
        )
    max_steps = int(max_steps)
    f0, g0 = value_and_gradient(obj, theta0)
    if gtol is None:
        gtol = GTOL * float(safe_norm(g0))
    stable = max_stable_lr(obj, theta0) if obj.n <= 200 else None

    segment = _segment(obj)
    settings = (
        jnp.asarray(lrs), jnp.asarray(float(gtol)), jnp.asarray(max_steps, jnp.int64),
        jnp.asarray(f0 + _GROWTH * max(abs(f0), np.finfo(np.float64).tiny)),
    )  # fmt: skip

    state = (
        jnp.asarray(theta0), jnp.asarray(f0), jnp.asarray(g0), jnp.asarray(0, jnp.int64),
        jnp.asarray(False), jnp.asarray(0, jnp.int32), jnp.asarray(theta0), jnp.asarray(f0),
        jnp.asarray(0, jnp.int64),
        # the last _TAIL steps: step numbers (-1: empty), parameters, values, gradients
        jnp.full(_TAIL, -1, jnp.int64), jnp.zeros((_TAIL, obj.n)), jnp.zeros(_TAIL),
        jnp.zeros((_TAIL, obj.n)),
    )  # fmt: skip
    rows: list[tuple[np.ndarray, ...]] = []
    stride = 1
    later = max(1, math.ceil(max(max_steps - head, 0) / max(max_records, 1)))
    while True:
        state, rec = segment(state, stride, *settings)
        rows.append(tuple(np.asarray(r) for r in rec))
        k_now = int(state[3])
        if progress is not None:
            progress(k_now, max_steps)
        if bool(state[4]):
            break
        if k_now >= head:
            stride = later
    theta, f, g, k, _, reason, best_t, best_f, best_k, *tail = (np.asarray(s) for s in state)

    filled = tail[0] >= 0
    ks = np.concatenate([r[0] for r in rows] + [tail[0][filled], [k]])
    ps = np.concatenate([r[1] for r in rows] + [tail[1][filled], [theta]])
    fs = np.concatenate([r[2] for r in rows] + [tail[2][filled], [f]])
    gs = np.concatenate([r[3] for r in rows] + [tail[3][filled], [g]])
    ks, first = np.unique(ks, return_index=True)  # a step recorded twice holds the same row
    ps, fs, gs = ps[first], fs[first], gs[first]
    sizes = safe_norm(gs * lrs, axis=1)
    sizes[-1] = 0.0

    why = STOP_REASONS[int(reason)]
    gnorm = float(safe_norm(g))
    n_steps = int(k)
    if why == "converged":
        msg = f"converged after {n_steps} steps: gradient norm {gnorm:.3g} ≤ gtol {gtol:.3g}"
    elif why == "max_steps":
        msg = (
            f"stopped at the step budget ({max_steps}) before converging: gradient norm {gnorm:.3g} "
            f"> gtol {gtol:.3g}; raise the step budget or the learning rate"
        )
    else:
        hint = (
            f"the largest stable learning rate here is 2/λmax = {stable:.4g}; use a smaller lr"
            if stable is not None
            else "use a smaller lr"
        )
        msg = f"diverged at step {n_steps + 1} (lr {_fmt_lr(lrs)}): the value blew up; {hint}"
    return Trajectory(
        names=obj.names,
        steps=ks.astype(np.int64),
        params=ps,
        values=fs,
        gradients=gs,
        step_sizes=sizes,
        lr=tuple(float(v) for v in lrs),
        n_steps=n_steps,
        converged=why == "converged",
        stop_reason=why,
        message=msg,
        best_params=best_t,
        best_value=float(best_f),
        best_step=int(best_k),
        gtol=float(gtol),
        max_steps=max_steps,
        record_every=int(later),
        max_stable_lr=stable,
    )


def _segment(obj: Objective) -> Callable[..., Any]:
    """The compiled descent loop of ``obj``: ``_SEGMENT`` records, ``stride`` steps apart.

    Settings (learning rates, tolerance, budget, divergence limit) are arguments, not constants,
    so one compilation serves every run on this objective.
    """
    import jax
    import jax.numpy as jnp

    if "descent" in obj.compiled:
        return obj.compiled["descent"]  # type: ignore[no-any-return]
    vg = jax.value_and_grad(obj.fn)

    def one_step(
        state: tuple[Any, ...], lr: Any, gtol: Any, max_steps: Any, limit: Any
    ) -> tuple[Any, ...]:
        theta, f, g, k, done, reason, best_t, best_f, best_k, ring_k, ring_t, ring_f, ring_g = state
        top = jnp.max(jnp.abs(g))  # scaled: the squares of a tiny gradient would underflow to 0
        gnorm = top * jnp.linalg.norm(g / jnp.where(top > 0, top, 1.0))
        converged = gnorm <= gtol
        out_of_steps = k >= max_steps
        stop = ~done & (converged | out_of_steps)
        reason = jnp.where(stop, jnp.where(converged, 1, 2), reason)
        done = done | converged | out_of_steps
        new_t = theta - lr * g
        new_f, new_g = vg(new_t)
        bad = (
            ~jnp.isfinite(new_f)
            | ~jnp.all(jnp.isfinite(new_t))
            | ~jnp.all(jnp.isfinite(new_g))
            | (new_f > limit)
        )
        reason = jnp.where(~done & bad, 3, reason)
        take = ~done & ~bad
        done = done | bad
        theta = jnp.where(take, new_t, theta)
        f = jnp.where(take, new_f, f)
        g = jnp.where(take, new_g, g)
        k = k + take.astype(k.dtype)
        better = take & (new_f < best_f)
        best_t = jnp.where(better, new_t, best_t)
        best_f = jnp.where(better, new_f, best_f)
        best_k = jnp.where(better, k, best_k)
        slot = k % _TAIL  # a ring of the last steps, written only when a step is taken
        ring_k = ring_k.at[slot].set(jnp.where(take, k, ring_k[slot]))
        ring_t = ring_t.at[slot].set(jnp.where(take, theta, ring_t[slot]))
        ring_f = ring_f.at[slot].set(jnp.where(take, f, ring_f[slot]))
        ring_g = ring_g.at[slot].set(jnp.where(take, g, ring_g[slot]))
        return (
            theta, f, g, k, done, reason, best_t, best_f, best_k, ring_k, ring_t, ring_f, ring_g
        )  # fmt: skip

    @jax.jit
    def segment(state: tuple[Any, ...], stride: Any, *settings: Any) -> tuple[tuple[Any, ...], Any]:
        def record(s: tuple[Any, ...], _: Any) -> tuple[tuple[Any, ...], Any]:
            row = (s[3], s[0], s[1], s[2])  # emitted before stepping: row k is the state at step k
            s = jax.lax.fori_loop(0, stride, lambda _, t: one_step(t, *settings), s)
            return s, row

        return jax.lax.scan(record, state, length=_SEGMENT)

    obj.compiled["descent"] = segment
    return segment


def _fmt_lr(lrs: np.ndarray) -> str:
    return (
        f"{lrs[0]:.4g}" if np.all(lrs == lrs[0]) else "[" + ", ".join(f"{v:.4g}" for v in lrs) + "]"
    )


@dataclass(frozen=True)
class DescentPlan:
    r"""Learning rate, tolerance and step budget chosen from the curvature at the start.

    For a quadratic with Hessian eigenvalues :math:`\lambda_{min} \le \dots \le \lambda_{max}`,
    plain GD is stable for :math:`\eta < 2/\lambda_{max}`; with :math:`\eta = 1/\lambda_{max}`
    the steepest direction is solved in one step and the gradient shrinks at least by
    :math:`(1 - 1/\kappa)` per step, :math:`\kappa = \lambda_{max}/\lambda_{min}`.

    Attributes:
        lr: the learning rate.
        lr_reason: why this learning rate.
        max_steps: the step budget.
        steps_reason: why this budget.
        gtol: gradient-norm tolerance.
        lam_max, lam_min: extreme Hessian eigenvalues at the start.
        condition: :math:`\kappa`.
        max_stable_lr: :math:`2/\lambda_{max}`.
        predicted_steps: steps plain GD needs at ``lr`` to reach ``gtol`` (quadratic model).
        gradient_floor: the smallest gradient norm float64 resolves near the minimum here,
            about :math:`16\,\epsilon\,\||H|\,|\theta^*|\|`.
        resolvable: whether ``gtol`` asks for no less than ``gradient_floor``; when not, the
            tolerance was raised to the floor and a stop on it certifies less than was asked.
    """

    lr: float
    lr_reason: str
    max_steps: int
    steps_reason: str
    gtol: float
    lam_max: float
    lam_min: float
    condition: float
    max_stable_lr: float
    predicted_steps: int
    gradient_floor: float = 0.0
    resolvable: bool = True


def predicted_steps(lr: float, eigenvalues: np.ndarray, shrink: float) -> float:
    """Steps for plain GD at ``lr`` to shrink the gradient of a quadratic by ``shrink`` (< 1).

    Each direction contracts by :math:`|1 - \\eta\\lambda|` per step; the slowest one sets the
    count. ``inf`` when some direction does not contract (:math:`\\eta\\lambda \\ge 2` or
    :math:`\\lambda \\le 0`).
    """
    x = lr * np.asarray(eigenvalues, dtype=np.float64)
    if np.any(x >= 2.0) or np.any(x <= 0.0):
        return math.inf
    # log1p keeps a tiny ηλ from rounding 1 − ηλ to 1 (no contraction at all)
    with np.errstate(divide="ignore"):  # ηλ = 1 solves that direction at once: log 0 = −inf
        logs = np.where(x < 0.5, np.log1p(-np.minimum(x, 0.5)), np.log(np.abs(1.0 - x)))
    slowest = float(np.max(logs))
    if slowest == -math.inf:
        return 1.0
    return max(1.0, math.log(shrink) / slowest)


def plan_descent(
    obj: Objective,
    start: Params,
    *,
    lr: float | None = None,
    max_steps: int | None = None,
    rtol: float = 1e-10,
    max_auto_steps: int = 20_000_000,
    gtol: float | None = None,
    eigenvalues: Sequence[float] | None = None,
) -> DescentPlan:
    r"""Choose ``lr``, ``gtol`` and ``max_steps`` for plain GD from the Hessian at ``start``.

    The tolerance asks the distance to the minimum to shrink by ``rtol`` (a gradient norm of
    :math:`\mathrm{rtol}\,\|g_0\|/\kappa` guarantees it for a quadratic), but never below what
    float64 can resolve (:math:`16\,\epsilon\,\||H|\,|\theta^*|\|`, with :math:`\theta^*`
    the Newton estimate of the minimum: the gradient :math:`H(\theta - \theta^*)` when each
    coordinate is off by its rounding); ``resolvable`` says whether the floor had to be used.

    Args:
        gtol: the gradient tolerance, when the caller knows which one certifies what it needs
            (it then replaces the ``rtol`` rule, and is still raised to the float64 floor).
        eigenvalues: the Hessian's eigenvalues when they are known more accurately than
            ``eigvalsh`` of the autodiff Hessian can give them (a closed form, a huge κ).

    Raises:
        InputError: the Hessian at ``start`` is not positive definite (no bowl to plan for),
            or a given ``lr``/``max_steps`` is out of range.
    """
    theta0 = obj.vector(start)
    _, g0 = value_and_gradient(obj, theta0)
    h = hessian(obj, theta0)
    lam = np.sort(np.asarray(eigenvalues if eigenvalues is not None else np.linalg.eigvalsh(h)))
    lam_min, lam_max = float(lam[0]), float(lam[-1])
    if not lam_min > 0:
        raise InputError(
            f"{obj.signature()} is not curved upwards in every direction at the start "
            f"(smallest Hessian eigenvalue {lam_min:.3g}); give lr and the step budget explicitly."
        )
    kappa = lam_max / lam_min
    stable = 2.0 / lam_max
    if lr is None:
        lr = 1.0 / lam_max
        lr_reason = (
            f"lr = 1/λmax = {lr:.4g}: half the largest stable rate 2/λmax = {stable:.4g}, "
            "so the steepest direction settles in one step without zigzag"
        )
    else:
        lr = _positive("lr", lr)
        lr_reason = f"lr = {lr:.4g} as given"
        if lr >= stable:
            lr_reason += (
                f" (above the largest stable rate 2/λmax = {stable:.4g}: expect divergence)"
            )
    g0n = float(safe_norm(g0))
    try:
        newton = theta0 - np.linalg.solve(h, g0)
    except np.linalg.LinAlgError:  # singular to float64 precision (κ beyond 1e16)
        newton = theta0
    # g = H(θ − θ*) near the minimum; each θ_j − θ*_j carries a rounding of ε|θ*_j|.
    floor = 16 * np.finfo(np.float64).eps * float(safe_norm(np.abs(h) @ np.abs(newton)))
    wanted = rtol * g0n / kappa if gtol is None else float(gtol)
    gtol = max(wanted, floor)
    need = predicted_steps(lr, lam, gtol / g0n) if g0n > gtol else 0.0
    if max_steps is None:
        if not math.isfinite(need):
            max_steps = 1000
            steps_reason = "1000 steps (this lr does not converge: descent will diverge)"
        elif need > max_auto_steps:
            max_steps = max_auto_steps
            steps_reason = (
                f"{max_steps} steps, a cap: at this lr the condition number κ = {kappa:.3g} "
                f"predicts {math.ceil(need):,} steps to converge; raise lr (up to 2/λmax) "
                "or set the step budget"
            )
        else:
            max_steps = math.ceil(1.2 * need) + 100
            steps_reason = (
                f"{max_steps} steps: the condition number κ = λmax/λmin = {kappa:.3g} predicts "
                f"{math.ceil(need)} steps to shrink the gradient to {gtol:.3g}, plus 20% slack"
            )
    else:
        max_steps = _check_steps("steps", max_steps)
        steps_reason = f"{max_steps} steps as given"
    return DescentPlan(
        lr=float(lr),
        lr_reason=lr_reason,
        max_steps=max_steps,
        steps_reason=steps_reason,
        gtol=float(gtol),
        lam_max=lam_max,
        lam_min=lam_min,
        condition=kappa,
        max_stable_lr=stable,
        predicted_steps=int(min(need, 2**62)) if math.isfinite(need) else -1,
        gradient_floor=float(floor),
        resolvable=bool(wanted >= floor),
    )
