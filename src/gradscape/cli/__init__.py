"""The ``gradscape`` command line: a thin shell over the library API.

Errors a user can cause print one line to stderr (``gradscape: error: ...``) and exit with
status 2; no traceback. Heavy modules (JAX, matplotlib) are imported only by the verb that
needs them, so ``gradscape --help`` stays instant.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from .. import __version__
from ..errors import GradscapeError
from . import calculus, fit, networks, optimize, web
from .common import (
    CACHE_MAX_BYTES,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    _commit_outputs,
    _discard_outputs,
    _Parser,
    _SafeStream,
    cache_dir,
)

__all__ = ["EXIT_DIVERGED", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``gradscape`` parser: each group of verbs registers its own (in ``--help`` order)."""
    parser = _Parser(
        prog="gradscape",
        description="See and use the calculus that makes machine learning work.",
    )
    parser.add_argument("--version", action="version", version=f"gradscape {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    calculus.register(sub)
    optimize.register(sub)
    fit.register(sub)
    networks.register(sub)
    calculus.register_functions(sub)
    web.register(sub)
    return parser


def _verb_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each verb's own parser, by name."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _shield_leading_minus(argv: list[str]) -> list[str]:
    """``gradscape derive -x^2`` or ``derive --x``: argparse would read these as options; a
    leading space (which the expression parser skips) keeps them arguments. Only what names
    none of the verb's options (exactly, as ``--opt=value`` or as argparse's unique prefix) is
    shielded, so ``--at`` and ``--ra`` (for ``--range``) stay options."""
    if not argv or not any(a[:1] == "-" for a in argv[1:]):
        return argv
    verb = _verb_parsers(build_parser()).get(argv[0])
    if verb is None or not any(a.dest == "expr" for a in verb._actions):
        return argv  # only an EXPR can start with a minus
    options = [o for action in verb._actions for o in action.option_strings]
    longs = [o for o in options if o.startswith("--")]

    def is_option(arg: str) -> bool:
        word = arg.split("=", 1)[0]
        if word == "-":  # argparse's stdin marker, not an expression
            return True
        if word in options:
            return True
        return word.startswith("--") and len(word) > 2 and any(o.startswith(word) for o in longs)

    return [
        f" {a}" if i and a.startswith("-") and a != "--" and not is_option(a) else a
        for i, a in enumerate(argv)
    ]


def _use_every_core() -> None:
    """One XLA CPU device per core, so work over many starts can spread over the cores (JAX
    runs a computation on one core otherwise). Only before JAX starts, and never over the user's
    own ``XLA_FLAGS`` device count."""
    flags = os.environ.get("XLA_FLAGS", "")
    cores = min(os.cpu_count() or 1, 8)
    if "jax" in sys.modules or "xla_force_host_platform_device_count" in flags or cores < 2:
        return
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={cores}".strip()


def _use_compile_cache() -> None:
    """Keep XLA's compiled programs between commands in the user's cache folder, so a repeated
    command does not compile again. Only before JAX starts, and never over the user's own JAX
    cache settings; see :func:`gradscape.cli.common.cache_dir` for the folder and how to turn it
    off. A size limit turns on JAX's file lock, which makes the cache safe for concurrent runs."""
    folder = cache_dir()
    if folder is None or "jax" in sys.modules or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    try:  # a cache that cannot be written is no cache, not a warning on every command
        (folder / "jax").mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(folder / "jax")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(CACHE_MAX_BYTES))


#: Seconds after Ctrl-C before it is delivered again, if it has not stopped the command by then.
REDELIVER_SECONDS = 5.0


class _Interrupts:
    """Ctrl-C, delivered until it lands. Python raises KeyboardInterrupt wherever the main
    thread is when the signal arrives; inside a garbage-collector callback (JAX has one), a
    weak reference's callback or a ``__del__`` the exception is "unraisable": printed as ignored
    and lost, and the command would run on (seen: minutes). Python hands such an exception to
    ``sys.unraisablehook``: there it is raised again a moment later instead. Until :func:`main`
    has caught one, it is also raised again every :data:`REDELIVER_SECONDS` (should a library
    have swallowed it)."""

    def __init__(self) -> None:
        self.caught = False
        self.armed = False
        self.lock = threading.Lock()  # a repeat is never sent after the run ended
        self.hook = sys.unraisablehook

    def end(self) -> None:
        with self.lock:
            self.caught = True

    def handler(self, signum: int, frame: Any) -> None:
        """SIGINT: KeyboardInterrupt, as Python's own handler (so training still stops between
        epochs: ``interrupts_at_once``)."""
        if self.caught:
            return
        if not self.armed:
            self.armed = True
            threading.Thread(target=self._again, args=(REDELIVER_SECONDS, True), daemon=True,
                             name="gradscape-ctrl-c").start()  # fmt: skip
        raise KeyboardInterrupt

    handler.interrupts_at_once = True  # type: ignore[attr-defined]

    def unraisable(self, info: Any) -> None:
        if issubclass(info.exc_type, KeyboardInterrupt) and not self.caught:
            threading.Thread(target=self._again, args=(0.02, False), daemon=True).start()
            return
        self.hook(info)

    def _again(self, after: float, repeat: bool) -> None:
        while True:
            time.sleep(after)
            with self.lock:
                if self.caught:
                    return
                _thread.interrupt_main()  # handled by handler(): signal.signal() runs it first
            if not repeat:
                return


@contextlib.contextmanager
def _ctrl_c(command: str) -> Iterator[_Interrupts]:
    """:class:`_Interrupts` for the command's run (not for ``serve``: its server has its own
    Ctrl-C; not where signals cannot be handled: another thread)."""
    state = _Interrupts()
    if command == "serve" or threading.current_thread() is not threading.main_thread():
        yield state
        return
    before = signal.signal(signal.SIGINT, state.handler)
    sys.unraisablehook = state.unraisable
    try:
        yield state
    finally:
        state.end()
        sys.unraisablehook = state.hook
        signal.signal(signal.SIGINT, before)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 done, 1 diverged, 2 bad input, 130
    interrupted)."""
    _use_every_core()
    _use_compile_cache()
    parser = build_parser()
    args = parser.parse_args(_shield_leading_minus(list(sys.argv[1:] if argv is None else argv)))
    if getattr(args, "run", None) is None:
        parser.print_help()
        return EXIT_USAGE
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _SafeStream(out), _SafeStream(err)
    with _ctrl_c(args.command) as ctrl_c:
        try:
            code = int(args.run(args))
            _commit_outputs(args.command)
            return code
        except GradscapeError as exc:
            _discard_outputs()
            print(f"gradscape: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except OSError as exc:
            # a full disk, a folder that vanished, permissions: one line, nothing half written
            _discard_outputs()
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"gradscape: error: {where}{exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as exc:  # a run that can resume says where it stopped
            ctrl_c.end()
            _discard_outputs()
            print(f"gradscape: interrupted{f': {exc}' if str(exc) else ''}", file=sys.stderr)
            return EXIT_INTERRUPTED
        except (
            BaseException
        ):  # a bug (its traceback follows) or an exit: nothing half written stays
            _discard_outputs()
            raise
        finally:
            sys.stdout, sys.stderr = out, err


def run() -> None:
    """The ``gradscape`` console script: :func:`main`, then exit with its status.

    After Ctrl-C the process ends at once (``os._exit``): XLA's worker threads may still be
    inside a computation, and tearing the interpreter down under them can crash it."""
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
