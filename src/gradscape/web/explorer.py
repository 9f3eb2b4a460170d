"""The function explorer's API (``/api/explorer``): a built-in test function or a typed
expression of two variables, its surface, its value and gradient at a point, descents from the
starts the page places, its critical points and a multistart as a job.

Every handler calls the library function the CLI verb calls (``objective``, ``plan_sweep``,
``derive``, ``value_and_gradient``, ``runs.minimize``, ``critical_points``, ``multistart``) and
returns its result as JSON; nothing here computes maths. A typed expression that cannot be read
answers HTTP 400 with the parser's message and the column its caret marks.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..errors import listing
from ..objectives import Objective
from .common import (
    JOB_SECONDS,
    MAX_EXPR_CHARS,
    MAX_GRID,
    MAX_PATHS,
    MAX_STARTS,
    MAX_STEPS,
    REQUEST_SECONDS,
    ApiError,
    json_response,
)
from .jobs import Job

#: The box a typed expression is first shown over (each variable from -5 to 5), as in the
#: CLI's examples (``--range x=-5:5``); the page lets the user change it.
DEFAULT_BOX = (-5.0, 5.0)
#: Grid points per axis of the page's first surface.
DEFAULT_POINTS = 101
#: Most optimizers (with their settings) in one run request.
MAX_OPTIMIZERS = 9
#: Most starts of the synchronous search for critical points.
MAX_CRITICAL_STARTS = 10_000
#: Rows of one path sent to the page: every step of the first ``PATH_HEAD``, then about
#: ``PATH_RECORDS`` more spread over the rest (the history policy of ``runs.minimize``).
PATH_HEAD = 1_000
PATH_RECORDS = 1_000
#: How near (in a part's own argument, relative to the point's size) a corner sends the hover
#: to ``derive``; ``derive`` itself takes a corner within float64 rounding (~1e-15) as at it.
KINK_MARGIN = 1e-9
#: Objectives kept compiled, by their text: a second request on the same function compiles nothing.
CACHED_OBJECTIVES = 32

Finite = Annotated[float, Field(allow_inf_nan=False)]
Point = dict[str, Finite]


class Source(BaseModel):
    """A function: a built-in name (``himmelblau``) or an expression in two variables, and
    optionally the box ``{name: [low, high]}`` to show it over."""

    source: str = Field(description="A built-in function's name or an expression (x, y).")
    ranges: dict[str, tuple[Finite, Finite]] | None = Field(
        default=None, description="{name: [low, high]} for each variable (default: the usual box)."
    )


class SurfaceRequest(Source):
    points: int = Field(default=DEFAULT_POINTS, description=f"Per axis, at most {MAX_GRID}.")


class PointRequest(Source):
    at: Point = Field(description="{x: ..., y: ...}")


class OptimizerSpec(BaseModel):
    name: str = Field(description="gd, momentum, nesterov, adagrad, rmsprop, adam, adamw, ...")
    lr: Finite | None = Field(default=None, description="Learning rate (default per optimizer).")
    steps: int = Field(default=1000, description=f"Step budget, at most {MAX_STEPS:,}.")


class RunRequest(Source):
    starts: list[Point] = Field(description=f"Where each descent starts (at most {MAX_PATHS}).")
    optimizers: list[OptimizerSpec] = Field(
        description=f"Each optimizer runs from every start (at most {MAX_OPTIMIZERS})."
    )


class CriticalRequest(Source):
    starts: int = Field(
        default=2500, description=f"Newton starts, at most {MAX_CRITICAL_STARTS:,}."
    )
    seed: int = Field(default=0, ge=0, le=2**32 - 1)


class MultistartRequest(Source):
    starts: int = Field(default=2500, description=f"Starts, at most {MAX_STARTS:,}.")
    optimizer: str = "newton"
    lr: Finite | None = None
    steps: int = Field(default=1000, description=f"Per start, at most {MAX_STEPS:,}.")
    seed: int = Field(default=0, ge=0, le=2**32 - 1)


def _cap(value: int, least: int, cap: int, cap_name: str, what: str) -> int:
    if value < least:
        raise ApiError(f"{what} must be at least {least}; got {value}.")
    if value > cap:
        raise ApiError(f"{what} is {value:,}; at most {cap:,} ({cap_name}).")
    return value


@functools.lru_cache(maxsize=CACHED_OBJECTIVES)
def _cached(source: str) -> Objective:
    from ..sources import objective

    return objective(source)


def function_of(source: str) -> Objective:
    """The Objective of a built-in name or an expression of two variables (compiled pieces are
    kept: the same text again reuses them).

    Raises:
        ExpressionError: the text cannot be read (the message and the caret's column).
        ApiError: too long, or not a function of two variables.
    """
    if len(source) > MAX_EXPR_CHARS:
        raise ApiError(
            f"The expression is {len(source):,} characters long; at most {MAX_EXPR_CHARS:,} "
            "(MAX_EXPR_CHARS)."
        )
    obj = _cached(source.strip())
    if obj.n != 2:
        raise ApiError(
            f"The explorer shows surfaces of functions of two variables; {obj.signature()} has "
            f"{obj.n}. Use `gradscape derive`, `sweep` or `descend` for it."
        )
    return obj


def _box(obj: Objective, ranges: dict[str, tuple[float, float]] | None) -> dict[str, Any]:
    """The box to show: the given ranges over the function's usual domain (a built-in's) or
    :data:`DEFAULT_BOX`."""
    usual = obj.ranges or dict.fromkeys(obj.names, DEFAULT_BOX)
    return {**usual, **(ranges or {})}


def _plan(obj: Objective, ranges: dict[str, tuple[float, float]] | None, points: int) -> Any:
    from ..sweep import plan_sweep

    return plan_sweep(obj, _box(obj, ranges), points=points)


def _point(obj: Objective, at: dict[str, float], what: str) -> dict[str, float]:
    missing = [n for n in obj.names if n not in at]
    unknown = [n for n in at if n not in obj.names]
    if missing or unknown:
        raise ApiError(
            f"{what} needs a value for each of {listing(obj.names)}"
            + (f"; missing {listing(missing)}" if missing else "")
            + (f"; {listing(unknown)} is not a variable" if unknown else "")
            + "."
        )
    return {n: float(at[n]) for n in obj.names}


def _time_limit(what: str, advice: str) -> Callable[..., None]:
    """A ``progress`` callback for the engines that stops the work (HTTP 408, between compiled
    segments) after :data:`REQUEST_SECONDS`, saying what to ask for instead: ``advice`` names
    the request's own fields, which the page shows as inputs of the same names."""
    seconds = REQUEST_SECONDS
    end = time.monotonic() + seconds

    def progress(*_: Any, **__: Any) -> None:
        if time.monotonic() > end:
            raise ApiError(
                f"{what} ran past the server's limit of {seconds:g} s (REQUEST_SECONDS); {advice}.",
                408,
            )

    return progress


def _function_info(obj: Objective) -> dict[str, Any]:
    from ..functions import TestFunction

    f = obj.function if isinstance(obj.function, TestFunction) else None
    return {
        "label": obj.signature(),
        "formula": obj.formula,
        "variables": list(obj.names),
        "builtin": None
        if f is None
        else {
            "name": f.name,
            "note": f.note,
            "published": f.published,
            "minima": f.minima_points(),
            "minimum": f.minimum,
        },
    }


def describe(obj: Objective, ranges: dict[str, tuple[float, float]] | None) -> dict[str, Any]:
    """The function, its box and grid, and its partial derivatives as text, LaTeX and MathML.

    The library decides which formulas are short enough to write (``MAX_FORMULA_OPS``): a
    skipped one leaves ``partials`` empty and says why in ``notes``; the Hessian's formulas are
    not asked for (the page does not show them)."""
    from ..calculus import derive
    from ..expr import mathml

    plan = _plan(obj, ranges, DEFAULT_POINTS)
    d = derive(obj, hessian_formulas=False)
    partials = []
    if d.partials is not None and obj.expression is not None:
        for name, formula in obj.expression.partials.items():
            partials.append(
                {
                    "variable": name,
                    "text": d.partials[name],
                    "latex": (d.partials_latex or {}).get(name),
                    "mathml": mathml(formula, "block"),
                }
            )
    formula_mathml = None
    if obj.expression is not None and d.formula_latex is not None:  # within the size cap
        formula_mathml = mathml(obj.expression.sympy, "block")
    return {
        **_function_info(obj),
        "formula_latex": d.formula_latex,
        "formula_mathml": formula_mathml,
        "partials": partials,
        "ranges": {n: list(r) for n, r in plan.ranges.items()},
        "points": plan.points,
        "notes": list(d.notes),
    }


def router(app: FastAPI) -> APIRouter:
    r = APIRouter(prefix="/api/explorer", tags=["explorer"])

    @r.get("/functions")
    def functions() -> dict[str, Any]:
        """The built-in test functions of two variables (the explorer shows 2-D surfaces) with
        their usual domains, and the optimizers with their default learning rates."""
        from ..functions import ALL
        from ..optimizers import DEFAULT_LR, NAMES

        out = [
            {
                "name": f.name,
                "formula": f.formula,
                "variables": list(f.variables),
                "domain": {n: list(d) for n, d in f.ranges.items()},
                "note": f.note,
                "published": f.published,
                "minima": f.minima_points(),
                "minimum": f.minimum,
            }
            for f in ALL.values()
            if f.dims == 2
        ]
        return {
            "functions": out,
            "optimizers": [{"name": n, "default_lr": DEFAULT_LR[n]} for n in NAMES],
            "note": "The explorer shows functions of two variables; the other sizes of the "
            "families (rosenbrock:5 ...) are for the command line.",
            "caps": {
                "MAX_EXPR_CHARS": MAX_EXPR_CHARS,
                "MAX_GRID": MAX_GRID,
                "MAX_PATHS": MAX_PATHS,
                "MAX_STEPS": MAX_STEPS,
                "MAX_STARTS": MAX_STARTS,
                "MAX_OPTIMIZERS": MAX_OPTIMIZERS,
                "MAX_CRITICAL_STARTS": MAX_CRITICAL_STARTS,
            },
        }

    @r.post("/describe")
    def describe_function(req: Source) -> Response:
        """Its variables, default box and grid, and its partial derivatives as formulas
        (text, LaTeX and presentation MathML). An unreadable expression answers 400 with
        ``column``, where the caret goes."""
        return json_response(describe(function_of(req.source), req.ranges))

    @r.post("/surface")
    def surface(req: SurfaceRequest) -> Response:
        """The values over the box (``z[i][j]`` at ``x[j], y[i]``; null where undefined), its
        lowest point, the built-in's known minima in it, and the colour scale the report's
        contours would use (``"log"`` or ``"linear"``)."""
        from ..figures import colour_scale
        from ..sweep import known_minima

        points = _cap(req.points, 2, MAX_GRID, "MAX_GRID", "points per axis")
        obj = function_of(req.source)
        s = _plan(obj, req.ranges, points).run(
            _time_limit("The surface", "ask for fewer points per axis (a smaller grid)")
        )
        return json_response(
            {
                "label": s.label,
                "x_name": s.x_name,
                "y_name": s.y_name,
                "x": s.x,
                "y": s.y,
                "z": s.values,
                "minimum": s.minimum,
                "extremes": s.extremes(),
                "known_minima": known_minima(obj, s),
                "colour_scale": colour_scale(s.values),
                "warnings": list(s.warnings),
            }
        )

    @r.post("/point")
    def point(req: PointRequest) -> Response:
        """``f`` and its gradient at one point (the page's hover). Where a part of the formula
        is not smooth (``abs``, ``max``, ``sqrt``…) the point is decided by ``derive`` (the
        engine of ``gradscape derive``): where f is not differentiable there, ``gradient`` is
        null, ``differentiable`` false, and ``one_sided`` holds each partial derivative from
        the left and from the right, with a one-line ``note`` saying why."""
        from ..calculus import derive, value_and_gradient
        from ..kinks import may_kink

        obj = function_of(req.source)
        at = _point(obj, req.at, "The point")
        # derive (8 ms) only where a part may be at its corner: the parts' own check (1 ms)
        # with a margin far wider than the rounding derive allows a corner, so it misses none
        theta = obj.vector(at)
        maybe = may_kink(obj) and (
            obj.expression is None
            or bool(obj.expression.kinks(theta, within=KINK_MARGIN * (1 + np.abs(theta).max())))
        )
        if not maybe:
            v, g = value_and_gradient(obj, at)
            return json_response(
                {"at": at, "value": v, "gradient": obj.as_dict(g), "differentiable": True}
            )
        d = derive(obj, at)
        if d.differentiable is False:
            return json_response(
                {
                    "at": at,
                    "value": d.value,
                    "gradient": None,
                    "differentiable": False,
                    "one_sided": d.summary()["one_sided"],
                    "reason": d.reason,
                    "kind": d.kind,
                    "note": f"not differentiable here ({d.reason}): no gradient",
                }
            )
        assert d.gradient is not None
        out = {"at": at, "value": d.value, "gradient": obj.as_dict(d.gradient)}
        return json_response({**out, "differentiable": True})

    @r.post("/run")
    def run(req: RunRequest) -> Response:
        """Each optimizer from each start, by ``runs.minimize`` (the engine of ``gradscape
        descend``): every path with its values per step, stop reason and warnings."""
        from ..optimizers import optimizer
        from ..runs import minimize

        obj = function_of(req.source)
        _cap(len(req.starts), 1, MAX_PATHS, "MAX_PATHS", "The number of starts")
        _cap(len(req.optimizers), 1, MAX_OPTIMIZERS, "MAX_OPTIMIZERS", "The number of optimizers")
        starts = [_point(obj, s, f"Start {i + 1}") for i, s in enumerate(req.starts)]
        for spec in req.optimizers:  # check every setting before running any
            _cap(spec.steps, 1, MAX_STEPS, "MAX_STEPS", f"The steps of {spec.name}")
            optimizer(spec.name, lr=spec.lr)
        limit = _time_limit("The descent", "ask for fewer steps, starts or optimizers")
        runs = []
        for i, start in enumerate(starts):
            for spec in req.optimizers:
                r_ = minimize(
                    obj,
                    start,
                    spec.name,
                    lr=spec.lr,
                    max_steps=spec.steps,
                    progress=limit,
                    head=PATH_HEAD,
                    max_records=PATH_RECORDS,
                )
                runs.append(
                    {
                        "start": i,
                        "optimizer": r_.optimizer,
                        "settings": r_.settings,
                        "lr": r_.lr,
                        "lr_reason": r_.lr_reason,
                        "steps": r_.steps,
                        "path": r_.params,
                        "shown": len(r_.shown_path()),
                        "values": r_.values,
                        "n_steps": r_.n_steps,
                        "stop_reason": r_.stop_reason,
                        "message": r_.message,
                        "final": r_.final_params,
                        "final_value": r_.final_value,
                        "best_value": r_.best_value,
                        "warnings": list(r_.warnings),
                    }
                )
        return json_response({"variables": list(obj.names), "runs": runs})

    @r.post("/critical")
    def critical(req: CriticalRequest) -> Response:
        """Every critical point in the box, classified (``gradscape critical``)."""
        from ..critical import critical_points

        starts = _cap(req.starts, 1, MAX_CRITICAL_STARTS, "MAX_CRITICAL_STARTS", "starts")
        obj = function_of(req.source)
        cp = critical_points(
            obj,
            _box(obj, req.ranges),
            starts=starts,
            seed=req.seed,
            progress=_time_limit("The search for critical points", "ask for fewer starts"),
        )
        out = cp.summary()
        out["starts_note"] = cp.starts_note
        return json_response(out)

    @r.post("/multistart")
    def multistart_job(req: MultistartRequest) -> dict[str, Any]:
        """Start a multistart job (``gradscape multistart``); follow ``/api/jobs/{job}/events``.
        Its result: the distinct minima with their basin shares, and the basin map."""
        from ..multistarts import multistart
        from ..optimizers import optimizer

        starts = _cap(req.starts, 4, MAX_STARTS, "MAX_STARTS", "starts")
        steps = _cap(req.steps, 1, MAX_STEPS, "MAX_STEPS", "steps")
        obj = function_of(req.source)
        optimizer(req.optimizer, lr=req.lr)  # refuse bad settings now, not in the job
        box = _box(obj, req.ranges)

        def work(job: Job) -> dict[str, Any]:
            m = multistart(
                obj,
                box,
                starts=starts,
                method=req.optimizer,
                lr=req.lr,
                max_steps=steps,
                seed=req.seed,
                time_limit=JOB_SECONDS,
                progress=job.progress,
            )
            out = m.summary()
            out["starts_note"] = m.starts_note
            if m.grid is not None:
                ny, nx = m.grid
                out["basins"] = {
                    "x": m.starts[:nx, 0],
                    "y": m.starts[::nx, 1][:ny],
                    "labels": m.labels.reshape(ny, nx),
                }
            return out

        return {"job": app.state.jobs.start("multistart", work).id}

    return r
