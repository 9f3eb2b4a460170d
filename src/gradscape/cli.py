"""The ``gradscape`` command line: a thin shell over the library API.

Errors a user can cause print one line to stderr (``gradscape: error: ...``) and exit with
status 2; no traceback. Heavy modules (JAX, matplotlib) are imported only by the verb that
needs them, so ``gradscape --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import GradscapeError

EXIT_USAGE = 2
EXIT_DIVERGED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage first; one line is clearer and matches our other errors.
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}")
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradscape",
        description="See and use the calculus that makes machine learning work.",
    )
    parser.add_argument("--version", action="version", version=f"gradscape {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    tour = sub.add_parser(
        "tour",
        help="the classic story: fit a line by gradient descent on its error surface",
        description="Fit y = m*x + c by gradient descent on the sum of squared errors, and show "
        "every step: formulas, profiles, the error surface, the descent path.",
    )
    tour.add_argument(
        "--data",
        metavar="CSV",
        help="CSV file of x, y data (default: a seeded synthetic noisy line)",
    )
    tour.add_argument(
        "--x",
        metavar="COL",
        help="column for x: header name or 1-based number (default: first numeric)",
    )
    tour.add_argument(
        "--y",
        metavar="COL",
        help="column for y: header name or 1-based number (default: second numeric)",
    )
    tour.add_argument(
        "--out",
        metavar="DIR",
        default="gradscape-tour",
        help="folder for figures, summary.json and report.html (default: ./gradscape-tour)",
    )
    tour.add_argument(
        "--lr",
        type=_positive_float,
        help="learning rate (default: 1/λmax from the curvature of the error)",
    )
    tour.add_argument(
        "--steps", type=_positive_int, help="step budget (default: from the condition number)"
    )
    tour.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON to stdout instead of the story",
    )
    tour.set_defaults(run=_cmd_tour)
    return parser


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


def _cmd_tour(args: argparse.Namespace) -> int:
    from . import plot, report
    from .data import load_csv
    from .story import tour_story
    from .tour import tour

    data = load_csv(args.data, x=args.x, y=args.y) if args.data else None
    if data is None and (args.x or args.y):
        raise GradscapeError("--x and --y choose columns of a CSV file; give the file with --data.")
    with _progress("gradient descent") as progress:
        result = tour(data, lr=args.lr, steps=args.steps, progress=progress)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figures = plot.tour_figures(result, out)
    result.trajectory.save(out / "trajectory.npz")
    result.surface.save(out / "surface.npz")
    summary = result.summary()
    summary["files"] = sorted(
        [str(p.name) for p in figures.values()]
        + ["trajectory.npz", "surface.npz", "summary.json", "report.html"]
    )
    (out / "summary.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    sections = tour_story(result)
    placed = {
        sections[0][0]: [(figures["data"], "The data with the fitted lines")],
        sections[2][0]: [
            (
                figures["profiles"],
                "1-D error profiles: one weight moves, the other is held at its best",
            )
        ],
        sections[3][0]: [
            (figures["surface"], "The error surface with the descent path"),
            (figures["contours"], "Contours of the error surface and the descent path"),
        ],
        sections[4][0]: [(figures["loss"], "Distance of the error from its minimum, per step")],
    }
    report.write(
        out / "report.html",
        report.render("gradscape tour: how calculus fits a line", sections, placed),
    )
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print("gradscape tour — how calculus fits a line\n")
        for title, lines in sections:
            print(title)
            print("\n".join(f"   {line}" if line else "" for line in lines))
            print()
        print(f"files written to {out}/: " + ", ".join(summary["files"]))
    if result.trajectory.diverged:
        print(f"gradscape: warning: {result.trajectory.message}", file=sys.stderr)
        return EXIT_DIVERGED
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except GradscapeError as exc:
        print(f"gradscape: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gradscape: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
