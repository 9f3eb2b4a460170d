"""The page's "Open a result": a result file a gradscape command saved with ``--out DIR``
(``landscape.npz``, ``spectrum.npz``, ``minima.npz``, ``race.npz``, a ``--torch`` model's or a
``--cluster`` run's alike) shown with the same text sections and interactive figures as the
``report.html`` beside it (:func:`gradscape.saved.shown`).

The file is checked before it is read: its size (:data:`MAX_RESULT_BYTES`), the sizes its zip
declares once unpacked (:data:`MAX_RESULT_UNPACKED_BYTES`, so a zip bomb is refused unread), every
member a plain array of numbers (never a Python object: nothing is unpickled); a kind the page
does not draw is refused from its header, and the rest read by the one reader of saved results
(``Result.load`` of the class its header names, :func:`gradscape.saved.result_class`); what it
may hold is capped as the rest of the page caps it (a landscape's grid per side
:data:`~.common.MAX_GRID`, a multistart's starts :data:`~.common.MAX_STARTS`).
"""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import Response
from pydantic import BaseModel, Field

from .._npz import check_npz
from ..errors import GradscapeError, printable
from ..results import read_header
from ..saved import SHOWN, not_shown, result_class, shown
from .common import MAX_GRID, MAX_STARTS, MAX_UPLOAD_NAME, ApiError, json_response
from .uploads import received

#: Largest result file the page opens, in bytes (as sent; base64 inside JSON).
MAX_RESULT_BYTES = 8 * 2**20
#: Largest size a result file may declare once unpacked, in bytes.
MAX_RESULT_UNPACKED_BYTES = 256 * 2**20

NOTE = (
    "Open the .npz a gradscape command wrote with --out DIR (landscape.npz, spectrum.npz, "
    "minima.npz, race.npz), of a --torch model or a --cluster run alike. The file is read, never "
    "kept in the page's address: a link to this view opens it empty."
)


class OpenRequest(BaseModel):
    name: str = Field(max_length=MAX_UPLOAD_NAME, description="the file's name, no folders")
    content_base64: str = Field(description="the file's bytes, base64")


def too_big(size: int) -> str:
    return (
        f"The file is {size:,} bytes; the page opens results of at most {MAX_RESULT_BYTES:,} "
        f"bytes (MAX_RESULT_BYTES = {MAX_RESULT_BYTES // 2**20} MiB); open the report.html "
        "written beside it instead."
    )


def check_size(result: Any) -> None:
    """Refuse a result larger than the page draws (:class:`ApiError` 413, naming the cap)."""
    kind = type(result).__name__
    if kind == "Landscape" and result.alphas.size > MAX_GRID:
        raise ApiError(
            f"This landscape has {result.alphas.size:,} points per side; the page draws at most "
            f"{MAX_GRID} (MAX_GRID); open the report.html written beside it instead.",
            413,
        )
    if kind == "Minima" and result.labels.size > MAX_STARTS:
        raise ApiError(
            f"This multistart has {result.labels.size:,} starts; the page draws at most "
            f"{MAX_STARTS:,} (MAX_STARTS); open the report.html written beside it instead.",
            413,
        )


def answer(result: Any, name: str) -> dict[str, Any]:
    """What the page draws for an opened result: its kind, title, text sections and figures
    (each with its caption and the section it sits under), from :func:`gradscape.saved.shown`."""
    view = shown(result)
    heading = view.sections[0][0]
    return {
        "name": name,
        "kind": type(result).__name__,
        "verb": SHOWN[type(result).__name__],
        "title": view.title,
        "sections": [{"heading": h, "lines": list(lines)} for h, lines in view.sections],
        "figures": [{"figure": f, "caption": c, "section": heading} for f, c in view.figures],
    }


def router(app: FastAPI) -> APIRouter:
    r = APIRouter(prefix="/api/opened", tags=["opened"])
    uploads = app.state.uploads

    @r.get("/kinds")
    def kinds() -> dict[str, Any]:
        """The kinds of result the page opens (and the verb that writes each), and its caps."""
        return {"kinds": SHOWN, "max_result_bytes": MAX_RESULT_BYTES, "note": NOTE}

    @r.post("")
    def open_result(body: OpenRequest) -> Response:
        """Read a saved result (an ``.npz`` a verb wrote with ``--out``) and answer its text
        and figures, the same as its ``report.html``."""
        name, data = received(body.name, body.content_base64, MAX_RESULT_BYTES, too_big)
        path = uploads.path(uploads.add(name, data))  # errors then name the user's file
        try:
            check_npz(path, cap=MAX_RESULT_UNPACKED_BYTES, cap_name="MAX_RESULT_UNPACKED_BYTES")
            kind = read_header(path)[1]["type"]
            if kind not in SHOWN:
                raise ApiError(not_shown(kind))
            result = result_class(kind).load(path)
        finally:  # read whole: nothing keeps the file
            shutil.rmtree(path.parent, ignore_errors=True)
        check_size(result)
        try:
            drawn = answer(result, name)
        except GradscapeError:
            raise
        except Exception as exc:  # the last line of defence: a file read but not drawable
            raise ApiError(
                f"{name} was read but could not be drawn ({type(exc).__name__}: "
                f"{printable(exc, 80)}); open the report.html written beside it instead."
            ) from None
        return json_response(drawn)

    return r
