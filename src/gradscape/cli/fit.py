"""``fit``: a model formula fitted to a data file, with its uncertainty and a verdict on it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._files import json_text, write_json
from ..errors import GradscapeError
from .common import (
    EXIT_DIVERGED,
    _add_force,
    _add_int,
    _add_seed,
    _add_verb,
    _assignments,
    _number,
    _out_dir,
    _print_sections,
    _progress,
    _show,
    _split_top,
    _Update,
)

#: The multistart's cap (:data:`gradscape.box_search.MAX_STARTS`; written out: importing the
#: engine is not light).
MAX_STARTS = 10_000_000
#: Grid points per axis of the pair surface (:data:`gradscape.fitting.pairs.MAX_PAIR_POINTS`).
MAX_PAIR_POINTS = 301
PAIR_POINTS = 81

_OPEN = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf}

#: The figures' captions in the report, by name.
CAPTIONS = {
    "curve": "The data, the fitted curve and its bands (hover for each point)",
    "observed": "Observed against fitted: a perfect fit lies on the diagonal",
    "residuals": "Residuals against the fitted values and each input: no pattern is what a good "
    "fit leaves",
    "profiles": "The SSE along each parameter with the others re-optimised, the profile "
    "interval where it crosses the threshold, the Wald interval beside it",
    "pair": "The SSE over two parameters (the others at their estimates) and the solver's path",
}


def register(sub: Any) -> None:
    """``fit``: least squares with exact derivatives, a verdict and honest uncertainty."""
    fit = _add_verb(
        sub, "fit", _cmd_fit,
        "fit any model formula to data: exact derivatives, a verdict, honest uncertainty",
        "Fit MODEL, written as 'y = b1*(1 - exp(-b2*x))', to the columns of a data file by "
        "least squares with exact Jacobians: names that are columns are inputs, every other "
        "name a parameter. Says why the solver stopped and whether to trust it; gives standard "
        "errors, Wald and profile-likelihood intervals, the correlations, the step table, and "
        "with --starts the distinct minima of many starts. Exit status 1 when the verdict is "
        "suspect or failed: such a fit is not reported as a success.",
    )  # fmt: skip
    fit.add_argument(
        "model", metavar="MODEL",
        help="'response = formula', e.g. 'y = b1*(1 - exp(-b2*x))' or 'log(y) = a - k*t' (quote it)",
    )  # fmt: skip
    fit.add_argument(
        "--data", required=True, metavar="CSV",
        help="CSV or space-separated file with a header naming the columns",
    )  # fmt: skip
    fit.add_argument(
        "--start", metavar="b1=1,b2=0.5", action="append",
        help="starting values (constants such as pi/2 allowed; a parameter not given starts at 1)",
    )  # fmt: skip
    fit.add_argument(
        "--bounds", metavar="b1=0:inf,b2=-1:1", action="append",
        help="bounds low:high per parameter (inf or -inf for an open side)",
    )  # fmt: skip
    fit.add_argument("--weights", metavar="COL", help="a column of weights (1/σ² per row)")
    _add_int(
        fit, "--starts", 1, MAX_STARTS, None,
        "run this many starts in the --bounds box and list the distinct minima (needs bounds "
        "on every parameter)",
    )  # fmt: skip
    _add_seed(fit, "seeds the starts of --starts")
    fit.add_argument(
        "--pair", metavar="b1,b2",
        help="the two parameters of the SSE surface (default: the two most correlated)",
    )  # fmt: skip
    _add_int(
        fit, "--points", 2, MAX_PAIR_POINTS, PAIR_POINTS, "grid points per axis of the pair surface"
    )
    fit.add_argument(
        "--no-intervals", action="store_true",
        help="skip the profile-likelihood intervals (a few re-fits per parameter)",
    )  # fmt: skip
    fit.add_argument(
        "--out", metavar="DIR",
        help="also write fit.npz, summary.json, figures and report.html there",
    )  # fmt: skip
    _add_force(fit)
    fit.add_argument("--json", action="store_true", help="print the fit's summary as JSON")


def _side(text: str, flag: str) -> float:
    word = text.strip().lower()
    if word in _OPEN:
        return _OPEN[word]
    return _number(text, flag)


def parse_bounds(texts: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    """``["b1=0:inf,b2=-1:pi"]`` -> ``{"b1": (0.0, inf), "b2": (-1.0, 3.14159…)}``.

    Raises:
        GradscapeError: a part that is not ``name=low:high``, a name given twice, a side that
            is not a number, or ``low >= high``.
    """
    out: dict[str, tuple[float, float]] = {}
    for text in texts or []:
        for part in _split_top(text):
            name, sep, value = part.partition("=")
            name = name.strip()
            sides = value.split(":")
            if not sep or not name or len(sides) != 2 or not all(s.strip() for s in sides):
                raise GradscapeError(
                    "--bounds takes name=low:high pairs separated by commas, like --bounds "
                    f"b1=0:inf,b2=-1:1; got {part.strip()!r}."
                )
            if name in out:
                raise GradscapeError(f"--bounds gives {name} twice.")
            lo, hi = (_side(s, f"--bounds {name}") for s in sides)
            if not lo < hi:
                raise GradscapeError(
                    f"--bounds {name} needs low < high; got {sides[0].strip()}:{sides[1].strip()}."
                )
            out[name] = (lo, hi)
    return out


def parse_pair(text: str, parameters: tuple[str, ...]) -> tuple[str, str]:
    """``"b1,b2"`` -> ``("b1", "b2")``, checked against the model's parameters."""
    from ..fitting.pairs import check_pair

    names = [n.strip() for n in text.split(",")]
    if len(names) != 2 or not all(names):
        raise GradscapeError(
            f"--pair takes two parameters, like --pair b1,b2; got {text.strip()!r}."
        )
    return check_pair(parameters, names[0], names[1])


def _cmd_fit(args: argparse.Namespace) -> int:
    from ..fitting.fits import fit, prepare
    from ..fitting.pairs import default_pair
    from ..story import fit_story

    # everything checked before the work: a bad --start, --bounds or --pair is refused at once
    problem = prepare(args.model, args.data, start=_assignments(args.start, "--start"),
                      bounds=parse_bounds(args.bounds), weights=args.weights,
                      starts=args.starts)  # fmt: skip
    pair = parse_pair(args.pair, problem.model.parameters) if args.pair else None
    out = _out_dir(args) if args.out else None
    # SciPy's trust region may try a step where the SSE overflows (and rejects it): numpy's
    # warning about it is noise here, the diagnosis judges where the fit ended
    with _progress("fit") as update:
        f = fit(problem, seed=args.seed, intervals=not args.no_intervals,
                progress=_phases(update))  # fmt: skip
    summary = f.summary()
    sections = fit_story(f)
    title = f"gradscape fit — {f.model}"
    if out is not None:
        files = _write(out, f, pair or default_pair(f), args.points, sections)
        summary["files"] = files
        write_json(out / "summary.json", summary)
    if args.json:
        print(json_text(summary))
    elif out is not None:
        _show(out, title, sections, summary["files"])
    else:
        _print_sections(title, sections)
    # the status depends on the fit, never on the output format
    return 0 if f.converged else EXIT_DIVERGED


#: What the bar says in each phase of :func:`gradscape.fitting.fits.fit`.
PHASES = {"fit": "fit: solver steps", "starts": "fit: starts", "profiles": "fit: profiles"}


def _phases(update: _Update | None) -> Callable[[str, int, int], None] | None:
    """The library's ``progress(phase, done, total)`` on the one bar, labelled by phase."""
    if update is None:
        return None

    def progress(phase: str, done: int, total: int) -> None:
        update(done, total, PHASES.get(phase, f"fit: {phase}"))

    return progress


def _write(
    out: Path, f: Any, pair: tuple[str, str] | None, points: int, sections: Any
) -> list[str]:
    """fit.npz, the PNG figures and report.html in ``out``; returns every file's name."""
    from .. import figures, plot, report
    from ..fitting.pairs import pair_surface

    f.save(out / "fit.npz")
    surface = pair_surface(f, *pair, points=points) if pair is not None else None
    pngs = plot.fit_figures(f, out, surface)
    files = sorted(["fit.npz", "summary.json", "report.html", *(p.name for p in pngs.values())])
    figs = figures.fit(f, surface)
    heads = [h for h, _ in sections]
    where = {
        "curve": heads[0],
        "observed": heads[0],
        "residuals": heads[0],
        "profiles": next((h for h in heads if h.startswith("Parameters")), None),
        "pair": next((h for h in heads if h.startswith("Steps")), None),
    }
    placed = [report.Figure(spec, CAPTIONS[n], where[n]) for n, spec in figs.items()]
    report.write_report(out, f"gradscape fit: {f.model}", sections, placed, files)
    return files
