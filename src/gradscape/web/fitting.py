"""The fit view's API (``/api/fit``): a model formula fitted to an uploaded file or a NIST StRD
example, as ``gradscape fit`` fits it, run as a job (the solver, then the profile intervals,
with progress and Cancel); its verdict, parameters, the arrays its figures draw and the SSE
surface over two parameters with the solver's path.

Every number comes from the library (:func:`gradscape.fit`, :meth:`Fit.summary`,
:func:`gradscape.fitting.pairs.pair_surface`, :mod:`gradscape.fitting.nist`); this module
parses, caps and passes on.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from functools import cache
from typing import Any

import numpy as np
from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..errors import whole_number
from .common import MAX_EXPR_CHARS, ApiError, json_response
from .jobs import Job

#: Longest model the page sends (MAX_EXPR_CHARS, as every expression of the page).
MAX_MODEL_CHARS = MAX_EXPR_CHARS
#: Most starts of a multistart fit from the page.
MAX_FIT_STARTS = 20_000
#: Most points along each side of the SSE surface over two parameters.
MAX_SURFACE_POINTS = 101
#: Points along each side of the surface a fit sends with its result.
SURFACE_POINTS = 61
#: Most rows sent to draw (a bigger file is drawn from an even subset of its rows).
MAX_SHOWN_POINTS = 5_000
#: Finished fits kept for their surfaces; the oldest go first.
MAX_FITS = 16
#: Largest |start| or |bound| the page may give.
MAX_VALUE = 1e300

UPLOAD = "upload"


class DataRef(BaseModel):
    """Which data: a NIST StRD example by name, or an uploaded file by its token."""

    example: str | None = Field(
        "Misra1a", max_length=40, description="a NIST problem (GET /api/fit/examples)"
    )
    upload: str | None = Field(
        None, max_length=40, description="a token from POST /api/uploads (wins over example)"
    )


class FitRequest(DataRef):
    model: str = Field(description=f"response = formula, at most {MAX_MODEL_CHARS} characters")
    start: dict[str, float] = Field(
        default_factory=dict, max_length=50, description="starting value by parameter (else 1)"
    )
    bounds: dict[str, tuple[float | None, float | None]] = Field(
        default_factory=dict, max_length=50, description="(low, high) by parameter; null: open"
    )
    weights: str | None = Field(None, max_length=100, description="a column of weights wᵢ ≥ 0")
    starts: int | None = Field(
        None, description=f"a multistart in the bounds' box, at most {MAX_FIT_STARTS:,}"
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)
    intervals: bool = Field(True, description="profile-likelihood intervals and profiles")
    pair: tuple[str, str] | None = Field(
        None, description="the two parameters of the SSE surface (default: the first two)"
    )
    points: int = Field(
        SURFACE_POINTS, description=f"surface points per side, 2 to {MAX_SURFACE_POINTS}"
    )


class SurfaceRequest(BaseModel):
    fit: str = Field(max_length=40, description="the fit's id (the job's)")
    x: str = Field(max_length=100)
    y: str = Field(max_length=100)
    points: int = Field(SURFACE_POINTS, description=f"2 to {MAX_SURFACE_POINTS}")


class Fits:
    """The finished fits of every tab (for their surfaces), the oldest forgotten first."""

    def __init__(self) -> None:
        self._fits: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, fit_id: str, fit: Any) -> None:
        with self._lock:
            self._fits[fit_id] = fit
            while len(self._fits) > MAX_FITS:
                self._fits.popitem(last=False)

    def get(self, fit_id: str) -> Any:
        with self._lock:
            fit = self._fits.get(fit_id)
        if fit is None:
            raise ApiError(
                f"No fit {fit_id[:40]!r}: it never finished or was forgotten (the server keeps "
                f"the last {MAX_FITS}, MAX_FITS); fit it again.",
                404,
            )
        return fit


@cache
def _examples() -> list[dict[str, Any]]:
    from ..fitting import nist

    out = []
    for name in nist.NAMES:
        p = nist.problem(name)
        out.append({"name": name, "model": p.model, "difficulty": p.difficulty, "n": p.n,
                    "columns": list(p.data), "starts": list(p.starts),
                    "certified": p.certified, "certified_se": p.certified_se,
                    "certified_sse": p.certified_sse})  # fmt: skip
    return out


def _data(app: FastAPI, ref: DataRef) -> tuple[Any, str, Any]:
    """The data ``ref`` names as :func:`gradscape.fit` takes it, its name as the user knows it,
    and the NIST problem (``None`` for an upload)."""
    from ..fitting import nist

    if ref.upload:
        path = app.state.uploads.path(ref.upload)
        return path, app.state.uploads.names.get(ref.upload, path.name), None
    name = ref.example or ""
    if name not in nist.NAMES:  # a name only: never a path on the server
        raise ApiError(
            f"Unknown example {name[:40]!r}; the NIST problems are {', '.join(nist.NAMES)}, "
            "or upload a CSV file."
        )
    p = nist.problem(name)
    return p.table(), f"NIST {name}", p  # NIST's decimals as written, like its file


def _number(what: str, v: float) -> float:
    if not (math.isfinite(v) and abs(v) <= MAX_VALUE):
        raise ApiError(f"{what} must be a finite number of size at most {MAX_VALUE:g} "
                       f"(MAX_VALUE); got {v!r}.")  # fmt: skip
    return float(v)


def check_request(data: Any, body: FitRequest) -> Any:
    """The request checked before any work (the page's caps, then the library's
    :func:`gradscape.fitting.fits.prepare` and the pair), so a bad one is answered at once
    (HTTP 400, the library's own words) instead of as a failed job. Returns the prepared
    :class:`~gradscape.fitting.fits.Problem`."""
    from ..fitting import fits
    from ..fitting.pairs import check_pair

    if len(body.model) > MAX_MODEL_CHARS:
        raise ApiError(f"The model is {len(body.model):,} characters; the page takes at most "
                       f"{MAX_MODEL_CHARS:,} (MAX_MODEL_CHARS).")  # fmt: skip
    for k, v in body.start.items():
        _number(f"start for {k[:40]}", v)
    for k, pair in body.bounds.items():
        for side in pair:
            if side is not None:
                _number(f"bounds for {k[:40]}", side)
    if body.starts is not None:
        whole_number(body.starts, "starts", 1, MAX_FIT_STARTS, "MAX_FIT_STARTS")
    problem = fits.prepare(body.model, data, start=body.start, bounds=open_bounds(body),
                           weights=body.weights or None, starts=body.starts)  # fmt: skip
    if body.pair is not None:
        check_pair(problem.model.parameters, *body.pair)
    return problem


def open_bounds(body: FitRequest) -> dict[str, tuple[float, float]]:
    """The request's bounds as the library takes them: an open side (``null``) as ``±inf``."""
    return {k: (-math.inf if lo is None else lo, math.inf if hi is None else hi)
            for k, (lo, hi) in body.bounds.items()}  # fmt: skip


def _surface(fit: Any, x: str, y: str, points: int) -> dict[str, Any]:
    """The SSE over ``x`` and ``y`` (others at their estimates) and the solver's path on it."""
    from ..fitting.pairs import pair_surface

    s = pair_surface(fit, x, y, points=points)
    i, j = fit.parameters.index(x), fit.parameters.index(y)
    return {"x_name": x, "y_name": y, "x": s.x, "y": s.y, "sse": s.values,
            "minimum": s.minimum, "label": s.label, "warnings": list(s.warnings),
            "path_x": fit.path[:, i], "path_y": fit.path[:, j],
            "others": [n for n in fit.parameters if n not in (x, y)]}  # fmt: skip


def _shown(n: int) -> np.ndarray:
    if n <= MAX_SHOWN_POINTS:
        return np.arange(n)
    return np.linspace(0, n - 1, MAX_SHOWN_POINTS).round().astype(int)


def _same(model: str, nist_model: str) -> bool:
    """Whether ``model`` is NIST's (as written, spaces aside): only then do its certified
    values belong beside the result."""
    return model.replace(" ", "") == nist_model.replace(" ", "")


def answer(fit: Any, name: str, problem: Any, pair: tuple[str, str] | None,
           points: int) -> dict[str, Any]:  # fmt: skip
    """What the page draws of a fit: its summary (the one JSON shape of ``--json``), the
    arrays of its figures, the certified values of a NIST example fitted with NIST's model
    and the SSE surface."""
    from ..fitting import nist

    summary = fit.summary()
    summary["data"] = name
    rows = _shown(fit.n)
    arrays = {
        "X": fit.X[rows], "y": fit.y[rows], "fitted": fit.fitted[rows],
        "residuals": fit.residuals[rows], "band_x": fit.band_x, "band_fit": fit.band_fit,
        "band_conf": fit.band_conf, "band_pred": fit.band_pred,
        "profile_values": fit.profile_values, "profile_sse": fit.profile_sse,
        "path": fit.path, "minima_points": fit.minima_points, "minima_sse": fit.minima_sse,
        "shown_note": (f"showing {rows.size:,} of {fit.n:,} rows (MAX_SHOWN_POINTS)"
                       if rows.size < fit.n else ""),
    }  # fmt: skip
    out: dict[str, Any] = {"summary": summary, **arrays, "certified": None, "surface": None}
    if problem is not None and _same(fit.model, problem.model):
        out["certified"] = {
            "name": problem.name, "sse": problem.certified_sse,
            "sse_digits": nist.digits(fit.sse, problem.certified_sse),
            "parameters": {
                b: {"value": v, "se": problem.certified_se[b],
                    "digits": nist.digits(fit.params[b], v),
                    "se_digits": nist.digits(float(fit.se[k]), problem.certified_se[b])}
                for k, (b, v) in enumerate(problem.certified.items()) if b in fit.params
            },
        }  # fmt: skip
    if len(fit.parameters) >= 2:
        from ..fitting.pairs import default_pair

        x, y = pair or default_pair(fit) or fit.parameters[:2]
        out["surface"] = _surface(fit, x, y, points)
    return out


def router(app: FastAPI) -> APIRouter:
    r = APIRouter(prefix="/api/fit", tags=["fit"])
    fits = Fits()
    app.state.fits = fits

    @r.get("/examples")
    def examples() -> Response:
        """The NIST StRD problems shipped with gradscape: model, data size, NIST's two starts,
        certified values; and the view's caps."""
        return json_response({
            "examples": _examples(),
            "caps": {"model": MAX_MODEL_CHARS, "starts": MAX_FIT_STARTS,
                     "points": MAX_SURFACE_POINTS, "shown": MAX_SHOWN_POINTS},
        })  # fmt: skip

    @r.post("/data")
    def data(ref: DataRef) -> Response:
        """The data's columns and rows (to draw before a fit)."""
        from ..fitting.fits import read_data

        src, name, problem = _data(app, ref)
        cols, header, _, table = read_data(src)
        if table is not None:
            n = len(table.rows)
            cols = {c: table.numbers(j) for j, c in enumerate(header)}
        else:
            assert cols is not None
            n = len(next(iter(cols.values())))
        rows = _shown(n)
        values = {c: np.asarray(v, dtype=np.float64)[rows] for c, v in cols.items()}
        return json_response({"name": name, "columns": list(header), "n": n, "values": values,
                              "model": problem.model if problem else None})  # fmt: skip

    @r.post("/fit")
    def fit_job(body: FitRequest) -> dict[str, Any]:
        """Start a fit (a job). The request is checked first (a bad model, column, start or
        bound is answered 400 at once); the job's progress events name the phase (``fit``,
        ``starts``, ``profiles``); its result is what the page draws (see :func:`answer`)."""
        from ..fitting.fits import fit as fit_model

        src, name, problem = _data(app, body)
        prepared = check_request(src, body)
        points = whole_number(body.points, "points", 2, MAX_SURFACE_POINTS, "MAX_SURFACE_POINTS")

        def work(job: Job) -> dict[str, Any]:
            phase = {"now": ""}

            def progress(what: str, done: int, total: int) -> None:
                if what != phase["now"]:
                    phase["now"] = what
                    job.emit({"type": "phase", "phase": what})
                job.progress(done, total)

            job.check()
            fit = fit_model(prepared, seed=body.seed, intervals=body.intervals,
                            progress=progress)  # fmt: skip
            job.check()
            out = answer(fit, name, problem, body.pair, points)
            job.check()
            fits.add(job.id, fit)
            out["fit"] = job.id
            return out

        job = app.state.jobs.start("fit", work)
        return {"job": job.id, "fit": job.id}

    @r.post("/surface")
    def fit_surface(body: SurfaceRequest) -> Response:
        """The SSE over two parameters of a finished fit (others at their estimates) on a grid
        covering ±4 standard errors and the solver's path, with the path projected on it."""
        fit = fits.get(body.fit)
        points = whole_number(body.points, "points", 2, MAX_SURFACE_POINTS, "MAX_SURFACE_POINTS")
        from ..fitting.pairs import check_pair

        check_pair(fit.parameters, body.x, body.y)
        return json_response(_surface(fit, body.x, body.y, points))

    return r
