"""The story view's API: the classic line fit in weight space, the same computation as
``gradscape tour``.

Every handler reads the data as the tour does (the seeded synthetic line, or an uploaded file
read by :func:`gradscape.line_data.load_csv`), then calls the tour's own library functions: the
closed form and its statistics (:class:`~gradscape.line_model.LineStats`), the SSE at one point
with both partials (:func:`~gradscape.line_model.line_point`), sweeps
(:func:`~gradscape.sweep.profile`, :func:`~gradscape.sweep.surface`), the plan of a descent
(:func:`~gradscape.descent.plan_descent`: ``2/λmax``) and the descent itself
(:func:`~gradscape.tours.descend_line`, through :func:`gradscape.runs.minimize`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..descent import DescentPlan, plan_descent, update_rules
from ..errors import whole_number
from ..line_data import Dataset, load_csv, synthetic_line
from ..line_model import LineStats, default_ranges, line_point, sse_objective
from ..objectives import Objective
from ..sweep import profile, surface
from ..tours import descend_line, line_eigenvalues
from .common import MAX_GRID, MAX_STEPS, ApiError, json_response, time_limit

#: Largest |m| or |c| the page may ask about.
MAX_WEIGHT = 1e100
#: Largest learning rate the page may ask for.
MAX_LR = 1e100
#: Most data points sent to the page to draw (a bigger file is drawn from an even subset).
MAX_SHOWN_POINTS = 5_000
#: Every step of a descent's first STORY_HEAD is sent; later ones are strided to about as many.
STORY_HEAD = 400
#: Datasets kept ready (statistics and compiled objective) between requests.
CACHE_SIZE = 16

BUILTIN = "builtin"


class DataRef(BaseModel):
    data: str = Field(
        BUILTIN, max_length=40,
        description="'builtin' (the tour's seeded synthetic line) or a token from POST /api/uploads",
    )  # fmt: skip
    x: str | None = Field(None, max_length=100, description="column for x: name or 1-based number")
    y: str | None = Field(None, max_length=100, description="column for y: name or 1-based number")


class PointRequest(DataRef):
    m: float = Field(description="slope")
    c: float = Field(description="intercept")
    profiles: int = Field(
        0, description=f"points of each 1-D profile to add (0: none; else 2 to {MAX_GRID})"
    )


class SurfaceRequest(DataRef):
    grid: int = Field(101, description=f"points per axis, 2 to {MAX_GRID} (MAX_GRID)")
    m_range: tuple[float, float] | None = Field(None, description="(low, high) of m")
    c_range: tuple[float, float] | None = Field(None, description="(low, high) of c")


class DescendRequest(DataRef):
    m: float = Field(0.0, description="slope at the start")
    c: float = Field(0.0, description="intercept at the start")
    lr: float | None = Field(None, description="learning rate (default: the tour's 1/λmax)")
    steps: int = Field(5000, description=f"step budget, 1 to {MAX_STEPS:,} (MAX_STEPS)")


@dataclass(frozen=True, eq=False)
class _Line:
    """One dataset made ready: its statistics, its SSE objective and the tour's plan."""

    data: Dataset
    stats: LineStats
    objective: Objective
    plan: DescentPlan
    box: dict[str, tuple[float, float]]


def _number(name: str, v: float, cap: float, cap_name: str, *, positive: bool = False) -> float:
    """``v`` if finite, within ``±cap`` (and > 0 when ``positive``); else a 400 naming the cap."""
    ok = math.isfinite(v) and abs(v) <= cap and (v > 0 or not positive)
    if not ok:
        need = (
            f"a number > 0 and at most {cap:g}"
            if positive
            else f"a number from −{cap:g} to {cap:g}"
        )
        raise ApiError(f"{name} must be {need} ({cap_name}); got {v!r}.")
    return float(v)


def _range(name: str, r: tuple[float, float] | None) -> tuple[float, float] | None:
    if r is None:
        return None
    lo, hi = (_number(f"{name}_range", v, MAX_WEIGHT, "MAX_WEIGHT") for v in r)
    return lo, hi


def router(app: FastAPI) -> APIRouter:
    r = APIRouter(prefix="/api/story", tags=["story"])
    cache: OrderedDict[tuple[str, str | None, str | None], _Line] = OrderedDict()
    lock = threading.Lock()

    def line(ref: DataRef) -> _Line:
        """The dataset ``ref`` names, read as the tour reads it (cached)."""
        key = (ref.data, ref.x, ref.y) if ref.data != BUILTIN else (BUILTIN, None, None)
        with lock:
            if key in cache:
                cache.move_to_end(key)
                return cache[key]
        if ref.data == BUILTIN:
            data = synthetic_line()
        else:
            data = load_csv(app.state.uploads.path(ref.data), x=ref.x, y=ref.y)
        stats = LineStats.of(data)
        stats.check_scale()
        obj = sse_objective(data)
        start = (0.0, 0.0)
        plan = plan_descent(obj, start, eigenvalues=line_eigenvalues(stats))
        made = _Line(data, stats, obj, plan, default_ranges(stats, start))
        with lock:
            cache[key] = made
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        return made

    def point(ref: DataRef, m: float, c: float) -> tuple[_Line, float, float]:
        return (line(ref), _number("m", m, MAX_WEIGHT, "MAX_WEIGHT"),
                _number("c", c, MAX_WEIGHT, "MAX_WEIGHT"))  # fmt: skip

    def profiles(ln: _Line, m: float, c: float, points: int) -> dict[str, Any]:
        points = whole_number(points, "profiles (points)", 2, MAX_GRID, "MAX_GRID")
        out = {}
        for name in ("m", "c"):
            p = profile(ln.objective, name, at={"m": m, "c": c}, range=ln.box[name],
                        points=points)  # fmt: skip
            out[name] = {"axis": p.axis, "values": p.values, "held": p.fixed,
                         "label": p.label, "minimum": p.minimum}  # fmt: skip
        return out

    @r.post("/data")
    def data(ref: DataRef) -> Response:
        """The dataset (built-in or uploaded, read as ``gradscape tour --data [--x] [--y]``;
        ``columns``: the file's header), its closed-form line, the default weight-space box and the learning-rate facts (2/λmax)."""
        ln = line(ref)
        d, s, p = ln.data, ln.stats, ln.plan
        shown = np.arange(d.n)
        if d.n > MAX_SHOWN_POINTS:
            shown = np.linspace(0, d.n - 1, MAX_SHOWN_POINTS).round().astype(int)
        return json_response({
            "name": d.name, "n": d.n, "x_label": d.x_label, "y_label": d.y_label,
            "notes": list(d.notes), "x": d.x[shown], "y": d.y[shown],
            "columns": list(d.columns), "columns_guessed": d.columns_guessed,
            "shown_note": (f"showing {shown.size:,} of {d.n:,} points (MAX_SHOWN_POINTS)"
                           if shown.size < d.n else ""),
            "closed_form": {"m": s.m, "c": s.c, "sse": s.sse_min},
            "ranges": {k: list(v) for k, v in ln.box.items()},
            "lr": {"max_stable": p.max_stable_lr, "suggested": p.lr, "reason": p.lr_reason,
                   "lambda_min": p.lam_min, "lambda_max": p.lam_max, "condition": p.condition},
            "formula": ln.objective.formula,
            "caps": {"grid": MAX_GRID, "steps": MAX_STEPS, "weight": MAX_WEIGHT, "lr": MAX_LR},
        })  # fmt: skip

    def cached(ref: DataRef) -> _Line | None:
        key = (ref.data, ref.x, ref.y) if ref.data != BUILTIN else (BUILTIN, None, None)
        with lock:
            return cache.get(key)

    @r.post("/point")
    async def at_point(body: PointRequest) -> Response:
        """SSE and both partial derivatives at ``(m, c)``, each with its formula in this point's
        numbers (the drag endpoint); with ``profiles`` > 0, also both 1-D error profiles
        through the point."""
        # The drag endpoint answers on the event loop (microseconds of work, no thread hop);
        # a dataset not read yet, or profiles to sweep, go to the thread pool.
        if cached(body) is None or body.profiles:
            return await run_in_threadpool(point_answer, body)
        return point_answer(body)

    def point_answer(body: PointRequest) -> Response:
        ln, m, c = point(body, body.m, body.c)
        pt = line_point(ln.stats, m, c)
        out: dict[str, Any] = {"m": pt.m, "c": pt.c, "sse": pt.sse, "d_m": pt.d_m,
                               "d_c": pt.d_c, "equations": pt.equations}  # fmt: skip
        if body.profiles:
            out["profiles"] = profiles(ln, m, c, body.profiles)
        return json_response(out)

    @r.post("/profiles")
    def profiles_at(body: PointRequest) -> Response:
        """The SSE along each weight with the other held at ``(m, c)`` (``profiles`` points,
        default 101), and the SSE at ``(m, c)`` itself."""
        ln, m, c = point(body, body.m, body.c)
        out = profiles(ln, m, c, body.profiles or 101)
        out["point"] = {"m": m, "c": c, "sse": line_point(ln.stats, m, c).sse}
        return json_response(out)

    @r.post("/surface")
    def sse_surface(body: SurfaceRequest) -> Response:
        """The SSE over a grid of ``(m, c)`` (default box: the tour's) and its lowest point."""
        ln = line(body)
        grid = whole_number(body.grid, "grid", 2, MAX_GRID, "MAX_GRID")
        s = surface(ln.objective, "m", "c", x_range=_range("m", body.m_range) or ln.box["m"],
                    y_range=_range("c", body.c_range) or ln.box["c"], points=grid,
                    progress=time_limit(what="The surface"))  # fmt: skip
        return json_response({"m": s.x, "c": s.y, "sse": s.values, "minimum": s.minimum,
                         "label": s.label, "warnings": list(s.warnings)})  # fmt: skip

    @r.post("/descend")
    def descend(body: DescendRequest) -> Response:
        """Gradient descent from ``(m, c)`` on the tour's engine: the path, SSE and partials per
        recorded step, each weight's update rule in numbers, the stop and its warnings;
        ``shown``: the rows a figure draws (``Run.shown_path``), ``frames``: the finite rows
        (the step a stop names included)."""
        ln, m, c = point(body, body.m, body.c)
        lr = None if body.lr is None else _number("lr", body.lr, MAX_LR, "MAX_LR", positive=True)
        steps = whole_number(body.steps, "steps", 1, MAX_STEPS, "MAX_STEPS")
        fit = descend_line(ln.stats, (m, c), lr=lr,
                           steps=steps, progress=time_limit(what="The descent"),
                           objective=ln.objective, head=STORY_HEAD,
                           max_records=STORY_HEAD)  # fmt: skip
        t = fit.trajectory
        # The rows the page steps through: every finite one, so the step the stop names (a
        # "grew" run's last row, left out of ``shown_path`` to keep a figure's window) is shown.
        ok = np.all(np.isfinite(t.params), axis=1) & np.isfinite(t.values)
        frames = max(int(np.argmin(ok)) if not ok.all() else int(ok.size), 1)
        return json_response({
            "start": {"m": m, "c": c}, "lr": fit.plan.lr, "lr_reason": fit.plan.lr_reason,
            "max_stable_lr": fit.plan.max_stable_lr, "max_steps": t.max_steps,
            "steps": t.steps, "m": t.params[:, 0], "c": t.params[:, 1], "sse": t.values,
            "d_m": t.gradients[:, 0], "d_c": t.gradients[:, 1],
            "rules": update_rules(t, "SSE"), "shown": len(t.shown_path()),
            "frames": frames,
            "n_steps": t.n_steps, "stop_reason": t.stop_reason, "message": t.message,
            "warnings": list(t.warnings), "converged": t.converged, "diverged": t.diverged,
            "final": t.final_params, "final_sse": t.final_value,
            "distance": fit.distance, "tolerance": fit.tolerance,
            "reached": bool(fit.distance <= fit.tolerance),
            "closed_form": {"m": ln.stats.m, "c": ln.stats.c, "sse": ln.stats.sse_min},
        })  # fmt: skip

    return r
