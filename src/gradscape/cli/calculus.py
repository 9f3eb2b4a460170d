"""Verbs on functions: ``tour``, ``derive``, ``sweep``, ``functions``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._files import json_text, write_json
from ..errors import GradscapeError
from .common import (
    EXIT_DIVERGED,
    _add_box,
    _add_expr,
    _add_force,
    _add_int,
    _add_output,
    _add_verb,
    _assignments,
    _float_in,
    _full_point,
    _out_dir,
    _print_files,
    _print_sections,
    _progress,
    _ranges,
    _show,
)


def register(sub: Any) -> None:
    """The verbs on a function written out: ``tour``, ``derive``, ``sweep`` (``functions``, the
    listing, comes last in ``--help``: see :func:`register_functions`)."""
    tour = _add_verb(
        sub, "tour", _cmd_tour,
        "the classic story: fit a line by gradient descent on its error surface",
        "Fit y = m*x + c by gradient descent on the sum of squared errors, and show every step: "
        "formulas, profiles, the error surface, the descent path.",
    )  # fmt: skip
    tour.add_argument(
        "--data",
        metavar="CSV",
        help="CSV or space-separated file of x, y data (default: a seeded synthetic noisy line)",
    )
    for axis, which in (("x", "first"), ("y", "second")):
        tour.add_argument(
            f"--{axis}", metavar="COL",
            help=f"column for {axis}: header name or 1-based number (default: {which} numeric)",
        )  # fmt: skip
    tour.add_argument(
        "--out", metavar="DIR", default="gradscape-tour",
        help="folder for figures, summary.json and report.html (default: ./gradscape-tour)",
    )  # fmt: skip
    _add_force(tour)
    tour.add_argument(
        "--lr", type=_float_in(0.0, 1e300),
        help="learning rate (default: 1/λmax from the curvature of the error)",
    )  # fmt: skip
    _add_int(tour, "--steps", 1, 10**8, None, "step budget (default: from the condition number)")
    tour.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON to stdout instead of the story",
    )

    derive = _add_verb(
        sub, "derive", _cmd_derive,
        "value, partial derivatives, gradient, Hessian and Taylor of any function",
        "Differentiate a function symbolically and by automatic differentiation, check the "
        "gradient by finite differences, and classify the point.",
    )  # fmt: skip
    _add_expr(derive)
    derive.add_argument(
        "--at", metavar="x=1,y=2", action="append",
        help="the point: a value for every variable (constants such as pi/2 allowed); "
        "without it only the formulas are derived",
    )  # fmt: skip
    derive.add_argument(
        "--out", metavar="DIR", help="also write derivation.npz, summary.json and report.html"
    )
    _add_force(derive)
    derive.add_argument("--json", action="store_true", help="print the results as JSON")

    sweep = _add_verb(
        sub, "sweep", _cmd_sweep,
        "a function over one variable (curve and derivative) or two (surface, contours)",
        "Evaluate a function over a range of one variable (its curve and derivative) or a grid "
        "of two (3-D surface and contours with gradient arrows); other variables are held fixed.",
    )  # fmt: skip
    _add_expr(sweep)
    _add_box(
        sweep,
        "a variable to sweep and its range (once or twice; default: a built-in function's domain)",
    )
    sweep.add_argument(
        "--fix", metavar="z=0", action="append",
        help="values for the variables not swept (default: a built-in function's minimum, else 0)",
    )  # fmt: skip
    # the defaults are sweep.SWEEP_POINTS (written out: importing the engine is not light)
    _add_int(
        sweep, "--points", 2, 1_000_000, None,
        "grid points per axis (default 401 for a curve, 151 for a surface)",
    )  # fmt: skip
    _add_output(
        sweep,
        "sweep",
        "folder for figures, sweep.npz, summary.json and report.html",
        "print the summary as JSON",
    )


def register_functions(sub: Any) -> None:
    """``functions``: the listing of the built-in test functions."""
    functions = _add_verb(
        sub, "functions", _cmd_functions,
        "list the built-in test functions with their domains and published minima",
        "The standard test functions of optimisation, usable by name wherever an expression is "
        "accepted.",
    )  # fmt: skip
    functions.add_argument("name", nargs="?", metavar="NAME", help="show only this one")
    functions.add_argument("--json", action="store_true", help="print them as JSON")


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
        from .. import figures, report

        out = _out_dir(args)
        summary["files"] = ["derivation.npz", "report.html", "summary.json"]
        result.save(out / "derivation.npz")
        write_json(out / "summary.json", summary)
        sections = derive_story(result)
        figs = figures.derive(result)
        captions = {
            "gradient": "Each partial derivative: automatic differentiation and its check",
            "hessian": "The Hessian at the point (hover for each entry)",
        }
        # the gradient under the point's section, the Hessian under its own
        heads = [h for h, _ in sections]
        where = {
            "gradient": heads[1] if len(heads) > 1 else None,
            "hessian": next((h for h in heads if "Hessian at" in h), None),
        }
        placed = [report.Figure(spec, captions[n], where[n]) for n, spec in figs.items()]
        report.write_report(out, f"gradscape derive: {obj.signature()}", sections, placed,
                            summary["files"])  # fmt: skip
    if args.json:
        print(json_text(summary))
    elif args.out:
        _show(out, title, derive_story(result), summary["files"])
    else:
        _print_sections(title, derive_story(result))
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .. import figures, plot, report
    from ..sources import objective
    from ..story import sweep_story
    from ..sweep import Profile, known_minima, plan_sweep

    obj = objective(args.expr)
    plan = plan_sweep(obj, _ranges(args.ranges), _assignments(args.fix, "--fix"), args.points)
    with _progress("sweep") as progress:
        result = plan.run(progress)
    out = _out_dir(args)
    result.save(out / "sweep.npz")
    marks = [] if isinstance(result, Profile) else known_minima(obj, result)
    if isinstance(result, Profile):
        title = f"{obj.signature()} = {obj.formula}" if len(obj.formula or "") <= 60 else None
        pngs = {"curve": plot.save(plot.curve(result, title=title), out / "curve.png")}
        captions = {"curve": "The function and its derivative"}
    else:
        pngs = {
            "surface": plot.save(plot.surface_3d(result, title=result.label), out / "surface.png"),
            "contours": plot.save(plot.contours(result, marks=marks), out / "contours.png"),
        }
        captions = {
            "surface": "The surface (drag to turn it)",
            "contours": "Contours; arrows show the direction of the gradient (uphill)",
        }
        title = result.label
    figs = figures.sweep(result, marks, title)
    sections = sweep_story(result, obj.formula)
    summary: dict[str, Any] = {
        "function": obj.signature(),
        "expression": obj.formula,
        "variables": list(obj.names),
        "ranges": {n: list(r) for n, r in plan.ranges.items()},
        "fixed": result.fixed,
        "points": plan.points,
        **result.extremes(),
        "minimum": result.minimum,  # the lowest grid cell refined by Newton's method, or named
        "undefined_fraction": result.undefined_fraction(),
    }
    if isinstance(result, Profile):  # each refined from the grid to float precision (see "how")
        summary["critical_points"] = [
            {result.name: p["x"], **{k: v for k, v in p.items() if k != "x"}}
            for p in result.critical or ()
        ]
    summary["files"] = sorted(
        [p.name for p in pngs.values()] + ["sweep.npz", "summary.json", "report.html"]
    )
    write_json(out / "summary.json", summary)
    placed = {sections[0][0]: [(figs[name], captions[name]) for name in figs]}
    report.write_report(
        out, f"gradscape sweep: {obj.signature()}", sections, placed, summary["files"]
    )
    if args.json:
        print(json_text(summary))
    else:
        _show(out, f"gradscape sweep — {obj.signature()}", sections, summary["files"])
    for warning in result.warnings:
        print(f"gradscape: warning: {warning}", file=sys.stderr)
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
        print(json_text(data))
    else:
        print("\n".join(functions_story(items)))
    return 0


def _cmd_tour(args: argparse.Namespace) -> int:
    from .. import figures, plot, report
    from ..line_data import load_csv
    from ..story import tour_story
    from ..tours import tour

    data = load_csv(args.data, x=args.x, y=args.y) if args.data else None
    if data is None and (args.x or args.y):
        raise GradscapeError("--x and --y choose columns of a CSV file; give the file with --data.")
    out = _out_dir(args)
    with _progress("gradient descent") as progress:
        result = tour(data, lr=args.lr, steps=args.steps, progress=progress)
    pngs = plot.tour_figures(result, out)
    result.trajectory.save(out / "trajectory.npz")
    result.surface.save(out / "surface.npz")
    result.data.write_csv(out / "data.csv")  # to fit one's own model next: gradscape fit
    summary = result.summary()
    summary["files"] = sorted(
        [str(p.name) for p in pngs.values()]
        + ["trajectory.npz", "surface.npz", "data.csv", "summary.json", "report.html"]
    )
    write_json(out / "summary.json", summary)
    sections = tour_story(result)
    figs = figures.tour(result)
    placed = {
        sections[0][0]: [(figs["data"], "The data with the fitted lines")],
        sections[2][0]: [
            (
                figs["profiles"],
                "1-D error profiles: one weight moves, the other is held at its best",
            )
        ],
        sections[3][0]: [
            (figs["surface"], "The error surface with the descent path (drag to turn it)"),
            (figs["contours"], "Contours of the error surface and the descent path"),
        ],
        sections[4][0]: [(figs["loss"], "Distance of the error from its minimum, per step")],
    }
    report.write_report(
        out, "gradscape tour: how calculus fits a line", sections, placed, summary["files"]
    )
    if args.json:
        print(json_text(summary))
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
