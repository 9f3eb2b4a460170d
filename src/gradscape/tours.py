"""The classic story, computed: data → line → SSE → profiles → surface → gradient descent.

:func:`tour` runs every engine on one dataset and returns a :class:`TourResult`; the CLI tells
the story from it and the views (figures, HTML report) draw it. No printing or plotting here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import Dataset, synthetic_line
from .descent import DescentPlan, Progress, Trajectory, descend, plan_descent
from .models import LineStats, default_ranges, sse_objective
from .objectives import Objective
from .sweep import Profile, Surface, profile, surface

#: Above this many predicted steps, plain GD on (m, c) is replaced by GD on centred x.
MAX_AUTO_STEPS = 20_000_000


@dataclass(frozen=True, eq=False)
class TourResult:
    """Everything the tour computed.

    Attributes:
        data: the dataset.
        stats: its sufficient statistics and the closed-form fit.
        start: where descent started, ``{m, c}``.
        profiles: the 1-D SSE profile of ``m`` (c at its best) and of ``c`` (m at its best).
        surface: SSE over the ``(m, c)`` grid.
        plan: learning rate and step budget chosen from the curvature, with the reasons.
        eigenvalues: ``(λmin, λmax)`` of the SSE's Hessian in ``(m, c)``.
        trajectory: the recorded descent, in ``(m, c)``.
        coordinates: ``None`` when descent ran on ``(m, c)`` itself; otherwise why and how the
            line was rewritten first (badly conditioned data) so descent could finish.
    """

    data: Dataset
    stats: LineStats
    start: dict[str, float]
    profiles: tuple[Profile, Profile]
    surface: Surface
    plan: DescentPlan
    trajectory: Trajectory
    eigenvalues: tuple[float, float]
    coordinates: str | None = None

    @property
    def condition(self) -> float:
        """Condition number of the SSE's Hessian in ``(m, c)``."""
        return self.eigenvalues[1] / self.eigenvalues[0]

    @property
    def closed_form(self) -> dict[str, float]:
        return {"m": self.stats.m, "c": self.stats.c}

    def summary(self) -> dict[str, Any]:
        """The JSON summary: fit, closed form, loss, steps and how descent stopped."""
        t, p = self.trajectory, self.plan
        final = t.final_params
        return {
            "data": {
                "name": self.data.name,
                "n": self.data.n,
                "x": self.data.x_label,
                "y": self.data.y_label,
            },
            "m": final["m"],
            "c": final["c"],
            "closed_form": self.closed_form,
            "loss": t.final_value,
            "loss_closed_form": self.stats.sse_min,
            "steps": t.n_steps,
            "converged": t.converged,
            "stop_reason": t.stop_reason,
            "message": t.message,
            "start": self.start,
            "lr": p.lr,
            "lr_reason": p.lr_reason,
            "max_steps": p.max_steps,
            "steps_reason": p.steps_reason,
            "gtol": p.gtol,
            "hessian_eigenvalues": list(self.eigenvalues),
            "condition_number": self.condition,
            "max_stable_lr": p.max_stable_lr,
            "coordinates": self.coordinates,
            "best": {
                "m": float(t.best_params[0]),
                "c": float(t.best_params[1]),
                "loss": t.best_value,
                "step": t.best_step,
            },
            "surface_grid_min": self.surface.argmin(),
        }


def tour(
    data: Dataset | None = None,
    *,
    start: tuple[float, float] = (0.0, 0.0),
    lr: float | None = None,
    steps: int | None = None,
    grid: int = 121,
    progress: Progress | None = None,
) -> TourResult:
    """Run the classic story on ``data`` (default: a seeded synthetic noisy line).

    Args:
        start: ``(m, c)`` where descent starts.
        lr: learning rate; default ``1/λmax`` from the Hessian of the SSE.
        steps: step budget; default from the condition number (see :func:`plan_descent`).
        grid: points per axis of the error surface.
        progress: called as ``progress(steps_done, max_steps)`` during descent.
    """
    data = data if data is not None else synthetic_line()
    stats = LineStats.of(data)
    obj = sse_objective(data)
    best = {"m": stats.m, "c": stats.c}
    box = default_ranges(stats, start)
    profiles = (
        profile(obj, "m", at=best, range=box["m"]),
        profile(obj, "c", at=best, range=box["c"]),
    )
    surf = surface(obj, "m", "c", x_range=box["m"], y_range=box["c"], points=grid)
    plan = plan_descent(obj, start, lr=lr, max_steps=steps, max_auto_steps=MAX_AUTO_STEPS)
    coordinates = None
    eigenvalues = (plan.lam_min, plan.lam_max)
    if lr is None and steps is None and plan.predicted_steps > MAX_AUTO_STEPS:
        traj, plan, coordinates = _descend_centred(obj, stats, start, plan, progress)
    else:
        traj = descend(
            obj, start, lr=plan.lr, max_steps=plan.max_steps, gtol=plan.gtol, progress=progress
        )
    return TourResult(
        data=data,
        stats=stats,
        start={"m": float(start[0]), "c": float(start[1])},
        profiles=profiles,
        surface=surf,
        plan=plan,
        trajectory=traj,
        eigenvalues=eigenvalues,
        coordinates=coordinates,
    )


def _descend_centred(
    obj: Objective,
    stats: LineStats,
    start: tuple[float, float],
    plain: DescentPlan,
    progress: Progress | None,
) -> tuple[Trajectory, DescentPlan, str]:
    """GD on the same line written ``y = a·(x − x̄)/s + b``, its path mapped back to ``(m, c)``.

    Far from zero, x couples slope and intercept into a narrow valley (huge κ). Measuring x from
    its mean removes the coupling (the Hessian becomes diagonal); dividing by ``s`` as well
    (only when centring alone is not enough) makes the bowl round.
    """
    import jax.numpy as jnp

    spread = (stats.sxx / stats.n) ** 0.5
    options = (
        (1.0, ("m", "b"), f"x measured from its mean (x − {stats.x_mean:.6g}), b = c + m·x̄"),
        (
            spread,
            ("a", "b"),
            f"x standardised ((x − {stats.x_mean:.6g}) / {spread:.6g}), a = m·s, b = c + m·x̄",
        ),
    )
    for option in options:  # centre first; standardise only when centring is not enough
        s, names, how = option
        # θ = (m, c) = A φ with φ the new coordinates.
        a = np.array([[1.0 / s, 0.0], [-stats.x_mean / s, 1.0]])
        a_j = jnp.asarray(a)
        centred = Objective(fn=lambda phi, a_j=a_j: obj.fn(a_j @ phi), names=names, label=obj.label)
        phi0 = np.linalg.solve(a, np.asarray(start, dtype=np.float64))
        plan = plan_descent(centred, phi0, max_auto_steps=MAX_AUTO_STEPS)
        if plan.predicted_steps <= MAX_AUTO_STEPS:
            break
    t = descend(
        centred, phi0, lr=plan.lr, max_steps=plan.max_steps, gtol=plan.gtol, progress=progress
    )
    a_inv = np.linalg.inv(a)
    traj = dataclasses.replace(
        t,
        names=obj.names,
        params=t.params @ a.T,
        gradients=t.gradients @ a_inv,  # ∇_θ f = A^{-T} ∇_φ f
        step_sizes=np.linalg.norm((t.gradients * np.asarray(t.lr)) @ a.T, axis=1)
        * (t.step_sizes > 0),
        best_params=a @ t.best_params,
    )
    why = (
        f"plain GD on (m, c) would need about {plain.predicted_steps:,} steps here "
        f"(κ = {plain.condition:.3g}: x is far from 0, so slope and intercept are tightly coupled); "
        f"descent ran on the same line with {how} (κ = {plan.condition:.3g}), "
        "and its path is shown mapped back to (m, c)"
    )
    return traj, plan, why
