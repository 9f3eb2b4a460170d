"""Writing files so that a failed or interrupted write never leaves one that looks complete."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that becomes ``path`` only when the block ends normally.

    The temporary name keeps the suffix (``.partial.png``), so writers that choose a format by
    the suffix still work. On any error or interrupt the temporary file is removed and ``path``
    is left as it was.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_path(folder / "a.txt") as tmp:
        ...     _ = tmp.write_text("done")
        >>> (folder / "a.txt").read_text()
        'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".partial{path.suffix}",
                                dir=path.parent)  # fmt: skip
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def finite_json(data: Any) -> Any:
    """``data`` as plain JSON values: NumPy arrays and scalars as lists and numbers, mapping keys
    as strings, and every non-finite float as ``None`` (strict JSON has no NaN or Infinity).
    The one converter behind the CLI's JSON, the reports' figures and the page's answers."""
    if type(data).__module__ == "numpy":  # NumPy only when it is already in use
        import numpy as np

        if isinstance(data, np.ndarray) and data.dtype.kind == "f" and np.isfinite(data).all():
            return data.tolist()  # all finite: no walk over the elements
        data = data.tolist()
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {k if isinstance(k, str) else str(k): finite_json(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite_json(v) for v in data]
    return data


def json_text(data: Any) -> str:
    """``data`` as indented, strict JSON (NaN and infinity as null)."""
    return json.dumps(finite_json(data), indent=2, ensure_ascii=False, allow_nan=False)


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` to ``path`` as :func:`json_text`, atomically."""
    return write_text(path, json_text(data) + "\n")
