"""What the verbs share: argument types, parsing of ``name=value`` lists and ranges, JSON,
printing, the progress bar."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import GradscapeError

EXIT_USAGE = 2


EXIT_DIVERGED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage first; one line is clearer and matches our other errors.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    text = text.strip()
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return v


def _positive_int(text: str) -> int:
    text = text.strip()
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return v


def _add_output(parser: argparse.ArgumentParser, verb: str, what: str, json_help: str) -> None:
    """``--out DIR`` (default ``./gradscape-VERB``) and ``--json``, as every verb has them."""
    parser.add_argument(
        "--out", metavar="DIR", default=f"gradscape-{verb}",
        help=f"{what} (default: ./gradscape-{verb})",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help=json_help)


def _add_box(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--range x=low:high``, repeatable."""
    parser.add_argument("--range", metavar="x=-5:5", action="append", dest="ranges", help=help_text)


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses (so ``x=max(1,2)`` stays whole)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _number(text: str, what: str) -> float:
    from ..expr import ExpressionError, constant

    try:
        return constant(text.strip())
    except ExpressionError as exc:
        raise ExpressionError(f"{what}: {exc.message}", exc.text, exc.start, exc.end) from None


def _assignments(texts: Sequence[str] | None, flag: str) -> dict[str, float]:
    """``["x=1,y=pi/2"]`` -> ``{"x": 1.0, "y": 1.5707963267948966}``."""
    out: dict[str, float] = {}
    for text in texts or []:
        for part in _split_top(text):
            name, sep, value = part.partition("=")
            name = name.strip()
            if not sep or not name or not value.strip():
                raise GradscapeError(
                    f"{flag} takes name=value pairs separated by commas, like {flag} x=1,y=2; "
                    f"got {part.strip()!r}."
                )
            if name in out:
                raise GradscapeError(f"{flag} gives {name} twice.")
            out[name] = _number(value, f"{flag} {name}")
    return out


def _ranges(texts: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``["x=-5:5"]`` -> ``{"x": (-5.0, 5.0)}``."""
    from ..objectives import check_range

    out: dict[str, tuple[float, float]] = {}
    for text in texts or []:
        name, sep, value = text.partition("=")
        name = name.strip()
        bounds = value.split(":")
        if not sep or not name or len(bounds) != 2 or not all(b.strip() for b in bounds):
            raise GradscapeError(
                f"--range takes name=low:high, like --range x=-5:5; got {text.strip()!r}."
            )
        if name in out:
            raise GradscapeError(f"--range gives {name} twice.")
        lo, hi = (_number(b, f"--range {name}") for b in bounds)
        out[name] = check_range(name, (lo, hi))
    return out


def _check_names(obj: Any, names: Sequence[str], flag: str) -> None:
    unknown = [n for n in names if n not in obj.names]
    if unknown:
        raise GradscapeError(
            f"{flag}: {', '.join(unknown)} {'is not a variable' if len(unknown) == 1 else 'are not variables'} "
            f"of {obj.signature()}; its variables are {', '.join(obj.names)}."
        )


def _finite_json(data: Any) -> Any:
    """``data`` with every non-finite float as ``None``: strict JSON has no NaN or Infinity."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: _finite_json(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_finite_json(v) for v in data]
    return data


def _to_json(data: Any) -> str:
    return json.dumps(_finite_json(data), indent=2, ensure_ascii=False, allow_nan=False)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(_to_json(data) + "\n", encoding="utf-8")


def _publish(args: Any, path: Path, data: Any) -> bool:
    """Write ``data`` as JSON to ``path``; with ``--json`` also print it. True when printed."""
    _write_json(path, data)
    if args.json:
        print(_to_json(data))
    return bool(args.json)


def _show(out: Path, title: str, sections: Sequence[tuple[str, list[str]]], files: Any) -> None:
    """The story of a verb, then where its files went."""
    _print_sections(title, sections)
    print(f"files written to {out}/: " + ", ".join(files))


def _print_sections(title: str, sections: Sequence[tuple[str, list[str]]]) -> None:
    print(title + "\n")
    for heading, lines in sections:
        print(heading)
        print("\n".join(f"   {line}" if line else "" for line in lines))
        print()


def _full_point(obj: Any, texts: Sequence[str], flag: str) -> dict[str, float]:
    """A value for every variable of ``obj`` from ``--flag x=1,y=2``."""
    values = _assignments(texts, flag)
    _check_names(obj, list(values), flag)
    missing = [n for n in obj.names if n not in values]
    if missing:
        example = ",".join(f"{n}={values.get(n, 0):g}" for n in obj.names)
        raise GradscapeError(
            f"{flag} needs a value for every variable of {obj.signature()}; missing "
            f"{', '.join(missing)} (e.g. {flag} {example})."
        )
    return values


def _box_ranges(obj: Any, texts: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``--range`` for every variable, or a built-in function's domain."""
    ranges = _ranges(texts)
    _check_names(obj, list(ranges), "--range")
    full = {**obj.ranges, **ranges}
    missing = [n for n in obj.names if n not in full]
    if missing:
        example = " ".join(f"--range {n}=-5:5" for n in missing)
        raise GradscapeError(f"Give the box: a range for every variable, e.g. {example}.")
    return full


def _coords(p: Any, scale: float = 1.0) -> str:
    """A point for a table; rounding dust (below 1e-12 of the box) shows as 0."""
    return ", ".join(f"{0.0 if abs(v) < 1e-12 * scale else v:.6g}" for v in p)


def _known_minima(obj: Any, surface: Any) -> list[dict[str, float]]:
    """A built-in function's published minima that lie in the plane and box of the surface."""
    from ..functions import lookup

    f = lookup(obj.label) if obj.expression is not None else None
    if f is None or f.variables != obj.names:
        return []
    inside = []
    for p in f.minima_points():
        if all(abs(p[k] - v) <= 1e-12 for k, v in surface.fixed.items()) and (
            surface.x[0] <= p[surface.x_name] <= surface.x[-1]
            and surface.y[0] <= p[surface.y_name] <= surface.y[-1]
        ):
            inside.append(p)
    return inside


def _held_point(obj: Any, fixed: dict[str, float]) -> dict[str, float]:
    """Values for the variables not swept: given ones, else a built-in function's first
    minimiser, else 0."""
    from ..functions import lookup

    default = dict.fromkeys(obj.names, 0.0)
    f = lookup(obj.label) if obj.expression is not None else None
    if f is not None and f.minima and f.variables == obj.names:
        default = f.minima_points()[0]
    return {**default, **fixed}


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar with ETA on stderr (only when stderr is a terminal)."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )  # fmt: skip

    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
