"""Result objects: frozen dataclasses of NumPy arrays plus the settings that made them.

Every result saves to a single ``.npz`` file (arrays stored natively, everything else as JSON in
one entry) and loads back without pickle, so a saved file can be shared and a figure redrawn
from it later.
"""

from __future__ import annotations

import dataclasses
import json
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any, Self

import numpy as np

from . import __version__
from ._files import atomic_path
from .errors import InputError, printable

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
    """Mixin for frozen dataclass results: :meth:`save`, :meth:`load` and :meth:`check`."""

    def check(self) -> None:
        """Refuse a result whose fields contradict each other (shapes, indices, ranges): called
        by :meth:`load` on every file read, after each array field was found to hold plain
        numbers. A result class whose fields must agree overrides it.

        Raises:
            InputError: one line naming the field and what is wrong with it.
        """

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
            InputError: the file is missing, not a gradscape result (damaged, truncated, holding
                Python objects), of another result type, or holding fields this version of
                gradscape does not know (a newer one wrote it).
        """
        p, header = read_header(path)
        if header["type"] != cls.__name__:
            raise InputError(
                f"{str(p)!r} holds a {header['type']}, not a {cls.__name__}; "
                f"load it with {header['type']}.load."
            )
        arrays = _read(p, arrays=True)[1]
        kwargs = {k: _tuples(v) for k, v in header["fields"].items()}
        kwargs.update(arrays)
        _check_fields(cls, p, header, set(kwargs))
        try:
            result = cls(**kwargs)
            _check_types(result)
            result.check()
            summary = getattr(result, "summary", None)
            if callable(summary):  # what every view reads first must not fail later
                summary()
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            AttributeError,
            ArithmeticError,
        ) as exc:
            what = (str(exc).rstrip(".") if isinstance(exc, InputError)
                    else f"{type(exc).__name__} {printable(exc, 80)}")  # fmt: skip
            raise InputError(
                f"{str(p)!r} is not a saved gradscape result (it is damaged: {what})."
            ) from None
        return result


#: What a field of each simple annotation may hold once loaded (an ``int`` field never a bool).
_SCALARS: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
    "int | None": (int, type(None)), "float | None": (int, float, type(None)),
    "str | None": (str, type(None)),
}  # fmt: skip


def _check_types(result: Any) -> None:
    """Every field holds what its annotation says: an array field a real numeric array (bool,
    integer or float: never objects, strings, bytes, complex numbers, dates or records), a
    number, text or a flag its own kind. Raises InputError naming the first that does not."""
    for f in dataclasses.fields(result):
        v, kind = getattr(result, f.name), str(f.type)
        if kind.startswith("np.ndarray"):
            if v is None and kind.endswith("| None"):
                continue
            if not isinstance(v, np.ndarray):
                raise InputError(f"{f.name} is not an array")
            if v.dtype.kind not in "biuf":
                raise InputError(f"{f.name} holds {v.dtype} values, not real numbers")
        elif kind in _SCALARS:
            ok = _SCALARS[kind]
            if not isinstance(v, ok) or (isinstance(v, bool) and bool not in ok):
                raise InputError(
                    f"{f.name} is {printable(v, 40)!r}, not {kind.replace(' | None', '')}"
                )
        elif kind.startswith("tuple[str, ...]") and not (
            isinstance(v, tuple) and all(isinstance(x, str) for x in v)
        ):
            raise InputError(f"{f.name} is not a list of texts")


def read_header(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The path of a saved result (``.npz`` appended when only that exists) and its header:
    ``type`` (the result's class name), ``gradscape`` (the version that wrote it) and
    ``fields`` (everything but the arrays). Reads no array.

    Raises:
        InputError: missing, or not a saved gradscape result.
    """
    p = Path(path)
    if not p.exists() and p.with_name(p.name + ".npz").exists():
        p = p.with_name(p.name + ".npz")
    if not p.is_file():
        raise InputError(f"Result file {str(p)!r} does not exist.")
    return p, _read(p, arrays=False)[0]


def _read(p: Path, *, arrays: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with open(p, "rb") as fh:  # closed here even when NumPy's reader fails part-way
            z = np.load(fh, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("it is a single array")
            with z:
                header = json.loads(str(z[_META]))
                found = {k: z[k] for k in z.files if k != _META} if arrays else {}
    except (OSError, ValueError, KeyError, EOFError, SyntaxError, tokenize.TokenError,
            zipfile.BadZipFile, zlib.error) as exc:  # fmt: skip
        # NumPy's own words would advise loading it unsafely (pickle): never say that
        why = "it holds Python objects" if "pickle" in str(exc) else _why(exc)
        raise InputError(f"{str(p)!r} is not a saved gradscape result ({why}).") from None
    if not (
        isinstance(header, dict)
        and isinstance(header.get("type"), str)
        and isinstance(header.get("fields"), dict)
    ):
        raise InputError(f"{str(p)!r} is not a saved gradscape result (its header is damaged).")
    return header, found


def _why(exc: BaseException) -> str:
    """An exception as a short reason: its words, or what it is when it has none."""
    if isinstance(exc, KeyError):
        return "it has no gradscape header"
    if isinstance(exc, zipfile.BadZipFile | EOFError | zlib.error):
        return "it is truncated or damaged"
    if isinstance(exc, SyntaxError | tokenize.TokenError):
        return "an array's header is damaged"
    return str(exc)[:80] or type(exc).__name__


def _check_fields(cls: type, p: Path, header: dict[str, Any], given: set[str]) -> None:
    """Refuse a file whose fields are not ``cls``'s: one line naming them and the version."""
    known = {f.name for f in dataclasses.fields(cls)}
    needed = {f.name for f in dataclasses.fields(cls)
              if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}  # fmt: skip
    extra, missing = sorted(given - known), sorted(needed - given)
    wrote = str(header.get("gradscape", "?"))[:20]
    if extra:
        raise InputError(
            f"{str(p)!r} was written by gradscape {wrote} (this is {__version__}) and holds "
            f"fields a {cls.__name__} here does not have ({', '.join(extra[:4])}); open it with "
            "the gradscape that wrote it, or a newer one."
        )
    if missing:
        raise InputError(
            f"{str(p)!r} lacks fields a {cls.__name__} needs ({', '.join(missing[:4])}); it is "
            "damaged, or not written by gradscape."
        )


# -- what a result's :meth:`Result.check` asks of its fields (each raises one line naming it) -------
def need(ok: Any, what: str) -> None:
    """Raise ``InputError(what)`` unless ``ok``."""
    if not ok:
        raise InputError(what)


def shaped(name: str, a: np.ndarray, *shape: int | None) -> None:
    """``a`` has ``shape`` (``None``: any length on that axis)."""
    fits = a.ndim == len(shape) and all(
        s is None or s == n for s, n in zip(shape, a.shape, strict=False)
    )
    want = ", ".join("any" if s is None else str(s) for s in shape)
    need(fits, f"{name} has shape {a.shape}, where ({want}{',' * (len(shape) == 1)}) is needed")


def finite(name: str, a: Any) -> None:
    """``a`` holds no NaN or infinity."""
    need(np.all(np.isfinite(a)), f"{name} holds NaN or infinite values")


def increasing(name: str, a: np.ndarray) -> None:
    """``a`` is finite and strictly increasing."""
    finite(name, a)
    need(np.all(np.diff(a) > 0), f"{name} is not strictly increasing")


def within(name: str, a: Any, lo: float, hi: float) -> None:
    """Every entry of ``a`` is a number from ``lo`` to ``hi``."""
    v = np.asarray(a, np.float64)
    need(np.all((v >= lo) & (v <= hi)), f"{name} holds values outside [{lo:g}, {hi:g}]")


def integers(name: str, a: np.ndarray) -> None:
    """``a`` holds whole numbers (an integer array)."""
    need(a.dtype.kind in "iu", f"{name} holds {a.dtype} values, not whole numbers")
