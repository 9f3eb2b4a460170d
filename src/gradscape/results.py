"""Result objects: frozen dataclasses of NumPy arrays plus the settings that made them.

Every result saves to a single ``.npz`` file (arrays stored natively, everything else as JSON in
one entry) and loads back without pickle, so a saved file can be shared and a figure redrawn
from it later.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Self

import numpy as np

from . import __version__
from ._files import atomic_path
from .errors import InputError

_META = "__gradscape_meta__"


def _tuples(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    if isinstance(v, dict):
        return {k: _tuples(x) for k, x in v.items()}
    return v


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return v


class Result:
    """Mixin for frozen dataclass results: :meth:`save` and :meth:`load`."""

    def save(self, path: str | Path) -> Path:
        """Write this result to ``path`` (``.npz`` is appended when missing); returns the path."""

        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_name(p.name + ".npz")
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                arrays[f.name] = v
            else:
                meta[f.name] = _jsonable(v)
        header = {"type": type(self).__name__, "gradscape": __version__, "fields": meta}
        arrays[_META] = np.array(json.dumps(header))
        with atomic_path(p) as tmp:
            np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
        return p

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a result written by :meth:`save`.

        Raises:
            InputError: the file is missing, not a gradscape result, or of another result type.
        """
        p = Path(path)
        if not p.exists() and p.with_name(p.name + ".npz").exists():
            p = p.with_name(p.name + ".npz")
        if not p.is_file():
            raise InputError(f"Result file {str(p)!r} does not exist.")
        try:
            with np.load(p, allow_pickle=False) as z:
                header = json.loads(str(z[_META]))
                arrays = {k: z[k] for k in z.files if k != _META}
        except (OSError, ValueError, KeyError) as exc:
            # NumPy's own words would advise loading it unsafely (pickle): never say that
            why = "it holds Python objects" if "pickle" in str(exc) else str(exc)[:80]
            raise InputError(f"{str(p)!r} is not a saved gradscape result ({why}).") from None
        if header.get("type") != cls.__name__:
            raise InputError(
                f"{str(p)!r} holds a {header.get('type')}, not a {cls.__name__}; "
                f"load it with {header.get('type')}.load."
            )
        kwargs = {k: _tuples(v) for k, v in header["fields"].items()}
        kwargs.update(arrays)
        return cls(**kwargs)
