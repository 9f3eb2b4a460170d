"""What every web handler shares: the caps of the page, the error to raise, JSON of results."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
from fastapi.responses import Response

from ..errors import GradscapeError

#: Largest request body the server reads (an upload is base64 inside JSON).
MAX_BODY_BYTES = 12 * 2**20
#: Largest uploaded file, in bytes.
MAX_UPLOAD_BYTES = 8 * 2**20
#: Longest file name an upload may have.
MAX_UPLOAD_NAME = 100
#: Longest expression the page sends.
MAX_EXPR_CHARS = 2_000
#: Most points along each side of a surface the page asks for.
MAX_GRID = 301
#: Most steps of one descent from the page.
MAX_STEPS = 100_000
#: Most starts of one request (paths drawn at once).
MAX_PATHS = 16
#: Most starts of a multistart job.
MAX_STARTS = 200_000
#: Most epochs of a training job.
MAX_EPOCHS = 5_000
#: Seconds a request may compute before it is stopped (between compiled segments).
REQUEST_SECONDS = 20.0
#: Seconds a job may run before it is stopped.
JOB_SECONDS = 600.0


class ApiError(GradscapeError, ValueError):
    """A request the server refuses; ``status`` is its HTTP status (4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class TooLong(ApiError):
    """The work ran past its time limit."""

    def __init__(self, seconds: float, what: str) -> None:
        super().__init__(
            f"{what} ran past the server's limit of {seconds:g} s (REQUEST_SECONDS); "
            "ask for less (fewer points, steps or starts) or run it as a job.",
            408,
        )


def time_limit(seconds: float = REQUEST_SECONDS, what: str = "The request") -> Callable[..., None]:
    """A ``progress(done, total)`` callback for the library's engines that stops the work (by
    raising :class:`TooLong`, between compiled segments) once ``seconds`` have passed."""

    end = time.monotonic() + seconds

    def progress(*_: Any, **__: Any) -> None:
        if time.monotonic() > end:
            raise TooLong(seconds, what)

    return progress


def _more(v: Any) -> Any:
    """What orjson cannot write itself: arrays that are not C-contiguous, NumPy scalars of other
    kinds, sets."""
    if isinstance(v, np.ndarray):
        return np.ascontiguousarray(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, set | frozenset):
        return sorted(v)
    raise TypeError(f"cannot write {type(v).__name__} as JSON")


def json_response(content: Any) -> Response:
    """``content`` as JSON at once (NaN and infinity as null), written by orjson straight from
    the NumPy arrays: a 101 × 101 surface in 0.3 ms, where FastAPI's own encoder and the
    standard library's ``json`` take 7 ms, more than computing it."""
    body = orjson.dumps(content, default=_more,
                        option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)  # fmt: skip
    return Response(body, media_type="application/json")
