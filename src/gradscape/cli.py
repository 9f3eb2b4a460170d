"""The ``gradscape`` command line: a thin shell over the library API.

Errors a user can cause print one line to stderr (``gradscape: error: ...``) and exit with
status 2; no traceback. Heavy modules (JAX, matplotlib) are imported only by the verb that
needs them, so ``gradscape --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__
from .errors import GradscapeError

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

    expr_help = (
        "an expression such as 'x^2*sin(y)' (quote it), or a built-in function such as "
        "himmelblau or rosenbrock:5 (see `gradscape functions`)"
    )
    derive = sub.add_parser(
        "derive",
        help="value, partial derivatives, gradient, Hessian and Taylor of any function",
        description="Differentiate a function symbolically and by automatic differentiation, "
        "check the gradient by finite differences, and classify the point.",
    )
    derive.add_argument("expr", metavar="EXPR", help=expr_help)
    derive.add_argument(
        "--at",
        metavar="x=1,y=2",
        action="append",
        help="the point: a value for every variable (constants such as pi/2 allowed); "
        "without it only the formulas are derived",
    )
    derive.add_argument("--out", metavar="DIR", help="also write derivation.npz and summary.json")
    derive.add_argument("--json", action="store_true", help="print the results as JSON")
    derive.set_defaults(run=_cmd_derive)

    sweep = sub.add_parser(
        "sweep",
        help="a function over one variable (curve and derivative) or two (surface, contours)",
        description="Evaluate a function over a range of one variable (its curve and derivative) "
        "or a grid of two (3-D surface and contours with gradient arrows); other variables are "
        "held fixed.",
    )
    sweep.add_argument("expr", metavar="EXPR", help=expr_help)
    sweep.add_argument(
        "--range",
        metavar="x=-5:5",
        action="append",
        dest="ranges",
        help="a variable to sweep and its range (once or twice; default: a built-in "
        "function's domain)",
    )
    sweep.add_argument(
        "--fix",
        metavar="z=0",
        action="append",
        help="values for the variables not swept (default: a built-in function's minimum, else 0)",
    )
    sweep.add_argument(
        "--points",
        type=_positive_int,
        help=f"grid points per axis (default {SWEEP_POINTS[1]} for a curve, "
        f"{SWEEP_POINTS[2]} for a surface)",
    )
    _add_output(
        sweep,
        "sweep",
        "folder for figures, sweep.npz, summary.json and report.html",
        "print the summary as JSON",
    )
    sweep.set_defaults(run=_cmd_sweep)

    descend = sub.add_parser(
        "descend",
        help="gradient descent and its extensions from a start, side by side",
        description="Minimise a function from a start with one optimizer or several "
        "(gd, momentum, nesterov, adagrad, rmsprop, adam, adamw, newton, lbfgs): paths on the "
        "contours and the surface, value per step, an animation of the race, where each ended, "
        "and the curvature (largest Hessian eigenvalue, condition number, 2/λmax) at start and end.",
    )
    descend.add_argument("expr", metavar="EXPR", help=expr_help)
    descend.add_argument(
        "--from", dest="start", metavar="x=-1,y=2", action="append", required=True,
        help="the start: a value for every variable",
    )  # fmt: skip
    descend.add_argument(
        "--optimizer", default="gd", metavar="NAME",
        help="gd (default), momentum, nesterov, adagrad, rmsprop, adam, adamw, newton or lbfgs",
    )  # fmt: skip
    descend.add_argument(
        "--compare", metavar="A,B,...",
        help="several optimizers from the same start, e.g. gd,momentum,adam",
    )  # fmt: skip
    descend.add_argument(
        "--lr", type=_positive_float,
        help="learning rate (default per optimizer; gd, momentum, nesterov: 1/λmax at the start)",
    )  # fmt: skip
    _add_box(
        descend,
        "a box to stay in (a run that leaves it stops) and to draw; the start must be inside",
    )
    descend.add_argument("--steps", type=_positive_int, default=1000, help="step budget (1000)")
    descend.add_argument(
        "--gtol", type=float, default=1e-8, help="converged when |∇f| <= gtol (default 1e-8)"
    )
    _add_output(
        descend, "descend", "folder for figures, runs, summary.json", "print the summary as JSON"
    )
    descend.set_defaults(run=_cmd_descend)

    critical = sub.add_parser(
        "critical",
        help="every critical point in a box, classified by its Hessian",
        description="Solve grad f = 0 from a grid of starts in the box, merge coinciding "
        "solutions and classify each: minimum, maximum, saddle (with its index) or degenerate.",
    )
    critical.add_argument("expr", metavar="EXPR", help=expr_help)
    _add_box(critical, "the box: a range per variable (default: a built-in function's domain)")
    critical.add_argument("--starts", type=_positive_int, default=2500, help="starts (2500)")
    critical.add_argument("--seed", type=int, default=0, help="seed for random starts (n > 2)")
    _add_output(critical, "critical", "folder for figures and results", "print the points as JSON")
    critical.set_defaults(run=_cmd_critical)

    multi = sub.add_parser(
        "multistart",
        help="descend from many starts at once: distinct minima, basin shares, basin map",
        description="Descend from many starts in the box at once, merge the end points into "
        "distinct minima and report each with its value, kind and basin share; in two "
        "variables, draw the basin map.",
    )
    multi.add_argument("expr", metavar="EXPR", help=expr_help)
    _add_box(multi, "the box: a range per variable (default: a built-in function's domain)")
    multi.add_argument("--starts", type=_positive_int, default=10000, help="starts (10000)")
    multi.add_argument(
        "--optimizer", default="newton", metavar="NAME",
        help="newton (default: adapts to the curvature), gd, momentum, adam, lbfgs, ...",
    )  # fmt: skip
    multi.add_argument("--lr", type=_positive_float, help="learning rate (default per optimizer)")
    multi.add_argument("--steps", type=_positive_int, default=1000, help="step budget per start")
    multi.add_argument("--seed", type=int, default=0, help="seed for random starts (n > 2)")
    multi.add_argument(
        "--precision", choices=("float64", "float32"), default="float64",
        help="of the search (float32: faster for long first-order runs; results polished in float64)",
    )  # fmt: skip
    _add_output(multi, "multistart", "folder for figures and results", "print the minima as JSON")
    multi.set_defaults(run=_cmd_multistart)

    race = sub.add_parser(
        "race",
        help="a fair race between optimizers: same tuning budget, same starts",
        description="Every optimizer tries the same number of learning rates on the same tuning "
        "starts; the best rate is judged on a separate set of test starts. Reports the success rate "
        "(reached the global minimum), the median steps to get there and the median final gap.",
    )
    race.add_argument("expr", metavar="EXPR", help=expr_help)
    _add_box(race, "the box the starts come from (default: a built-in function's domain)")
    race.add_argument(
        "--optimizers", metavar="A,B,...", default=",".join(_OPTIMIZERS),
        help="which to race (default: all nine)",
    )  # fmt: skip
    race.add_argument("--starts", type=_positive_int, default=32, help="starts per set (32)")
    race.add_argument(
        "--budget", type=_positive_int, default=6, help="learning rates tried per optimizer (6)"
    )
    race.add_argument("--steps", type=_positive_int, default=1000, help="step budget per run")
    race.add_argument(
        "--tol", type=_positive_float, default=1e-6,
        help="success: within tol·max(1, |f*|) of the global minimum f* (1e-6)",
    )  # fmt: skip
    race.add_argument("--seed", type=int, default=0, help="seed of the starts")
    _add_output(
        race, "race", "folder for race.npz, race.png and summary.json", "print the results as JSON"
    )
    race.set_defaults(run=_cmd_race)

    tr = sub.add_parser(
        "train",
        help="train a model by backpropagation, stopping early on a validation set",
        description="Train linear, logistic or MLP models on a built-in dataset or a CSV file; "
        "record train and validation loss per epoch, stop when the validation loss has not "
        "improved for --patience epochs, restore the best epoch's weights and score the test set.",
    )
    tr.add_argument(
        "--data", required=True, metavar="NAME|CSV",
        help="digits, breast_cancer, diabetes, iris, wine, moons, circles, spirals, line, or a CSV",
    )  # fmt: skip
    tr.add_argument("--target", metavar="COL", help="the CSV column to predict")
    tr.add_argument("--model", default="mlp:64", help="linear, logistic or mlp:H1,H2,... (mlp:64)")
    tr.add_argument("--activation", default="relu", help="relu, tanh, sigmoid, gelu, softplus")
    tr.add_argument("--loss", help="cross_entropy (classes) or mse / sse (default by task)")
    tr.add_argument("--optimizer", default="adam", metavar="NAME", help="any of the family (adam)")
    tr.add_argument("--lr", type=_positive_float, default=1e-3, help="learning rate (1e-3)")
    tr.add_argument("--epochs", type=_positive_int, default=300, help="epoch limit (300)")
    tr.add_argument(
        "--batch-size", type=_positive_int, default=32, help="rows per step (32); see --full-batch"
    )
    tr.add_argument("--full-batch", action="store_true", help="one step per epoch on all rows")
    tr.add_argument(
        "--patience", type=_positive_int, default=20, help="epochs without improvement (20)"
    )
    tr.add_argument("--min-delta", type=float, default=0.0, help="the improvement that counts (0)")
    tr.add_argument(
        "--monitor", choices=("val_loss", "val_metric"), default="val_loss",
        help="what early stopping watches (val_loss)",
    )  # fmt: skip
    tr.add_argument("--seed", type=int, default=0, help="seeds the split, the weights, the batches")
    _add_output(
        tr, "run", "folder for the run: checkpoint, curves, metrics.json", "print metrics.json"
    )
    tr.set_defaults(run=_cmd_train)

    land = sub.add_parser(
        "landscape",
        help="the loss around a trained run along random, Hessian or trajectory directions",
        description="Evaluate the training loss on a line or plane through a run's best weights: "
        "filter-normalised random directions, the top Hessian eigenvectors, or the plane of the "
        "training trajectory (PCA); or along the straight line to another run's weights.",
    )
    land.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by gradscape train")
    land.add_argument("--dims", type=int, choices=(1, 2), default=2, help="a line or a plane (2)")
    land.add_argument("--grid", type=_positive_int, default=51, help="points per axis (51)")
    land.add_argument("--span", type=_positive_float, default=1.0, help="the grid covers ±span (1)")
    land.add_argument(
        "--directions", choices=("random", "hessian", "pca"), default="random",
        help="random (filter-normalised), hessian (top eigenvectors) or pca (trajectory plane)",
    )  # fmt: skip
    land.add_argument("--between", metavar="RUN_DIR2", help="the line from this run to another")
    land.add_argument("--subsample", type=_positive_int, help="evaluate on this many training rows")
    land.add_argument("--seed", type=int, default=0, help="seeds the directions and the subsample")
    _add_output(
        land,
        "landscape",
        "folder for landscape.npz, figures and summary.json",
        "print the summary as JSON",
    )
    land.set_defaults(run=_cmd_landscape)

    spec = sub.add_parser(
        "spectrum",
        help="Hessian eigenvalues, trace and spectral density of a trained run's loss",
        description="Largest and most negative eigenvalues of the Hessian of the training loss at "
        "the run's weights by Lanczos on Hessian-vector products, the trace by Hutchinson's "
        "estimator, the spectral density by stochastic Lanczos quadrature; --exact checks them "
        "against the full Hessian of a small model.",
    )
    spec.add_argument("run_dir", metavar="RUN_DIR", help="a folder written by gradscape train")
    spec.add_argument("--top", type=int, default=5, help="largest eigenvalues (5)")
    spec.add_argument(
        "--bottom", type=int, default=5, help="smallest (most negative) eigenvalues (5)"
    )
    spec.add_argument("--steps", type=_positive_int, default=80, help="Lanczos iterations (80)")
    spec.add_argument("--trace", action="store_true", help="estimate the trace (Hutchinson)")
    spec.add_argument("--density", action="store_true", help="estimate the spectral density (SLQ)")
    spec.add_argument(
        "--exact", action="store_true", help="also form the exact Hessian (small models)"
    )
    spec.add_argument("--layers", action="store_true", help="also each layer's Hessian block")
    spec.add_argument("--seed", type=int, default=0, help="seeds the random vectors")
    _add_output(
        spec,
        "spectrum",
        "folder for spectrum.npz, summary.json and density.png",
        "print the summary as JSON",
    )
    spec.set_defaults(run=_cmd_spectrum)

    functions = sub.add_parser(
        "functions",
        help="list the built-in test functions with their domains and published minima",
        description="The standard test functions of optimisation, usable by name wherever an "
        "expression is accepted.",
    )
    functions.add_argument("name", nargs="?", metavar="NAME", help="show only this one")
    functions.add_argument("--json", action="store_true", help="print them as JSON")
    functions.set_defaults(run=_cmd_functions)
    return parser


#: Default sweep resolution per number of swept variables.
SWEEP_POINTS = {1: 401, 2: 151}
#: Largest sweep grid the CLI makes (points in all).
MAX_GRID = 16_000_000
_EXPR_VERBS = {"derive", "sweep", "descend", "critical", "multistart", "race"}
_OPTIMIZERS = (
    "gd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
    "adamw",
    "newton",
    "lbfgs",
)


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
    from .expr import ExpressionError, constant

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
    from .objectives import check_range

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


def _print_sections(title: str, sections: Sequence[tuple[str, list[str]]]) -> None:
    print(title + "\n")
    for heading, lines in sections:
        print(heading)
        print("\n".join(f"   {line}" if line else "" for line in lines))
        print()


def _cmd_derive(args: argparse.Namespace) -> int:
    from .calculus import derive
    from .objectives import objective
    from .story import derive_story

    obj = objective(args.expr)
    at = None
    if args.at:
        values = _assignments(args.at, "--at")
        _check_names(obj, list(values), "--at")
        missing = [n for n in obj.names if n not in values]
        if missing:
            example = ",".join(f"{n}={values.get(n, 0):g}" for n in obj.names)
            raise GradscapeError(
                f"--at needs a value for every variable of {obj.signature()}; missing "
                f"{', '.join(missing)} (e.g. --at {example})."
            )
        at = values
    result = derive(obj, at)
    summary = result.summary()
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.save(out / "derivation.npz")
        _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
    else:
        _print_sections(f"gradscape derive — {obj.signature()}", derive_story(result))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .objectives import objective

    obj = objective(args.expr)
    ranges = _ranges(args.ranges)
    fixed = _assignments(args.fix, "--fix")
    _check_names(obj, list(ranges), "--range")
    _check_names(obj, list(fixed), "--fix")
    both = sorted(set(ranges) & set(fixed))
    if both:
        raise GradscapeError(
            f"{', '.join(both)} is both swept (--range) and fixed (--fix); pick one."
        )
    if not ranges:
        if not obj.ranges:
            example = " ".join(f"--range {n}=-5:5" for n in obj.names[:2])
            raise GradscapeError(f"Say what to sweep: {example}.")
        ranges = {n: obj.ranges[n] for n in obj.names if n not in fixed and n in obj.ranges}
        ranges = dict(list(ranges.items())[:2])
        if not ranges:
            raise GradscapeError("Every variable is fixed; give one or two with --range.")
    if len(ranges) > 2:
        raise GradscapeError(
            f"A sweep shows one or two variables; got {len(ranges)} ({', '.join(ranges)}). "
            "Hold the others with --fix."
        )
    points = args.points or SWEEP_POINTS[len(ranges)]
    if points < 2:
        raise GradscapeError("--points must be at least 2.")
    if points ** len(ranges) > MAX_GRID:
        raise GradscapeError(
            f"--points {points} makes {points ** len(ranges):,} grid points; at most "
            f"{MAX_GRID:,} (--points {int(MAX_GRID ** (1 / len(ranges)))} per axis)."
        )
    base = _held_point(obj, fixed)
    base.update({n: (lo + hi) / 2 for n, (lo, hi) in ranges.items()})

    from . import plot, report
    from .errors import NumericalError
    from .story import sweep_story
    from .sweep import profile, surface

    names = list(ranges)
    with _progress("sweep") as progress:
        if len(names) == 1:
            result: Any = profile(
                obj, names[0], at=base, range=ranges[names[0]], points=points, derivative=True
            )
        else:
            result = surface(
                obj, names[0], names[1], at=base, x_range=ranges[names[0]],
                y_range=ranges[names[1]], points=points, progress=progress, gradient=True,
            )  # fmt: skip
    if result.undefined_fraction() == 1.0:
        first = {**base, **{n: lo for n, (lo, _) in ranges.items()}}
        why = obj.expression.explain(obj.vector(first)) if obj.expression is not None else None
        where = ", ".join(f"{k}={v:g}" for k, v in first.items())
        raise NumericalError(
            f"{obj.signature()} is undefined everywhere on this grid"
            + (f"; at {where}, {why}" if why else "")
            + ". Choose other ranges."
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.save(out / "sweep.npz")
    if len(names) == 1:
        title = f"{obj.signature()} = {obj.formula}" if len(obj.formula or "") <= 60 else None
        figures = {"curve": plot.save(plot.curve(result, title=title), out / "curve.png")}
        captions = [(figures["curve"], "The function and its derivative")]
    else:
        figures = {
            "surface": plot.save(plot.surface_3d(result, title=result.label), out / "surface.png"),
            "contours": plot.save(
                plot.contours(result, marks=_known_minima(obj, result)), out / "contours.png"
            ),
        }
        captions = [
            (figures["surface"], "The surface"),
            (figures["contours"], "Contours; arrows show the direction of the gradient (uphill)"),
        ]
    sections = sweep_story(result, obj.formula)
    summary: dict[str, Any] = {
        "function": obj.signature(),
        "expression": obj.formula,
        "variables": list(obj.names),
        "ranges": {n: list(r) for n, r in ranges.items()},
        "fixed": result.fixed,
        "points": points,
        **result.extremes(),
        "undefined_fraction": result.undefined_fraction(),
    }
    if len(names) == 1:
        summary["critical_points"] = [{names[0]: x, "kind": k} for x, k in result.critical_points()]
    summary["files"] = sorted(
        [p.name for p in figures.values()] + ["sweep.npz", "summary.json", "report.html"]
    )
    _write_json(out / "summary.json", summary)
    report.write(
        out / "report.html",
        report.render(f"gradscape sweep: {obj.signature()}", sections, {sections[0][0]: captions}),
    )
    if args.json:
        print(_to_json(summary))
    else:
        _print_sections(f"gradscape sweep — {obj.signature()}", sections)
        print(f"files written to {out}/: " + ", ".join(summary["files"]))
    undefined = result.undefined_fraction()
    if undefined:
        print(
            f"gradscape: warning: {obj.signature()} is undefined on {undefined:.1%} of the grid "
            "(left blank in the figures)",
            file=sys.stderr,
        )
    return 0


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


def _cmd_descend(args: argparse.Namespace) -> int:
    import numpy as np

    from .objectives import objective
    from .optimizers import GD_FAMILY, optimizer
    from .runs import minimize

    obj = objective(args.expr)
    start = _full_point(obj, args.start, "--from")
    box = _ranges(args.ranges)
    _check_names(obj, list(box), "--range")
    for name, (lo, hi) in box.items():
        if not lo <= start[name] <= hi:
            raise GradscapeError(
                f"The start {name}={start[name]:g} is outside the range {name}={lo:g}:{hi:g}; "
                "start inside the box or widen it."
            )
    names = [m.strip() for m in (args.compare or args.optimizer).split(",") if m.strip()]
    if not names:
        raise GradscapeError("--compare needs optimizer names, like --compare gd,momentum,adam.")
    if len(set(names)) != len(names):
        raise GradscapeError("--compare names an optimizer twice.")
    for name in names:
        optimizer(name, lr=args.lr)  # validate all before running any
    if not (args.gtol >= 0 and np.isfinite(args.gtol)):
        raise GradscapeError(f"--gtol must be a number >= 0; got {args.gtol}.")
    runs = []
    for name in names:
        with _progress(f"{name}") as progress:
            runs.append(
                minimize(obj, start, name, lr=args.lr, max_steps=args.steps, gtol=args.gtol,
                         bounds=box or None, progress=progress)
            )  # fmt: skip
    warnings = []
    for r in runs:
        stable = (r.curvature_start or {}).get("stable_lr")
        if r.optimizer in GD_FAMILY and r.lr is not None and stable is not None and r.lr > stable:
            warnings.append(
                f"{r.optimizer}: lr {r.lr:.4g} is above 2/λmax = {stable:.4g} at the start; "
                "plain gradient descent is unstable there"
            )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = _descend_files(obj, runs, out, box)
    summary = {
        "function": obj.signature(),
        "expression": obj.formula,
        "start": start,
        "runs": [r.summary() for r in runs],
        "warnings": warnings,
        "files": sorted([*files, "summary.json"]),
    }
    _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
    else:
        from .story import descend_story

        _print_sections(f"gradscape descend — {obj.signature()}", descend_story(obj, start, runs))
        print(f"files written to {out}/: " + ", ".join(summary["files"]))
    for w in warnings:
        print(f"gradscape: warning: {w}", file=sys.stderr)
    return EXIT_DIVERGED if any(r.stop_reason == "diverged" for r in runs) else 0


def _descend_files(obj: Any, runs: list[Any], out: Path, box: dict[str, Any]) -> list[str]:
    """Save every run and draw the figures; returns the file names."""
    import numpy as np

    from . import plot
    from .sweep import surface

    files = []
    for r in runs:
        r.save(out / f"run_{r.optimizer}.npz")
        files.append(f"run_{r.optimizer}.npz")
    f = None
    from .functions import lookup

    if obj.expression is not None:
        f = lookup(obj.label)
    floor = f.minimum if f is not None and f.minimum is not None else None
    curves = [(r.settings, r.values) for r in runs]
    files.append(plot.save(plot.value_curves(curves, floor), out / "values.png").name)
    if obj.n != 2:
        return files
    x, y = obj.names
    finite = [_shown_path(r) for r in runs]
    pts = np.concatenate(finite)
    ranges = []
    for i, name in enumerate(obj.names):
        if name in box:
            ranges.append(box[name])
            continue
        lo, hi = float(pts[:, i].min()), float(pts[:, i].max())
        if name in obj.ranges:
            lo, hi = min(lo, obj.ranges[name][0]), max(hi, obj.ranges[name][1])
        pad = 0.1 * (hi - lo) or 1.0
        ranges.append((lo - pad, hi + pad))
    s = surface(obj, x, y, x_range=ranges[0], y_range=ranges[1], points=121)
    paths = [(r.settings, p) for r, p in zip(runs, finite, strict=True)]
    marks = _known_minima(obj, s)
    files.append(
        plot.save(
            plot.contours(s, paths=paths, marks=marks, arrows=False), out / "contours.png"
        ).name
    )
    with_values = [(r.settings, p, r.values[: len(p)]) for r, p in zip(runs, finite, strict=True)]
    files.append(plot.save(plot.surface_paths(s, with_values), out / "surface.png").name)
    files.append(plot.race_animation(s, paths, out / "race.gif").name)
    return files


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


_PLURAL = {
    "minimum": "minima",
    "maximum": "maxima",
    "saddle": "saddles",
    "degenerate": "degenerate",
}


def _coords(p: Any, scale: float = 1.0) -> str:
    """A point for a table; rounding dust (below 1e-12 of the box) shows as 0."""
    return ", ".join(f"{0.0 if abs(v) < 1e-12 * scale else v:.6g}" for v in p)


def _cmd_critical(args: argparse.Namespace) -> int:
    from . import plot
    from .critical import critical_points
    from .objectives import objective
    from .story import table

    obj = objective(args.expr)
    ranges = _box_ranges(obj, args.ranges)
    cp = critical_points(obj, ranges, starts=args.starts, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cp.save(out / "critical.npz")
    files = ["critical.npz", "summary.json"]
    if obj.n == 2:
        from .sweep import surface

        x, y = obj.names
        s = surface(obj, x, y, x_range=ranges[x], y_range=ranges[y], points=151, gradient=True)
        files.append(
            plot.save(plot.critical_map(s, cp.points, cp.kinds), out / "critical.png").name
        )
        fig3 = plot.critical_3d(s, cp.points, cp.values, cp.kinds)
        files.append(plot.save(fig3, out / "critical_3d.png").name)
    summary = {
        "function": obj.signature(),
        "expression": obj.formula,
        **cp.summary(),
        "files": sorted(files),
    }
    _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
        return 0
    rows = [
        [_coords(p), f"{val:.8g}", k + (f" (index {i})" if k == "saddle" else ""),
         ", ".join(f"{v:.4g}" for v in lam)]
        for p, val, k, i, lam in zip(cp.points, cp.values, cp.kinds, cp.indices, cp.eigenvalues, strict=True)
    ]  # fmt: skip
    counts = {k: cp.kinds.count(k) for k in ("minimum", "maximum", "saddle", "degenerate")}
    lines = [
        f"{obj.signature()} = {obj.formula}" if obj.formula else obj.signature(),
        "box: " + ", ".join(f"{n} in [{a:g}, {b:g}]" for n, (a, b) in ranges.items()),
        f"{len(cp.kinds)} critical points from {cp.starts} starts: "
        + ", ".join(f"{c} {_PLURAL[k] if c != 1 else k}" for k, c in counts.items() if c),
        "",
        *(table([", ".join(obj.names), "f", "kind", "Hessian eigenvalues"], rows, "rrll") if rows else ["none found in the box"]),
    ]  # fmt: skip
    _print_sections(f"gradscape critical — {obj.signature()}", [("Critical points", lines)])
    print(f"files written to {out}/: " + ", ".join(summary["files"]))
    return 0


def _cmd_multistart(args: argparse.Namespace) -> int:
    from . import plot
    from .critical import multistart
    from .objectives import objective
    from .optimizers import optimizer
    from .story import table

    obj = objective(args.expr)
    ranges = _box_ranges(obj, args.ranges)
    optimizer(args.optimizer, lr=args.lr)  # validate before the work
    with _progress("multistart") as progress:
        m = multistart(obj, ranges, starts=args.starts, method=args.optimizer, lr=args.lr,
                       max_steps=args.steps, seed=args.seed, precision=args.precision,
                       progress=progress)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    m.save(out / "minima.npz")
    files = ["minima.npz", "summary.json"]
    if m.grid is not None:
        title = f"{obj.signature()}: basins of {len(m.values)} minima from {m.labels.size} starts"
        fig = plot.basin_map(m.starts, m.grid, m.labels, m.points, m.values, obj.names, title)
        files.append(plot.save(fig, out / "basins.png").name)
    summary = {
        "function": obj.signature(),
        "expression": obj.formula,
        **m.summary(),
        "files": sorted(files),
    }
    _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
        return 0
    shown = min(len(m.values), 20)
    rows = [
        [_coords(m.points[i]), f"{m.values[i]:.8g}", m.kinds[i],
         str(m.counts[i]), f"{m.shares[i]:.1%}"]
        for i in range(shown)
    ]  # fmt: skip
    failed = m.failed()
    lines = [
        f"{obj.signature()} = {obj.formula}" if obj.formula else obj.signature(),
        f"{m.labels.size} starts, {m.settings} (lr: {m.lr_reason}), up to {args.steps} steps each",
        f"{len(m.values)} distinct minima"
        + (f" (the {shown} lowest shown; all in --json)" if shown < len(m.values) else ""),
        "",
        *(table([", ".join(obj.names), "f", "kind", "starts", "basin share"], rows, "rrlrr") if rows else ["no start converged"]),
        "",
        (f"best: f = {m.values[0]:.10g} at " + ", ".join(f"{n} = {v:.10g}" for n, v in zip(obj.names, m.points[0], strict=True))) if rows else "",
        "did not converge: " + (", ".join(f"{c} {k}" for k, c in failed.items()) if failed else "none"),
    ]  # fmt: skip
    _print_sections(f"gradscape multistart — {obj.signature()}", [("Minima", lines)])
    print(f"files written to {out}/: " + ", ".join(summary["files"]))
    return 0


def _cmd_race(args: argparse.Namespace) -> int:
    import math

    from . import plot
    from .objectives import objective
    from .races import race
    from .story import table

    obj = objective(args.expr)
    ranges = _box_ranges(obj, args.ranges)
    names = [m.strip() for m in args.optimizers.split(",") if m.strip()]
    with _progress("race") as progress:
        r = race(obj, ranges, optimizers=names, starts=args.starts, budget=args.budget,
                 max_steps=args.steps, tol=args.tol, seed=args.seed, progress=progress)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    r.save(out / "race.npz")
    fig = plot.race_chart(r.optimizers, r.lrs, r.tune_success, r.success, r.lr)
    files = sorted(["race.npz", plot.save(fig, out / "race.png").name, "summary.json"])
    summary = {
        "function": obj.signature(),
        "expression": obj.formula,
        **r.summary(),
        "files": files,
    }
    _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
        return 0
    rows = []
    for name, lr, s, m, g in zip(
        r.optimizers, r.lr, r.success, r.median_steps, r.median_gap, strict=True
    ):
        rows.append([name, "line search" if lr is None else f"{lr:.3g}", f"{s:.0%}",
                     "—" if math.isnan(m) else f"{m:g}", f"{g:.3g}"])  # fmt: skip
    lines = [
        f"{obj.signature()} = {obj.formula}" if obj.formula else obj.signature(),
        f"global minimum f* = {r.minimum:.10g} ({r.minimum_source})",
        f"each optimizer: {r.budget} learning rates tried on {r.starts} tuning starts, the best "
        f"judged on {r.starts} other starts; up to {r.max_steps} steps; success = within "
        f"{r.tol:g}·max(1, |f*|) of f*",
        "",
        *table(
            ["optimizer", "lr chosen", "success", "median steps", "median final gap"], rows, "lrrrr"
        ),
    ]
    _print_sections(f"gradscape race — {obj.signature()}", [("Race", lines)])
    print(f"files written to {out}/: " + ", ".join(files))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from . import plot
    from .datasets import load
    from .training import train

    split = load(args.data, target=args.target, seed=args.seed)
    if not (math.isfinite(args.min_delta) and args.min_delta >= 0):
        raise GradscapeError(f"--min-delta must be a number >= 0; got {args.min_delta}.")
    out = Path(args.out)
    with _progress("training") as progress:
        result = train(
            split, args.model, loss=args.loss, optimizer=args.optimizer, lr=args.lr,
            epochs=args.epochs, batch_size=None if args.full_batch else args.batch_size,
            patience=args.patience, min_delta=args.min_delta, monitor=args.monitor,
            activation=args.activation, seed=args.seed, progress=progress, checkpoint=out,
        )  # fmt: skip
    result.save(out / "training.npz")
    fig = plot.training_curves(result)
    files = ["checkpoint.npz", "training.npz", plot.save(fig, out / "curves.png").name,
             "metrics.json", "config.json"]  # fmt: skip
    metrics = {**result.metrics(), "files": sorted(files)}
    _write_json(out / "metrics.json", metrics)
    _write_json(out / "config.json", result.config)
    if args.json:
        print(_to_json(metrics))
        return 0
    c = result.config
    m = result.metric
    b = result.best_epoch - 1
    lines = [
        split.describe(),
        f"model {c['model']} ({c['n_params']:,} weights), loss {c['loss']}, {c['settings']}, "
        f"batch {c['batch_size'] or 'full'}",
        "",
        f"stopped: {result.stop_reason} after {result.epochs_run} epochs; best epoch "
        f"{result.best_epoch} (its weights restored)",
        f"train loss {result.train_loss[b]:.4g}, validation loss {result.val_loss[b]:.4g}, "
        f"validation {m} {result.val_metric[b]:.4g}",
        f"test loss {result.test_loss:.4g}, test {m} {result.test_metric:.4g}",
    ]
    _print_sections("gradscape train", [("Training", lines)])
    print(f"files written to {out}/: " + ", ".join(sorted(files)))
    return EXIT_DIVERGED if result.stop_reason == "diverged" else 0


def _cmd_landscape(args: argparse.Namespace) -> int:
    from . import plot
    from .landscapes import landscape
    from .training import load_run

    result, split, net = load_run(args.run_dir)
    other = None
    if args.between:
        other, other_split, _ = load_run(args.between)
        if other.config["model"] != result.config["model"] or other_split.name != split.name:
            raise GradscapeError("--between needs a run of the same model on the same dataset.")
    if not 3 <= args.grid <= 1001:
        raise GradscapeError(f"--grid must be from 3 to 1001; got {args.grid}.")
    with _progress("landscape") as progress:
        land = landscape(result, split, net, dims=args.dims, grid=args.grid, span=args.span,
                         directions=args.directions, between=other, subsample=args.subsample,
                         seed=args.seed, progress=progress)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    land.save(out / "landscape.npz")
    files = ["landscape.npz", "summary.json"] + [p.name for p in plot.landscape_figures(land, out)]
    summary = {"run": str(args.run_dir), **land.summary(), "files": sorted(files)}
    _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
        return 0
    lines = [
        f"{land.kind} {'line' if land.directions.shape[0] == 1 else 'plane'} through the best "
        f"weights of {args.run_dir}; {land.alphas.size} points per axis, {land.rows} training rows",
        f"loss at the trained weights: {land.center_loss:.6g}; on the grid from "
        f"{summary['min']:.6g} to {summary['max']:.6g}",
    ]
    if land.kind == "between":
        lines.append(f"loss at the other run: {land.end_loss:.6g}; barrier on the way: "
                     f"{summary['barrier']:.4g}")  # fmt: skip
    if land.explained.size:
        lines.append("the plane explains " + " + ".join(f"{v:.1%}" for v in land.explained)
                     + " of the trajectory's variance")  # fmt: skip
    _print_sections("gradscape landscape", [("Loss landscape", lines)])
    print(f"files written to {out}/: " + ", ".join(sorted(files)))
    return 0


def _cmd_spectrum(args: argparse.Namespace) -> int:
    import numpy as np

    from . import plot
    from .spectra import spectrum
    from .story import table
    from .training import load_run, loss_objective

    result, split, net = load_run(args.run_dir)
    obj, weights = loss_objective(result, split, net)
    blocks = None
    if args.layers:
        import jax

        from .spectra import layer_slices

        blocks = layer_slices(net.init(jax.random.PRNGKey(0)))
    with _progress("spectrum"):
        sp = spectrum(obj, weights, top=args.top, bottom=args.bottom, steps=args.steps,
                      trace=args.trace, density=args.density, exact=args.exact, layers=blocks,
                      seed=args.seed)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sp.save(out / "spectrum.npz")
    files = ["spectrum.npz", "summary.json"]
    if args.density:
        files.append(plot.save(plot.spectral_density(sp), out / "density.png").name)
    summary = {"run": str(args.run_dir), **sp.summary(), "files": sorted(files)}
    _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
        return 0
    lines = [f"Hessian of the {sp.label} at the best weights of {args.run_dir} ({sp.n:,} weights), "
             f"{sp.steps} Lanczos steps", ""]  # fmt: skip
    exact = np.sort(sp.exact) if sp.exact.size else None
    rows = []
    for i, (v, r) in enumerate(zip(sp.top, sp.top_residual, strict=True)):
        rows.append(
            [
                f"top {i + 1}",
                f"{v:.6g}",
                f"{r:.1e}",
                f"{exact[::-1][i]:.6g}" if exact is not None else "",
            ]
        )
    for i, (v, r) in enumerate(zip(sp.bottom, sp.bottom_residual, strict=True)):
        rows.append(
            [
                f"bottom {i + 1}",
                f"{v:.6g}",
                f"{r:.1e}",
                f"{exact[i]:.6g}" if exact is not None else "",
            ]
        )
    lines += table(
        ["", "Lanczos", "residual bound", "exact" if exact is not None else ""], rows, "lrrr"
    )
    if args.trace:
        lines += ["", f"trace ≈ {sp.trace:.6g} ± {sp.trace_stderr:.2g} (Hutchinson, {sp.trace_samples} "
                  "vectors, deflated)" + (f"; exact {exact.sum():.6g}" if exact is not None else "")]  # fmt: skip
    for name, block in (sp.layers or {}).items():
        lines.append(f"{name} ({block['size']:,} weights): top "
                     + ", ".join(f"{v:.4g}" for v in block["top"]) + "; bottom "
                     + ", ".join(f"{v:.4g}" for v in block["bottom"]))  # fmt: skip
    _print_sections("gradscape spectrum", [("Hessian spectrum", lines)])
    print(f"files written to {out}/: " + ", ".join(sorted(files)))
    return 0


def _shown_path(run: Any) -> Any:
    """The part of a path worth drawing: up to where it blows up (not finite, or the value a
    millionfold beyond the start's), so a diverged run does not stretch the plot to 1e150."""
    import numpy as np

    limit = 1e6 * (1 + abs(float(run.values[0])))
    ok = np.all(np.isfinite(run.params), axis=1) & (np.abs(run.values) <= limit)
    stop = int(np.argmin(ok)) if not ok.all() else ok.size
    return run.params[: max(stop, 1)]


def _known_minima(obj: Any, surface: Any) -> list[dict[str, float]]:
    """A built-in function's published minima that lie in the plane and box of the surface."""
    from .functions import lookup

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
    from .functions import lookup

    default = dict.fromkeys(obj.names, 0.0)
    f = lookup(obj.label) if obj.expression is not None else None
    if f is not None and f.minima and f.variables == obj.names:
        default = f.minima_points()[0]
    return {**default, **fixed}


def _cmd_functions(args: argparse.Namespace) -> int:
    from . import functions
    from .story import functions_story

    items = [functions.get(args.name)] if args.name else list(functions.ALL.values())
    if args.json:
        data = [
            {
                "name": f.name,
                "formula": f.formula,
                "variables": list(f.variables),
                "any_dimension": f.family is not None,
                "domain": {n: list(r) for n, r in f.ranges.items()},
                "minimum": f.minimum,
                "minima": f.minima_points(),
                "published": f.published,
                "critical": [
                    {"point": dict(zip(f.variables, p, strict=True)), "kind": k}
                    for p, k in f.critical
                ],
                "note": f.note,
            }
            for f in items
        ]
        print(_to_json(data))
    else:
        print("\n".join(functions_story(items)))
    return 0


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
    from .tours import tour

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
    (out / "summary.json").write_text(_to_json(summary) + "\n", encoding="utf-8")
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
        print(_to_json(summary))
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


def _shield_leading_minus(argv: list[str]) -> list[str]:
    """``gradscape derive -x^2``: argparse would read ``-x^2`` as an option; a leading space
    (which the expression parser skips) keeps it an argument."""
    if not argv or argv[0] not in _EXPR_VERBS:
        return argv
    return [
        f" {a}" if i and a.startswith("-") and len(a) > 1 and a[1] != "-" and a != "-h" else a
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


def main(argv: Sequence[str] | None = None) -> int:
    _use_every_core()
    parser = build_parser()
    args = parser.parse_args(_shield_leading_minus(list(sys.argv[1:] if argv is None else argv)))
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
