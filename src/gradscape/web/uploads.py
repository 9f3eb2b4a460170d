"""Uploaded data files: checked, stored in the server's own temporary folder, read by the
project's one file reader (:func:`gradscape.tables.read_table`) so the page shows the same
errors as the CLI (with the user's file name, never the server's path)."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import shutil
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..errors import printable
from ..tables import read_table
from .common import MAX_UPLOAD_BYTES, MAX_UPLOAD_NAME, ApiError

#: Uploads kept at once; the oldest is removed first (a view naming it says to upload again).
MAX_UPLOADS = 32

_TOKEN = re.compile(r"[0-9a-f]{16}")
_ESCAPES = re.compile(r"[/\\\x00-\x1f\x7f]|^\.\.?$|\.\.[/\\]|^\.\.|^[A-Za-z]:")


class Upload(BaseModel):
    name: str = Field(max_length=MAX_UPLOAD_NAME, description="the file's name, no folders")
    content_base64: str = Field(description="the file's bytes, base64")


def check_name(name: str) -> str:
    """``name`` if it is a file name; :class:`ApiError` for one that would leave its folder
    (a folder part, ``..``, a drive, control characters) or is empty."""
    if not name.strip() or _ESCAPES.search(name) or ".." in name:
        raise ApiError(
            f"Upload name {printable(name, 60)!r} is refused: give a plain file name with no "
            "folder part, no '..' and no control characters."
        )
    return name


def stored_name(name: str) -> str:
    """The name a file is stored under: ``name`` in plain ASCII letters, digits and ``._-``
    (``Übung 1.csv`` → ``Ubung_1.csv``); the user's own name is kept for messages."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", plain).lstrip("._") or "data"
    return plain[:MAX_UPLOAD_NAME]


class Uploads:
    """Files the page uploaded, each in its own folder under the server's temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root / "uploads"
        self.root.mkdir(parents=True, exist_ok=True)
        self.names: OrderedDict[str, str] = OrderedDict()  # token → the user's file name
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes) -> str:
        check_name(name)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(too_big(len(data)), 413)
        token = secrets.token_hex(8)
        folder = self.root / token
        folder.mkdir()
        (folder / stored_name(name)).write_bytes(data)
        with self._lock:
            self.names[token] = name
            while len(self.names) > MAX_UPLOADS:
                old, _ = self.names.popitem(last=False)
                shutil.rmtree(self.root / old, ignore_errors=True)
        return token

    def path(self, token: str) -> Path:
        """The stored file of ``token`` (:class:`ApiError` 404 for an unknown token)."""
        folder = self.root / token if _TOKEN.fullmatch(token) else None
        files = list(folder.iterdir()) if folder is not None and folder.is_dir() else []
        if len(files) != 1:
            raise ApiError(f"No uploaded file {printable(token, 40)!r}: upload it again.", 404)
        return files[0]

    def shown(self, text: str) -> str:
        """``text`` (an error message) with every stored file's path replaced by the name the
        user gave it."""
        if str(self.root) not in text:
            return text

        def name(m: re.Match[str]) -> str:
            return self.names.get(m.group(1), "the uploaded file")

        return re.sub(re.escape(str(self.root)) + r"[/\\]([0-9a-f]{16})[/\\][A-Za-z0-9._-]*",
                      name, text)  # fmt: skip


def too_big(size: int) -> str:
    return (
        f"The file is {size:,} bytes; the page takes files of at most {MAX_UPLOAD_BYTES:,} bytes "
        f"(MAX_UPLOAD_BYTES = {MAX_UPLOAD_BYTES // 2**20} MiB). Use the command line for bigger files."
    )


def received(
    name: str, content_base64: str, cap: int, too_big: Callable[[int], str]
) -> tuple[str, bytes]:
    """A file sent as base64 in JSON: its checked name and bytes, at most ``cap`` of them
    (``too_big(size)`` says so, HTTP 413), refused before decoding when the text alone is over."""
    name = check_name(name)
    if len(content_base64) > 4 * (cap // 3 + 1):
        raise ApiError(too_big(len(content_base64) * 3 // 4), 413)
    try:
        data = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("content_base64 is not valid base64.") from None
    if len(data) > cap:
        raise ApiError(too_big(len(data)), 413)
    return name, data


def router(uploads: Uploads) -> APIRouter:
    r = APIRouter(prefix="/api", tags=["data"])

    @r.post("/uploads")
    def upload(body: Upload) -> dict[str, Any]:
        """Store a data file and read it with the CLI's reader: its token, columns and rows."""
        name, data = received(body.name, body.content_base64, MAX_UPLOAD_BYTES, too_big)
        token = uploads.add(name, data)
        table = read_table(uploads.path(token))
        return {"token": token, "name": name, "columns": list(table.header),
                "rows": len(table.rows), "notes": list(table.notes)}  # fmt: skip

    return r
