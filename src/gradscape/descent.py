r"""The tour's gradient descent: one update rule per parameter, and its planning.

.. math:: \theta_i \leftarrow \theta_i - \eta_i \, \frac{\partial f}{\partial \theta_i}

:func:`descend` is plain gradient descent on the one engine, :func:`gradscape.runs.minimize`
(``lr`` one number for all, or one per parameter: an optax ``sgd`` with a vector of rates); it
returns a :class:`~gradscape.runs.Run` (``Trajectory`` is the same type, the name the tour
uses), with the engine's bounded history and stop vocabulary. The rest of the module plans a
descent from the curvature at the start: :func:`max_stable_lr`, :func:`plan_descent`
(:class:`DescentPlan`) and :func:`predicted_steps`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .calculus import hessian, value_and_gradient
from .engine import GTOL, HEAD, MAX_RECORDS, safe_norm
from .errors import InputError, whole_number
from .objectives import Objective, Params
from .runs import Run, minimize, per_weight_lr
from .sources import objective

Progress = Callable[[int, int], None]

#: The recorded path of a descent: the engine's one path type.
Trajectory = Run

#: Largest step budget :func:`descend` accepts (about a minute or two of compiled steps on a
#: laptop core for a small objective).
MAX_STEPS = 100_000_000

__all__ = [
    "GTOL", "MAX_STEPS", "DescentPlan", "Progress", "Trajectory", "descend", "max_stable_lr",
    "plan_descent", "predicted_steps", "safe_norm", "update_rules",
]  # fmt: skip


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


def max_stable_lr(obj: Objective | str | Callable[..., Any], at: Params) -> float | None:
    r"""Largest stable plain-GD learning rate near ``at``: :math:`2/\lambda_{max}(H)`.

    Exact for a quadratic; a local estimate elsewhere. ``None`` when no eigenvalue is positive.
    """
    obj = objective(obj)
    lam = float(np.linalg.eigvalsh(hessian(obj, at))[-1])
    return 2.0 / lam if lam > 0 else None


@with_x64
def descend(
    obj: Objective | str | Callable[..., Any],
    start: Params,
    *,
    lr: float | Mapping[str, float],
    max_steps: int = 1000,
    gtol: float | None = None,
    head: int = HEAD,
    max_records: int = MAX_RECORDS,
    progress: Progress | None = None,
) -> Run:
    r"""Plain gradient descent from ``start``, every parameter with its own update rule.

    Args:
        start: starting parameters.
        lr: learning rate :math:`\eta`, one float or ``{name: float}`` per parameter.
        max_steps: step budget, at most :data:`MAX_STEPS`.
        gtol: stop when :math:`\|\nabla f\| \le` ``gtol`` (default
            ``1e-8·‖∇f(start)‖``, as :func:`gradscape.engine.default_gtol`).
        head: the first ``head`` steps are all recorded.
        max_records: about how many rows to keep after ``head``.
        progress: called as ``progress(steps_done, max_steps)`` between segments.

    Returns:
        A :class:`~gradscape.runs.Run`: its stop is ``converged``, ``max_steps``, ``diverged``
        (a step to a non-finite value, not taken) or ``grew`` (the value grew a millionfold);
        a divergence message gives the largest stable learning rate :math:`2/\lambda_{max}`.

    Raises:
        InputError: ``lr``, ``max_steps`` or ``gtol`` out of range.
    """
    obj = objective(obj)
    if isinstance(lr, Mapping):
        per_weight_lr(obj, lr)
    else:
        _positive("lr", lr)
    whole_number(max_steps, "max_steps", 1, MAX_STEPS, "MAX_STEPS")
    return minimize(obj, start, "gd", lr=lr, max_steps=max_steps, gtol=gtol, head=head,
                    max_records=max_records, progress=progress)  # fmt: skip


def _factor(v: float) -> str:
    """``v`` with 6 significant digits, in brackets when negative (it follows a ``·``)."""
    text = f"{v:.6g}"
    return f"({text})" if text.startswith("-") else text


def update_rules(run: Run, label: str = "f") -> list[dict[str, str] | None]:
    r"""Each recorded row's step written out for every parameter, with its numbers:
    ``"m_new = m − η·∂SSE/∂m = 2 − 0.001·(−12.3) = 2.0123"``.

    The new value is :math:`\theta_i - \eta_i\,\partial f/\partial\theta_i` at the row (the
    step gradient descent takes from there, recorded or not). ``None`` for the last row: no step
    was taken from where the run stopped.

    Args:
        run: a gradient-descent run (``lr`` one number or one per parameter).
        label: the objective's name in the formula (``"SSE"``).
    """
    if run.lr is None:
        raise InputError(f"{run.optimizer} sets its own steps: it has no update rule η·∂f/∂θ.")
    rates = np.broadcast_to(np.asarray(run.lr, dtype=np.float64), (len(run.names),))
    with np.errstate(over="ignore", invalid="ignore"):
        new = run.params - rates * run.gradients
    rules: list[dict[str, str] | None] = []
    for i in range(len(run.steps)):
        if i == len(run.steps) - 1:
            rules.append(None)
            continue
        rules.append({
            name: f"{name}_new = {name} − η·∂{label}/∂{name} = {run.params[i, j]:.6g} − "
                  f"{rates[j]:.6g}·{_factor(run.gradients[i, j])} = {new[i, j]:.6g}"
            for j, name in enumerate(run.names)
        })  # fmt: skip
    return rules


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
    obj: Objective | str | Callable[..., Any],
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
    obj = objective(obj)
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
        max_steps = whole_number(max_steps, "steps", 1, MAX_STEPS, "MAX_STEPS")
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
