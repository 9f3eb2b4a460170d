"""The classic story, computed: data → line → SSE → profiles → surface → gradient descent.

:func:`tour` runs every engine on one dataset and returns a :class:`TourResult`; the CLI tells
the story from it and the views (figures, HTML report) draw it. No printing or plotting here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .descent import DescentPlan, Progress, descend, plan_descent
from .engine import HEAD, MAX_RECORDS, safe_norm
from .line_data import Dataset, synthetic_line
from .line_model import LINE_NAMES, LineStats, default_ranges, sse_objective
from .objectives import Objective
from .runs import Run
from .sweep import Profile, Surface, profile, surface

#: Above this many predicted steps, plain GD on (m, c) is replaced by GD in rescaled coordinates.
MAX_AUTO_STEPS = 20_000_000
#: Descent stops when it is provably within this distance of the minimum, measured in natural
#: units: the standardised slope ``m·sd(x)/sd(y)`` and intercept (see :func:`distance`).
RTOL = 1e-10
#: Descent "reached the closed form" when its line is within this natural distance of it (or
#: within what float64 can resolve for this data, when that is more).
AGREE = 1e-8


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
            line was rewritten first (badly scaled data) so descent could finish.
        descent_names: the coordinates descent ran on (``plan`` and the stop rule are in them).
        distance: how far descent's line ended from the closed form, in natural units
            (see :func:`distance`).
        tolerance: the largest ``distance`` that counts as reaching the closed form.
    """

    data: Dataset
    stats: LineStats
    start: dict[str, float]
    profiles: tuple[Profile, Profile]
    surface: Surface
    plan: DescentPlan
    trajectory: Run
    eigenvalues: tuple[float, float]
    coordinates: str | None = None
    distance: float = math.nan
    tolerance: float = AGREE
    descent_names: tuple[str, str] = LINE_NAMES

    def rounding(self) -> dict[str, float]:
        """How large rounding alone makes ``m``, ``c`` and the SSE look when their true value
        is 0: below these, a printed number is float64 noise and is shown as 0."""
        s, d = self.stats, self.data
        eps = float(np.finfo(np.float64).eps)
        scale = float(np.max(np.abs(d.y)) + abs(s.m) * np.max(np.abs(d.x)) + abs(s.c))
        return {
            "m": 16 * eps * max(abs(s.m), s.y_sd / s.x_sd),
            "c": 16 * eps * (abs(s.c) + abs(s.m * s.x_mean) + abs(s.y_mean) + s.y_sd),
            "sse": 16 * eps * s.sse_min + d.n * (16 * eps * scale) ** 2,
        }

    @property
    def reached(self) -> bool:
        """Whether descent ended on the closed-form line (within ``tolerance``)."""
        return bool(self.distance <= self.tolerance)

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
                "notes": list(self.data.notes),
            },
            "m": final["m"],
            "c": final["c"],
            "closed_form": self.closed_form,
            "loss": t.final_value,
            "loss_closed_form": self.stats.sse_min,
            "steps": t.n_steps,
            "converged": t.converged,
            "reached_closed_form": self.reached,
            "distance_to_closed_form": self.distance,
            "closed_form_tolerance": self.tolerance,
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
            "surface_minimum": self.surface.minimum,
            "profile_minima": {p.name: p.minimum for p in self.profiles},
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

    Descent is :func:`descend_line`: on ``(m, c)`` when plain GD can get there, else on the
    same line in rescaled coordinates with its path mapped back; its end is compared with the
    closed form, and a descent that stopped away from it is not called converged.

    Args:
        start: ``(m, c)`` where descent starts.
        lr: learning rate; default ``1/λmax`` from the Hessian of the SSE. Giving ``lr`` or
            ``steps`` keeps descent on ``(m, c)``.
        steps: step budget; default from the condition number (see :func:`plan_descent`).
        grid: points per axis of the error surface.
        progress: called as ``progress(steps_done, max_steps)`` during descent.

    Raises:
        DataError: the data's SSE is beyond what float64 can compute (values too large or too
            small: the message says how to rescale them).
    """
    data = data if data is not None else synthetic_line()
    stats = LineStats.of(data)
    stats.check_scale()
    obj = sse_objective(data)
    best = {"m": stats.m, "c": stats.c}
    box = default_ranges(stats, start)
    profiles = (
        profile(obj, "m", at=best, range=box["m"]),
        profile(obj, "c", at=best, range=box["c"]),
    )
    surf = surface(obj, "m", "c", x_range=box["m"], y_range=box["c"], points=grid)
    fit = descend_line(stats, start, lr=lr, steps=steps, progress=progress, objective=obj)
    return TourResult(
        data=data,
        stats=stats,
        start={"m": float(start[0]), "c": float(start[1])},
        profiles=profiles,
        surface=surf,
        plan=fit.plan,
        trajectory=fit.trajectory,
        eigenvalues=line_eigenvalues(stats),
        coordinates=fit.coordinates,
        distance=fit.distance,
        tolerance=fit.tolerance,
        descent_names=fit.names,
    )


@dataclass(frozen=True, eq=False)
class LineDescent:
    """Gradient descent on the line's SSE, checked against the closed form.

    Attributes:
        trajectory: the path in ``(m, c)``.
        plan: learning rate, budget and tolerance, in the coordinates descent ran on.
        names: those coordinates: ``("m", "c")``, ``("m", "b")`` or ``("a", "b")``.
        coordinates: ``None`` on ``(m, c)``; otherwise why and how the line was rewritten.
        distance: natural distance of the end from the closed form (see :func:`distance`).
        tolerance: the largest distance that counts as reaching it.
    """

    trajectory: Run
    plan: DescentPlan
    names: tuple[str, str]
    coordinates: str | None
    distance: float
    tolerance: float


def descend_line(
    stats: LineStats,
    start: tuple[float, float] = (0.0, 0.0),
    *,
    lr: float | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
    objective: Objective | None = None,
    head: int = HEAD,
    max_records: int = MAX_RECORDS,
) -> LineDescent:
    """Fit the line by gradient descent from ``start``, at any scale float64 can hold.

    Descent runs on ``(m, c)`` when plain GD gets within :data:`RTOL` of the minimum in at most
    :data:`MAX_AUTO_STEPS` steps and float64 resolves that stopping rule; else with x measured
    from its mean; else with x and y standardised. A stop on the gradient that is not within
    ``tolerance`` of the closed form is reported as ``imprecise``, never as converged.

    Args:
        stats: the data's statistics (checked with :meth:`LineStats.check_scale`).
        lr, steps: as given by the user; either keeps descent on ``(m, c)``.
        objective: the SSE over ``(m, c)`` when already built.
        head, max_records: the history kept (see :func:`gradscape.runs.history_policy`).
    """
    stats.check_scale()
    obj = objective if objective is not None else _sse_of(stats)
    systems = _coordinate_systems(stats, obj)
    if lr is not None or steps is not None:
        systems = systems[:1]  # the user is trying plain GD on (m, c) itself
    plans: list[DescentPlan] = []
    wanted: list[float] = []
    for system in systems:
        phi0 = system.to_phi(start)
        # A gradient norm of at most this proves d ≤ RTOL: SSE − SSE* ≤ ‖g‖²/(2λmin).
        wanted.append(RTOL * math.sqrt(2 * system.eigenvalues[0]) * math.sqrt(_unit(stats)))
        plan = plan_descent(
            system.objective, phi0, lr=lr if system.key == "raw" else None, max_steps=steps,
            gtol=wanted[-1], eigenvalues=system.eigenvalues, max_auto_steps=MAX_AUTO_STEPS,
        )  # fmt: skip
        plans.append(plan)
        if plan.resolvable and 0 <= plan.predicted_steps <= MAX_AUTO_STEPS:
            break
    t = descend(
        system.objective, phi0, lr=plan.lr, max_steps=plan.max_steps, gtol=plan.gtol,
        progress=progress, head=head, max_records=max_records,
    )  # fmt: skip
    traj = system.map_back(t, start)
    d = distance(stats, traj.final_params["m"], traj.final_params["c"])
    tol = max(AGREE, resolution(stats))
    if traj.converged and not d <= tol:
        traj = dataclasses.replace(
            traj, stop_reason="imprecise",
            message=(
                f"stopped after {traj.n_steps} steps with a gradient norm at its tolerance, but "
                f"{d:.3g} (in standardised units) from the closed form, above {tol:.3g}: float64 "
                "cannot resolve the gradient finely enough in these coordinates"
            ),
        )  # fmt: skip
    coordinates = _why(system, plans, wanted[0]) if system.key != "raw" else None
    return LineDescent(traj, plan, system.names, coordinates, d, tol)


def _sse_of(s: LineStats) -> Objective:
    """The SSE over ``(m, c)`` from the statistics alone (the form :func:`sse_objective` uses)."""

    def fn(theta: Any) -> Any:
        dm, dc = theta[0] - s.m, theta[1] - s.c
        return s.sse_min + s.sxx * dm**2 + s.n * (dc + s.x_mean * dm) ** 2

    return Objective(fn=fn, names=LINE_NAMES, label="SSE", formula="Σᵢ (yᵢ − (m·xᵢ + c))²")


def line_eigenvalues(s: LineStats) -> tuple[float, float]:
    r"""``(λmin, λmax)`` of the SSE's Hessian :math:`2\begin{pmatrix}\Sigma x^2 & \Sigma x\\
    \Sigma x & N\end{pmatrix}`, in closed form.

    :math:`\lambda_{min} = \det H/\lambda_{max} = 4 N S_{xx}/\lambda_{max}` has no cancellation,
    so it stays accurate for any condition number (``eigvalsh`` loses it beyond about 1e16).
    """
    a, b, d = 2 * s.sum_xx, 2 * s.n * s.x_mean, 2.0 * s.n
    lam_max = (a + d) / 2 + math.hypot((a - d) / 2, b)
    return 4 * s.n * s.sxx / lam_max, lam_max


def _unit(s: LineStats) -> float:
    """``N·sd(y)²``: the SSE's natural unit (``Syy`` when y varies)."""
    return s.n * s.y_sd**2


def distance(s: LineStats, m: float, c: float) -> float:
    r"""How far the line ``(m, c)`` is from the least-squares line, in natural units.

    .. math:: d^2 = \frac{\mathrm{SSE}(m, c) - \mathrm{SSE}^*}{N\,s_y^2}
        = \Big(\frac{s_x}{s_y}\,\delta_m\Big)^2 + \Big(\frac{\delta_c + \bar x\,\delta_m}{s_y}\Big)^2,

    the distance in the standardised slope and intercept (:math:`s_x, s_y` the spreads of x and y),
    computed from the differences so that no large SSE is subtracted.
    """
    dm, dc = m - s.m, c - s.c
    return math.hypot(s.x_sd * dm / s.y_sd, (dc + s.x_mean * dm) / s.y_sd)


def resolution(s: LineStats) -> float:
    """The smallest :func:`distance` float64 can resolve for this line: rounding ``m`` and ``c``
    to float64 (and forming ``c + m·x̄``) moves a line about this far."""
    eps = float(np.finfo(np.float64).eps)
    big = abs(s.c) + abs(s.m * s.x_mean) + abs(s.y_mean)
    return 16 * eps * (1.0 + abs(s.m) * s.x_sd / s.y_sd + big / s.y_sd)


@dataclass(frozen=True, eq=False)
class _System:
    """Coordinates φ for descent and their map to the line: ``(m, c) = A φ + o``."""

    key: str
    names: tuple[str, str]
    a: np.ndarray
    o: np.ndarray
    objective: Objective
    eigenvalues: tuple[float, float]
    how: str

    def to_phi(self, theta: tuple[float, float]) -> np.ndarray:
        return np.linalg.solve(self.a, np.asarray(theta, dtype=np.float64) - self.o)

    def map_back(self, t: Run, start: tuple[float, float]) -> Run:
        """The trajectory in ``(m, c)``: parameters ``Aφ + o``, gradients ``A^{-T}∇_φ``."""
        if self.key == "raw":
            return t
        a, a_inv = self.a, np.linalg.inv(self.a)
        moved = (t.gradients * np.asarray(t.lr)) @ a.T
        params = t.params @ a.T + self.o
        params[t.steps == 0] = start  # the start as given, not its round trip through φ
        return dataclasses.replace(
            t,
            names=LINE_NAMES,
            params=params,
            gradients=t.gradients @ a_inv,
            grad_norms=safe_norm(t.gradients @ a_inv, axis=1),
            step_sizes=np.linalg.norm(moved, axis=1) * (t.step_sizes > 0),
            best_params=a @ t.best_params + self.o,
        )


def _coordinate_systems(s: LineStats, obj: Objective) -> list[_System]:
    """``(m, c)`` itself; x measured from its mean; x and y standardised. Each objective is the
    same SSE written in those coordinates from the statistics, exactly (no rounding of a huge
    intercept inside the loop)."""
    n, xm, ym, sxx, sse = s.n, s.x_mean, s.y_mean, s.sxx, s.sse_min
    sx, sy = s.x_sd, s.y_sd
    raw = _System(
        "raw", LINE_NAMES, np.eye(2), np.zeros(2), obj, line_eigenvalues(s), "(m, c) itself"
    )
    m_star = s.m

    def centred_fn(phi: Any) -> Any:  # φ = (m, b), b = c + m·x̄; b* = ȳ
        return sse + sxx * (phi[0] - m_star) ** 2 + n * (phi[1] - ym) ** 2

    lam_c = tuple(sorted((2 * sxx, 2.0 * n)))
    centred = _System(
        "centred", ("m", "b"), np.array([[1.0, 0.0], [-xm, 1.0]]), np.zeros(2),
        Objective(fn=centred_fn, names=("m", "b"), label=obj.label), (lam_c[0], lam_c[1]),
        f"x measured from its mean (x − {xm:.6g}), b = c + m·x̄",
    )  # fmt: skip
    a_star = m_star * sx / sy
    unit = _unit(s)

    def standard_fn(phi: Any) -> Any:  # φ = (a, b): v = a·u + b, u = (x − x̄)/sx, v = (y − ȳ)/sy
        return sse + unit * ((phi[0] - a_star) ** 2 + phi[1] ** 2)

    standard = _System(
        "standardised", ("a", "b"), np.array([[sy / sx, 0.0], [-xm * sy / sx, sy]]),
        np.array([0.0, ym]), Objective(fn=standard_fn, names=("a", "b"), label=obj.label),
        (2 * unit, 2 * unit),
        f"x and y standardised (u = (x − {xm:.6g}) / {sx:.6g}, v = (y − {ym:.6g}) / {sy:.6g}): "
        f"v = a·u + b, so a = m·{sx:.6g}/{sy:.6g} and b = (c + m·x̄ − ȳ)/{sy:.6g}",
    )  # fmt: skip
    return [raw, centred, standard]


def _why(system: _System, plans: list[DescentPlan], wanted: float) -> str:
    """Why descent left ``(m, c)`` and where it ran instead (``wanted``: the gradient norm the
    stopping rule needed on ``(m, c)``)."""
    first = plans[0]
    if not first.resolvable:
        reason = (
            f"float64 cannot resolve SSE(m, c)'s gradient near the minimum finely enough to stop "
            f"there (its rounding, about {first.gradient_floor:.3g}, is above the {wanted:.3g} "
            f"the stopping rule needs; κ = {first.condition:.3g})"
        )
    else:
        need = f"about {first.predicted_steps:,}" if first.predicted_steps >= 0 else "unbounded"
        reason = (
            f"plain GD on (m, c) would need {need} steps here (κ = {first.condition:.3g}: x is "
            "far from 0 or badly scaled, so slope and intercept are tightly coupled)"
        )
    plan = plans[-1]
    return (
        f"{reason}; descent ran on the same line with {system.how} (κ = {plan.condition:.3g}), "
        "and its path is shown mapped back to (m, c)"
    )
