"""Verbs on functions: ``tour``, ``derive``, ``sweep``, ``functions``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import GradscapeError, listing
from .common import (
    EXIT_DIVERGED,
    _assignments,
    _check_names,
    _full_point,
    _held_point,
    _known_minima,
    _out_dir,
    _print_files,
    _print_sections,
    _progress,
    _ranges,
    _show,
    _to_json,
    _write_json,
)

#: Default sweep resolution per number of swept variables.
SWEEP_POINTS = {1: 401, 2: 151}


#: Largest sweep grid the CLI makes (points in all).
MAX_GRID = 16_000_000


def _cmd_derive(args: argparse.Namespace) -> int:
    from ..calculus import derive
    from ..sources import objective
    from ..story import derive_story

    obj = objective(args.expr)
    at = _full_point(obj, args.at, "--at") if args.at else None
    result = derive(obj, at)
    summary = result.summary()
    title = f"gradscape derive — {obj.signature()}"
    if args.out:
        out = _out_dir(args)
        summary["files"] = ["derivation.npz", "summary.json"]
        result.save(out / "derivation.npz")
        _write_json(out / "summary.json", summary)
    if args.json:
        print(_to_json(summary))
    elif args.out:
        _show(out, title, derive_story(result), summary["files"])
    else:
        _print_sections(title, derive_story(result))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from ..sources import objective

    obj = objective(args.expr)
    ranges = _ranges(args.ranges)
    fixed = _assignments(args.fix, "--fix")
    _check_names(obj, list(ranges), "--range")
    _check_names(obj, list(fixed), "--fix")
    both = sorted(set(ranges) & set(fixed))
    if both:
        raise GradscapeError(
            f"{listing(both)} {'is' if len(both) == 1 else 'are'} both swept (--range) and fixed "
            "(--fix); pick one."
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
            f"A sweep shows one or two variables; got {len(ranges)} ({listing(ranges)}). "
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
    base.update({n: lo / 2 + hi / 2 for n, (lo, hi) in ranges.items()})  # lo + hi may overflow

    import numpy as np

    from .. import plot, report
    from ..errors import NumericalError
    from ..story import sweep_story
    from ..sweep import profile, surface

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
        state = "infinite (it overflows)" if np.all(np.isinf(result.values)) else "undefined"
        raise NumericalError(
            f"{obj.signature()} is {state} everywhere on this grid"
            + (f"; at {where}, {why}" if why else "")
            + ". Choose other ranges."
        )
    out = _out_dir(args)
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
        "minimum": result.minimum,  # the lowest grid cell refined by Newton's method, or named
        "undefined_fraction": result.undefined_fraction(),
    }
    if len(names) == 1:  # each refined from the grid to float precision (see "how")
        summary["critical_points"] = [
            {names[0]: p["x"], **{k: v for k, v in p.items() if k != "x"}}
            for p in result.critical or ()
        ]
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
        _show(out, f"gradscape sweep — {obj.signature()}", sections, summary["files"])
    undefined = result.undefined_fraction()
    if undefined:
        infinite = float(np.mean(np.isinf(result.values)))
        what = (
            "undefined"
            if not infinite
            else "infinite (overflows)"
            if infinite == undefined
            else "undefined or infinite"
        )
        print(
            f"gradscape: warning: {obj.signature()} is {what} on {undefined:.1%} of the grid "
            "(left blank in the figures)",
            file=sys.stderr,
        )
    return 0


def _cmd_functions(args: argparse.Namespace) -> int:
    from .. import functions
    from ..story import functions_story

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


def _cmd_tour(args: argparse.Namespace) -> int:
    from .. import plot, report
    from ..data import load_csv
    from ..story import tour_story
    from ..tours import tour

    data = load_csv(args.data, x=args.x, y=args.y) if args.data else None
    if data is None and (args.x or args.y):
        raise GradscapeError("--x and --y choose columns of a CSV file; give the file with --data.")
    out = _out_dir(args)
    with _progress("gradient descent") as progress:
        result = tour(data, lr=args.lr, steps=args.steps, progress=progress)
    figures = plot.tour_figures(result, out)
    result.trajectory.save(out / "trajectory.npz")
    result.surface.save(out / "surface.npz")
    summary = result.summary()
    summary["files"] = sorted(
        [str(p.name) for p in figures.values()]
        + ["trajectory.npz", "surface.npz", "summary.json", "report.html"]
    )
    _write_json(out / "summary.json", summary)
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
        _print_files(out, summary["files"])
    if result.trajectory.diverged:
        print(f"gradscape: warning: {result.trajectory.message}", file=sys.stderr)
        return EXIT_DIVERGED
    if not (result.reached and result.trajectory.converged):
        print(
            f"gradscape: warning: gradient descent did not reach the closed form "
            f"({result.distance:.2g} from it in standardised units): {result.trajectory.message}",
            file=sys.stderr,
        )
    return 0
