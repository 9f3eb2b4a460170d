"""The classic story, computed: data → line → SSE → profiles → surface → gradient descent.

:func:`tour` runs every engine on one dataset and returns a :class:`TourResult`; the CLI tells
the story from it and the views (figures, HTML report) draw it. No printing or plotting here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .data import Dataset, synthetic_line
from .descent import DescentPlan, Progress, Trajectory, descend, plan_descent
from .models import LineStats, default_ranges, sse_objective
from .sweep import Profile, Surface, profile, surface


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
        trajectory: the recorded descent.
    """

    data: Dataset
    stats: LineStats
    start: dict[str, float]
    profiles: tuple[Profile, Profile]
    surface: Surface
    plan: DescentPlan
    trajectory: Trajectory

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
            "hessian_eigenvalues": [p.lam_min, p.lam_max],
            "condition_number": p.condition,
            "max_stable_lr": p.max_stable_lr,
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
    plan = plan_descent(obj, start, lr=lr, max_steps=steps)
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
    )
