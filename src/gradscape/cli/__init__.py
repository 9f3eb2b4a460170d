"""The ``gradscape`` command line: a thin shell over the library API.

Errors a user can cause print one line to stderr (``gradscape: error: ...``) and exit with
status 2; no traceback. Heavy modules (JAX, matplotlib) are imported only by the verb that
needs them, so ``gradscape --help`` stays instant.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import GradscapeError
from .calculus import SWEEP_POINTS, _cmd_derive, _cmd_functions, _cmd_sweep, _cmd_tour
from .common import (
    CACHE_MAX_BYTES,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    SEED,
    _add_box,
    _add_force,
    _add_output,
    _commit_outputs,
    _discard_outputs,
    _float_in,
    _int_in,
    _Parser,
    _SafeStream,
    cache_dir,
)
from .networks import _cmd_landscape, _cmd_spectrum, _cmd_train
from .optimize import _cmd_critical, _cmd_descend, _cmd_multistart, _cmd_race

__all__ = ["EXIT_DIVERGED", "EXIT_USAGE", "build_parser", "main"]


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
        help="CSV or space-separated file of x, y data (default: a seeded synthetic noisy line)",
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
    _add_force(tour)
    tour.add_argument(
        "--lr",
        type=_float_in(0.0, 1e300),
        help="learning rate (default: 1/λmax from the curvature of the error)",
    )
    tour.add_argument(
        "--steps", type=_int_in(1, 10**8), help="step budget (default: from the condition number)"
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
    _add_force(derive)
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
        type=_int_in(2, 1_000_000),
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
        "--from", dest="start", metavar="x=-1,y=2", action="append",
        help="the start: a value for every variable (default for a built-in function: its "
        "standard start, e.g. rosenbrock's (-1.2, 1))",
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
        "--lr", type=_float_in(0.0, 1e6),
        help="learning rate (default per optimizer; gd, momentum, nesterov: 1/λmax at the start)",
    )  # fmt: skip
    _add_box(
        descend,
        "a box to stay in (a run that leaves it stops) and to draw; the start must be inside",
    )
    descend.add_argument("--steps", type=_int_in(1, 10**8), default=1000, help="step budget")
    descend.add_argument(
        "--gtol",
        type=_float_in(0.0, 1e300, lo_open=False),
        default=None,
        help="converged when |∇f| <= gtol (default 1e-8·|∇f| at the start: relative, so the "
        "scale of f does not matter)",
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
    critical.add_argument("--starts", type=_int_in(1, 10**7), default=2500, help="starts")
    critical.add_argument("--seed", type=SEED, default=0, help="seed for random starts (n > 2)")
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
    multi.add_argument("--starts", type=_int_in(1, 10**7), default=10000, help="starts")
    multi.add_argument(
        "--optimizer", default="newton", metavar="NAME",
        help="newton (default: adapts to the curvature), gd, momentum, adam, lbfgs, ...",
    )  # fmt: skip
    multi.add_argument(
        "--lr", type=_float_in(0.0, 1e6), help="learning rate (default per optimizer)"
    )
    multi.add_argument(
        "--steps", type=_int_in(1, 10**7), default=1000, help="step budget per start"
    )
    multi.add_argument("--seed", type=SEED, default=0, help="seed for random starts (n > 2)")
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
    race.add_argument("--starts", type=_int_in(1, 10**5), default=32, help="starts per set")
    race.add_argument(
        "--budget", type=_int_in(1, 50), default=6, help="learning rates tried per optimizer"
    )
    race.add_argument("--steps", type=_int_in(1, 10**7), default=1000, help="step budget per run")
    race.add_argument(
        "--tol", type=_float_in(0.0, 1.0), default=1e-8,
        help="success: f − f* down to tol times its median at the starts",
    )  # fmt: skip
    race.add_argument("--seed", type=SEED, default=0, help="seed of the starts")
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
        help="digits, breast_cancer, diabetes, iris, wine, moons, circles, spirals, line, or a data file",
    )  # fmt: skip
    tr.add_argument("--target", metavar="COL", help="the CSV column to predict")
    tr.add_argument("--model", default="mlp:64", help="linear, logistic or mlp:H1,H2,...")
    tr.add_argument("--activation", default="relu", help="relu, tanh, sigmoid, gelu, softplus")
    tr.add_argument("--loss", help="cross_entropy (classes) or mse / sse (default by task)")
    tr.add_argument("--optimizer", default="adam", metavar="NAME", help="any of the family")
    tr.add_argument("--lr", type=_float_in(0.0, 1e4), default=1e-3, help="learning rate")
    tr.add_argument("--epochs", type=_int_in(1, 10**6), default=300, help="epoch limit")
    tr.add_argument(
        "--batch-size", type=_int_in(1, 10**7), default=32, help="rows per step; see --full-batch"
    )
    tr.add_argument("--full-batch", action="store_true", help="one step per epoch on all rows")
    tr.add_argument(
        "--patience", type=_int_in(1, 10**5), default=20, help="epochs without improvement"
    )
    tr.add_argument(
        "--min-delta", type=_float_in(0.0, 1e300, lo_open=False), default=0.0,
        help="the improvement that counts",
    )  # fmt: skip
    tr.add_argument(
        "--monitor", choices=("val_loss", "val_metric"), default="val_loss",
        help="what early stopping watches",
    )  # fmt: skip
    tr.add_argument("--seed", type=SEED, default=0, help="seeds the initial weights and batches")
    tr.add_argument("--split-seed", type=SEED, default=0, help="seeds the data split")
    tr.add_argument(
        "--task", choices=("classification", "regression"),
        help="how to read the target (default: classes for labels and few whole numbers)",
    )  # fmt: skip
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
    land.add_argument(
        "--dims", type=int, choices=(1, 2), default=None,
        help="1 a line or 2 a plane (default 2; with --between the line joining the runs)",
    )  # fmt: skip
    land.add_argument("--grid", type=_int_in(3, 1001), default=51, help="points per axis")
    land.add_argument("--span", type=_float_in(0.0, 1e3), default=1.0, help="the grid covers ±span")
    land.add_argument(
        "--directions", choices=("random", "hessian", "pca"), default="random",
        help="random (filter-normalised), hessian (top eigenvectors) or pca (the trajectory's "
        "principal components)",
    )  # fmt: skip
    land.add_argument("--between", metavar="RUN_DIR2", help="the line from this run to another")
    land.add_argument(
        "--subsample", type=_int_in(1, 10**7), help="evaluate on this many training rows"
    )
    land.add_argument("--seed", type=SEED, default=0, help="seeds the directions and the subsample")
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
    spec.add_argument("--top", type=_int_in(0, 100), default=5, help="largest eigenvalues")
    spec.add_argument(
        "--bottom", type=_int_in(0, 100), default=5, help="smallest (most negative) eigenvalues"
    )
    spec.add_argument("--steps", type=_int_in(1, 1000), default=80, help="Lanczos iterations")
    spec.add_argument("--trace", action="store_true", help="estimate the trace (Hutchinson)")
    spec.add_argument("--density", action="store_true", help="estimate the spectral density (SLQ)")
    spec.add_argument(
        "--exact", action="store_true", help="also form the exact Hessian (small models)"
    )
    spec.add_argument("--layers", action="store_true", help="also each layer's Hessian block")
    spec.add_argument("--seed", type=SEED, default=0, help="seeds the random vectors")
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


def _options_of(verb: str) -> list[str]:
    """The option strings (``--at``, ``-h``…) of one verb's parser."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return [o for action in sub.choices[verb]._actions for o in action.option_strings]


def _shield_leading_minus(argv: list[str]) -> list[str]:
    """``gradscape derive -x^2`` or ``derive --x``: argparse would read these as options; a
    leading space (which the expression parser skips) keeps them arguments. Only what names
    none of the verb's options (exactly, as ``--opt=value`` or as argparse's unique prefix) is
    shielded, so ``--at`` and ``--ra`` (for ``--range``) stay options."""
    if not argv or argv[0] not in _EXPR_VERBS or not any(a[:1] == "-" for a in argv[1:]):
        return argv
    options = _options_of(argv[0])
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
        _discard_outputs()
        print(f"gradscape: interrupted{f': {exc}' if str(exc) else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
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
