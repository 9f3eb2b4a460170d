"""The FastAPI app of ``gradscape serve``: the page, its static files, plotly.js from the
``plotly`` package's own copy (no CDN: the page works offline) and the JSON API."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import ExpressionError, GradscapeError
from . import jobs, uploads
from .common import MAX_BODY_BYTES, MAX_UPLOAD_BYTES, ApiError

STATIC = Path(str(resources.files("gradscape.web") / "static"))


def plotly_js() -> Path:
    """The minified plotly.js shipped inside the ``plotly`` Python package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _message(exc: RequestValidationError) -> str:
    """Pydantic's list of problems as one line: where, and what is wrong."""
    parts = []
    for err in exc.errors()[:3]:
        if err.get("type") == "json_invalid":
            why = err.get("ctx", {}).get("error", "")
            return f"The request body is not valid JSON ({why or 'unreadable'})."
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "Bad request: " + "; ".join(parts) + "."


class _Guard:
    """Every request: a body beyond :data:`MAX_BODY_BYTES` is refused (413) whether or not it
    says its length, and every answer says the server's own time (``Server-Timing``, for the
    browser's devtools and ``benchmarks/bench_web.py``). Plain ASGI: no extra task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = (
            f"The request body is larger than {MAX_BODY_BYTES:,} bytes (MAX_BODY_BYTES); files "
            f"are taken up to {MAX_UPLOAD_BYTES // 2**20} MiB (MAX_UPLOAD_BYTES)."
        )
        size = dict(scope["headers"]).get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > MAX_BODY_BYTES):
            await JSONResponse({"error": refusal}, 413)(scope, receive, send)
            return
        start = time.perf_counter()
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:  # the handler reading it answers 413
                raise HTTPException(413, refusal)
            return message

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = f"app;dur={(time.perf_counter() - start) * 1e3:.3f}"
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", took.encode()),
                ]
            await send(message)

        await self.app(scope, counted, timed)


def create_app(workdir: str | Path | None = None) -> FastAPI:
    """The app. ``workdir`` is its temporary space (uploads, exports); by default a fresh
    temporary folder, removed when the app shuts down."""

    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="gradscape-serve-") if workdir is None else workdir)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.jobs.shutdown()
        if own:
            shutil.rmtree(root, ignore_errors=True)

    # no /docs or /redoc: FastAPI serves their pages from a CDN, and the page works offline
    app = FastAPI(title="gradscape", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="The JSON API of gradscape's interactive page.")  # fmt: skip
    app.state.root = root
    app.state.jobs = jobs.Jobs()
    app.state.uploads = uploads.Uploads(root)

    @app.exception_handler(GradscapeError)
    async def _gradscape_error(_: Request, exc: GradscapeError) -> JSONResponse:
        status = exc.status if isinstance(exc, ApiError) else 400
        # an uploaded file is named as the user named it, never by the server's path
        body: dict[str, Any] = {"error": app.state.uploads.shown(str(exc))}
        if isinstance(exc, ExpressionError):  # where the page puts its caret
            body = {"error": exc.message, "expression": exc.text, "start": exc.start,
                    "end": exc.end, "column": exc.start + 1}  # fmt: skip
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _message(exc), "detail": jsonable_errors(exc)}, 422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    app.add_middleware(_Guard)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_file() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        """The server is up; its version."""
        return {"ok": True, "version": __version__, "max_upload_bytes": MAX_UPLOAD_BYTES}

    app.include_router(jobs.router(app.state.jobs))
    app.include_router(uploads.router(app.state.uploads))
    for view in _views():
        app.include_router(view.router(app))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()[:10]]  # fmt: skip


def _views() -> list[Any]:
    """The view modules; each has ``router(app) -> APIRouter``."""
    from . import explorer, fitting, opened, reports, story, training

    return [story, explorer, training, fitting, opened, reports]
