"""Uploaded data files: checked, stored in the server's own temporary folder, read by the
project's one file reader (:func:`gradscape.tables.read_table`) so the page shows the same
errors as the CLI."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..errors import printable
from ..tables import read_table
from .common import MAX_UPLOAD_BYTES, MAX_UPLOAD_NAME, ApiError

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()+-]*")
_TOKEN = re.compile(r"[0-9a-f]{16}")


class Upload(BaseModel):
    name: str = Field(max_length=MAX_UPLOAD_NAME, description="the file's name, no folders")
    content_base64: str = Field(
        max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 8, description="the file's bytes, base64"
    )


def safe_name(name: str) -> str:
    """``name`` if it is a plain file name; else :class:`ApiError` (a name with a folder,
    ``..``, a leading dot or characters beyond letters, digits, space and ``._()+-``)."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name or len(name) > MAX_UPLOAD_NAME:
        raise ApiError(
            f"Upload name {printable(name, 60)!r} is refused: use a plain file name of at most "
            f"{MAX_UPLOAD_NAME} characters (MAX_UPLOAD_NAME) made of letters, digits, spaces "
            "and ._()+- with no folder part and no '..'."
        )
    return name


class Uploads:
    """Files the page uploaded, each in its own folder under the server's temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root / "uploads"
        self.root.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, data: bytes) -> str:
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(
                f"The file is {len(data):,} bytes; the server takes at most {MAX_UPLOAD_BYTES:,} "
                "(MAX_UPLOAD_BYTES). Use the command line for bigger files.",
                413,
            )
        token = secrets.token_hex(8)
        folder = self.root / token
        folder.mkdir()
        (folder / safe_name(name)).write_bytes(data)
        return token

    def path(self, token: str) -> Path:
        """The stored file of ``token`` (:class:`ApiError` 404 for an unknown token)."""
        folder = self.root / token if _TOKEN.fullmatch(token) else None
        files = list(folder.iterdir()) if folder is not None and folder.is_dir() else []
        if len(files) != 1:
            raise ApiError(f"No uploaded file {printable(token, 40)!r}: upload it again.", 404)
        return files[0]


def router(uploads: Uploads) -> APIRouter:
    r = APIRouter(prefix="/api", tags=["data"])

    @r.post("/uploads")
    def upload(body: Upload) -> dict[str, Any]:
        """Store a data file and read it with the CLI's reader: its token, columns and rows."""
        name = safe_name(body.name)
        try:
            data = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError("content_base64 is not valid base64.") from None
        token = uploads.add(name, data)
        table = read_table(uploads.path(token))
        return {"token": token, "name": name, "columns": list(table.header),
                "rows": len(table.rows), "notes": list(table.notes)}  # fmt: skip

    return r
