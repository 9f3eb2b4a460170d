"""What the verbs share: argument types, parsing of ``name=value`` lists and ranges, JSON,
printing, the progress bar."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .._files import json_text, write_json
from ..errors import GradscapeError, check_known, listing, printable

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Size limit of the compiled-program cache (least recently used entries go first).
CACHE_MAX_BYTES = 1 << 30


def cache_dir() -> Path | None:
    """gradscape's cache folder: ``$GRADSCAPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/gradscape``,
    else ``~/.cache/gradscape``; None when ``GRADSCAPE_CACHE_DIR`` is ``off`` (or empty)."""
    own = os.environ.get("GRADSCAPE_CACHE_DIR")
    if own is not None:
        return None if own.strip().lower() in ("", "off", "0", "none") else Path(own)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gradscape"


class _SafeStream:
    """A text stream that escapes control characters before they reach the terminal, so data a
    user loaded (a CSV header, a file name) can never rewrite the terminal's title or colours."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        try:
            self.raw.write(printable(text, limit=None, keep="\n\t"))
        except BrokenPipeError:
            # the reader went away (``gradscape tour | head``): the work and its files go on,
            # the rest of the story goes nowhere
            self._discard()
        return len(text)

    def flush(self) -> None:
        try:
            self.raw.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, self.raw.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


EXIT_DIVERGED = 1


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage first; one line is clearer and matches our other errors.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _fmt(v: float) -> str:
    """A bound as people write it: 1,000,000 or 1e+06 style for floats."""
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


class _Bounded:
    """An argparse type for a number in a named range, refused with the range otherwise.

    The range is shown in ``--help`` too (see :class:`_HelpFormatter`)."""

    def __init__(self, kind: type, lo: float, hi: float, *, lo_open: bool = False) -> None:
        self.kind, self.lo, self.hi, self.lo_open = kind, lo, hi, lo_open
        low = f"> {_fmt(lo)}" if lo_open else f">= {_fmt(lo)}"
        noun = "a whole number" if kind is int else "a number"
        self.range_text = f"{_fmt(lo)} to {_fmt(hi)}" if not lo_open else f"{low} and <= {_fmt(hi)}"
        self.rule = f"must be {noun} {'from ' if not lo_open else ''}{self.range_text}"
        self.__name__ = noun  # argparse names the type in its own messages

    def __call__(self, text: str) -> float:
        text = text.strip()
        try:
            v: float = int(text) if self.kind is int else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{self.rule}; got {text!r}") from None
        low_ok = v > self.lo if self.lo_open else v >= self.lo
        if not (low_ok and v <= self.hi):
            raise argparse.ArgumentTypeError(f"{self.rule}; got {text!r}")
        return v


def _int_in(lo: int, hi: int) -> _Bounded:
    """A whole number in ``[lo, hi]``."""
    return _Bounded(int, lo, hi)


def _float_in(lo: float, hi: float, *, lo_open: bool = True) -> _Bounded:
    """A finite number in ``(lo, hi]`` (or ``[lo, hi]`` with ``lo_open=False``)."""
    return _Bounded(float, lo, hi, lo_open=lo_open)


# Seeds feed NumPy and scikit-learn, which take 0 <= seed < 2**32.
SEED = _int_in(0, 2**32 - 1)
_positive_float = _float_in(0.0, 1e300)
_positive_int = _int_in(1, 10**9)


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with the range a number must lie in and its default."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        extras = []
        if isinstance(action.type, _Bounded):
            extras.append(action.type.range_text)
        shown = not any(action.default is v for v in (None, False, argparse.SUPPRESS))
        if action.option_strings and shown and "default" not in text:
            extras.append("default: %(default)s")
        return f"{text} ({'; '.join(extras)})" if extras else text


#: The help of every verb's EXPR argument.
EXPR_HELP = (
    "an expression such as 'x^2*sin(y)' (quote it), or a built-in function such as "
    "himmelblau or rosenbrock:5 (see `gradscape functions`)"
)


def _add_verb(
    sub: Any, name: str, run: Callable[[argparse.Namespace], int], help: str, description: str
) -> argparse.ArgumentParser:
    """A verb's parser: its one-line ``help`` in ``gradscape --help``, its ``description`` atop
    its own ``--help``, and the function that runs it."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description)
    parser.set_defaults(run=run)
    return parser


def _add_expr(parser: argparse.ArgumentParser) -> None:
    """The positional ``EXPR``: an expression or a built-in function's name."""
    parser.add_argument("expr", metavar="EXPR", help=EXPR_HELP)


def _add_int(
    parser: argparse.ArgumentParser, flag: str, lo: int, hi: int, default: int | None, help: str
) -> None:
    """``--flag N``: a whole number in ``[lo, hi]`` (the range is shown in ``--help``)."""
    parser.add_argument(flag, type=_int_in(lo, hi), default=default, help=help)


def _add_seed(parser: argparse.ArgumentParser, help: str, flag: str = "--seed") -> None:
    """``--seed N`` (default 0), in the range NumPy and scikit-learn accept."""
    parser.add_argument(flag, type=SEED, default=0, help=help)


def _add_output(parser: argparse.ArgumentParser, verb: str, what: str, json_help: str) -> None:
    """``--out DIR`` (default ``./gradscape-VERB``), ``--force`` and ``--json``, as every verb
    has them."""
    parser.add_argument(
        "--out", metavar="DIR", default=f"gradscape-{verb}",
        help=f"{what} (default: ./gradscape-{verb})",
    )  # fmt: skip
    _add_force(parser)
    parser.add_argument("--json", action="store_true", help=json_help)


def _add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true",
        help="write into an --out folder that holds files gradscape did not write",
    )  # fmt: skip


def _add_cluster(parser: argparse.ArgumentParser) -> None:
    """``--cluster`` and ``--resume``, for the verbs whose work is cut into chunks."""
    parser.add_argument(
        "--cluster", metavar="SPEC",
        help="run the chunks on a Dask cluster: local:N starts N worker processes on this "
        "machine for the run, tcp://HOST:PORT joins a running scheduler "
        '(pip install "gradscape[cluster]")',
    )  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true",
        help="continue an interrupted run with the same settings and --out: only the chunks "
        "not finished there are computed",
    )  # fmt: skip


@contextmanager
def _chunked(args: Any) -> Iterator[dict[str, Any]]:
    """The executor and chunk store of a run whose work is cut into chunks (after
    :func:`_out_dir`): every finished chunk is kept in the ``--out`` folder until the run is
    done, so Ctrl-C (or a crash) leaves them for ``--resume``; ``--cluster`` opens the cluster
    for the run. Yields the keyword arguments for the engine, ``executor`` and ``store``."""
    from ..executors import CHUNKS, ChunkStore, cluster

    shown = printable(str(args.out))
    store = ChunkStore(Path(args.out) / CHUNKS)
    if args.resume and not any(store.folder.glob("*.npz")):
        raise GradscapeError(
            f"--resume: {shown} holds no chunks of an interrupted run; run without --resume."
        )
    if not args.resume:
        left = len(list(store.folder.glob("*.npz")))
        if left:
            print(f"gradscape: {left} chunks of an interrupted run in {shown} are discarded "
                  "(add --resume to continue it instead)", file=sys.stderr)  # fmt: skip
        store.clear()  # a fresh run: nothing from an earlier one is reused
    opened = cluster(args.cluster) if args.cluster is not None else contextlib.nullcontext(None)
    try:
        with opened as client:
            yield {"executor": client, "store": store}
    except KeyboardInterrupt:
        kept = store.read + store.written
        if not kept:
            raise
        raise KeyboardInterrupt(
            f"{kept} finished chunks are kept in {shown}; run the same command with --resume "
            "to compute only the rest"
        ) from None
    if args.resume:
        other = store.others()
        why = (f" ({other} chunks there are of a run with other settings, kept: give its "
               "settings to resume it)" if other and not store.read else "")  # fmt: skip
        print(f"--resume: {store.read} chunks were already done in {shown}; {store.written} "
              f"computed now{why}", file=sys.stderr)  # fmt: skip
    store.remove()


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
    check_known(names, obj.names, flag, obj.signature())


def _publish(args: Any, path: Path, data: Any) -> bool:
    """Write ``data`` as JSON to ``path``; with ``--json`` also print it. True when printed."""
    write_json(path, data)
    if args.json:
        print(json_text(data))
    return bool(args.json)


def _show(out: Path, title: str, sections: Sequence[tuple[str, list[str]]], files: Any) -> None:
    """The story of a verb, then where its files went."""
    _print_sections(title, sections)
    _print_files(out, files)


def _print_files(out: Path, files: Any) -> None:
    final = next((s.final for s in _STAGED if s.staging == out), out)
    print(f"files written to {final}/: " + ", ".join(files))


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
        example = listing(
            (f"{n}={values.get(n, 0):g}" for n in obj.names), 4, sep=",", what="values"
        )
        raise GradscapeError(
            f"{flag} needs a value for every variable of {obj.signature()}; missing "
            f"{listing(missing)} (e.g. {flag} {example})."
        )
    return values


def _box_ranges(obj: Any, texts: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``--range`` for every variable, or a built-in function's domain."""
    ranges = _ranges(texts)
    _check_names(obj, list(ranges), "--range")
    full = {**obj.ranges, **ranges}
    missing = [n for n in obj.names if n not in full]
    if missing:
        example = listing((f"--range {n}=-5:5" for n in missing), 4, sep=" ", what="ranges")
        raise GradscapeError(f"Give the box: a range for every variable, e.g. {example}.")
    return full


class _Update(Protocol):
    """A progress bar's update: ``done`` of ``total``, and a new label for a new phase."""

    def __call__(self, done: int, total: int, label: str | None = None) -> None: ...


@contextmanager
def _progress(label: str) -> Iterator[_Update | None]:
    """A progress bar with ETA on stderr (only when stderr is a terminal); ``update(done,
    total)``, or ``update(done, total, label)`` when the work moves on to another phase."""
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
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(file=getattr(sys.stderr, "raw", sys.stderr)), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, label: str | None = None) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield update


# Output folders. A verb writes into a hidden staging folder inside --out; only when it
# finishes are the files moved into place (each by an atomic rename) and listed in a manifest.
# An error, Ctrl-C or a full disk removes the staging folder, so no half-written result is
# ever left looking complete; the manifest lets the next run remove its predecessor's files
# (no stale surface.png beside a new curve.png) without touching files gradscape did not write.
MANIFEST = ".gradscape.json"
_PARTIAL = ".gradscape-partial-"


@dataclass
class _Staged:
    final: Path
    staging: Path | None  # None: the verb writes in place (training checkpoints as it goes)
    created: bool
    started: float
    lock: int | None = None  # an open descriptor of the folder, locked while the verb runs


_STAGED: list[_Staged] = []


def _lock(folder: Path, shown: str) -> int | None:
    """Lock ``folder`` for this run (an exclusive ``flock`` on the folder itself, released when
    the run ends or the process dies), so that two runs never mix their files in one folder.
    Where ``flock`` does not exist (Windows) runs are not locked."""
    try:
        import fcntl
    except ImportError:
        return None
    if any(s.lock is not None and s.final.resolve() == folder.resolve() for s in _STAGED):
        return None  # this process holds it already
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise GradscapeError(
            f"--out {shown} is being written by another gradscape run; wait for it to finish "
            "or choose another folder."
        ) from None
    except OSError:  # a file system without locks: go on unlocked
        os.close(fd)
        return None
    return fd


def _unlock(s: _Staged) -> None:
    if s.lock is not None:
        with contextlib.suppress(OSError):
            os.close(s.lock)  # closing the last descriptor releases the flock
        s.lock = None


def _manifest_files(folder: Path) -> set[str] | None:
    """The files a previous gradscape run wrote into ``folder``; None when it holds no
    (readable) manifest."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {f for f in files if isinstance(f, str) and "/" not in f and f not in ("", ".", "..")}


def _out_dir(args: Any, *, staged: bool = True) -> Path:
    """The folder where a verb writes: checked, created, and (``staged``) a staging folder in it.

    Raises:
        GradscapeError: ``--out`` names a file, a broken link or a folder that cannot be
            written, or a folder holding files gradscape did not write (without ``--force``).
    """
    target = Path(args.out)
    shown = printable(str(target))
    try:
        return _prepare(target, shown, bool(getattr(args, "force", False)), staged)
    except OSError as exc:
        raise GradscapeError(
            f"--out {shown}: cannot write there ({exc.strerror or exc}); choose another folder."
        ) from None


def _prepare(target: Path, shown: str, force: bool, staged: bool) -> Path:
    if target.is_symlink() and not target.exists():
        raise GradscapeError(f"--out {shown} is a symbolic link to nothing; name a real folder.")
    if target.exists() and not target.is_dir():
        raise GradscapeError(
            f"--out {shown} is a file, not a folder; name a folder (it is created if missing)."
        )
    from ..executors import CHUNKS

    created = not target.exists()
    if not created and not force and _manifest_files(target) is None:
        foreign = sorted(p.name for p in target.iterdir()
                         if not p.name.startswith(_PARTIAL) and p.name != CHUNKS)  # fmt: skip
        if foreign:
            few = ", ".join(printable(n) for n in foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise GradscapeError(
                f"--out {shown} already holds files gradscape did not write ({few}); choose a "
                "new folder, or add --force to write there (files of the same name are replaced)."
            )
    target.mkdir(parents=True, exist_ok=True)
    lock = _lock(target, shown)
    if lock is not None:  # no other run writes here: staging folders left by a crash go
        for stale in target.glob(f"{_PARTIAL}*"):
            shutil.rmtree(stale, ignore_errors=True)
    staging = None
    if staged:
        staging = target / f"{_PARTIAL}{os.getpid()}"
        staging.mkdir(exist_ok=True)
    _STAGED.append(_Staged(target, staging, created, time.time(), lock))
    return staging or target


def _commit_outputs(verb: str) -> None:
    """Move every staged file into place, remove the previous run's files, write the manifest."""
    from .. import __version__
    from .._files import write_text

    while _STAGED:
        s = _STAGED[0]
        old = _manifest_files(s.final) or set()
        if s.staging is not None:
            new = sorted(p.name for p in s.staging.iterdir())
        else:
            new = sorted(
                p.name for p in s.final.iterdir()
                if p.name != MANIFEST and p.stat().st_mtime >= s.started - 1
            )  # fmt: skip
        for name in sorted(old - set(new)):
            _remove(s.final / name)
        for name in new if s.staging is not None else []:
            dest = s.final / name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(s.staging / name, dest)  # type: ignore[operator]
        manifest = {"gradscape": __version__, "verb": verb, "complete": True, "files": new}
        write_text(s.final / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        if s.staging is not None:
            s.staging.rmdir()
        _unlock(s)
        _STAGED.pop(0)


def _discard_outputs() -> None:
    """Remove what an unfinished verb staged (and the folder, if this run created it empty)."""
    while _STAGED:
        s = _STAGED.pop()
        if s.staging is not None:
            shutil.rmtree(s.staging, ignore_errors=True)
        _unlock(s)
        if s.created:
            with contextlib.suppress(OSError):
                s.final.rmdir()  # only when empty


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
