"""Verbs on optimisation: ``descend``, ``critical``, ``multistart``, ``race``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from ..errors import GradscapeError
from .common import (
    EXIT_DIVERGED,
    _add_box,
    _add_cluster,
    _add_expr,
    _add_int,
    _add_output,
    _add_seed,
    _add_verb,
    _box_ranges,
    _check_names,
    _chunked,
    _float_in,
    _full_point,
    _out_dir,
    _progress,
    _publish,
    _ranges,
    _show,
)

#: The optimizers ``race`` races by default: the whole family.
OPTIMIZERS = (
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

_BOX_HELP = "the box: a range per variable (default: a built-in function's domain)"


def _add_search(parser: argparse.ArgumentParser, starts: int) -> None:
    """What both searches of a box take: the function, the box, how many starts (MAX_STARTS)."""
    _add_expr(parser)
    _add_box(parser, _BOX_HELP)
    _add_int(parser, "--starts", 1, 10**7, starts, "starts")


def register(sub: Any) -> None:
    """The verbs that optimise: ``descend``, ``critical``, ``multistart``, ``race``."""
    descend = _add_verb(
        sub, "descend", _cmd_descend,
        "gradient descent and its extensions from a start, side by side",
        "Minimise a function from a start with one optimizer or several (gd, momentum, nesterov, "
        "adagrad, rmsprop, adam, adamw, newton, lbfgs): paths on the contours and the surface, "
        "value per step, an animation of the race, where each ended, and the curvature (largest "
        "Hessian eigenvalue, condition number, 2/λmax) at start and end.",
    )  # fmt: skip
    _add_expr(descend)
    descend.add_argument(
        "--from", dest="start", metavar="x=-1,y=2", action="append",
        help="the start: a value for every variable (default for a built-in function: its "
        "standard start, e.g. rosenbrock's (-1.2, 1))",
    )  # fmt: skip
    _add_optimizer(
        descend, "gd",
        "gd (default), momentum, nesterov, adagrad, rmsprop, adam, adamw, newton or lbfgs",
    )  # fmt: skip
    descend.add_argument(
        "--compare", metavar="A,B,...",
        help="several optimizers from the same start, e.g. gd,momentum,adam",
    )  # fmt: skip
    _add_lr(
        descend,
        "learning rate (default per optimizer; gd, momentum, nesterov: 1/λmax at the start)",
    )
    _add_box(
        descend,
        "a box to stay in (a run that leaves it stops) and to draw; the start must be inside",
    )
    _add_int(descend, "--steps", 1, 10**8, 1000, "step budget")
    descend.add_argument(
        "--gtol", type=_float_in(0.0, 1e300, lo_open=False), default=None,
        help="converged when |∇f| <= gtol (default 1e-8·|∇f| at the start: relative, so the "
        "scale of f does not matter)",
    )  # fmt: skip
    _add_output(
        descend,
        "descend",
        "folder for the runs, figures and report.html",
        "print the summary as JSON",
    )

    critical = _add_verb(
        sub, "critical", _cmd_critical,
        "every critical point in a box, classified by its Hessian",
        "Solve grad f = 0 from a grid of starts in the box, merge coinciding solutions and "
        "classify each: minimum, maximum, saddle (with its index) or degenerate.",
    )  # fmt: skip
    _add_search(critical, 2500)
    _add_seed(critical, "seed for random starts (n > 2)")
    _add_output(critical, "critical", "folder for figures and results", "print the points as JSON")

    multi = _add_verb(
        sub, "multistart", _cmd_multistart,
        "descend from many starts at once: distinct minima, basin shares, basin map",
        "Descend from many starts in the box at once, merge the end points into distinct minima "
        "and report each with its value, kind and basin share; in two variables, draw the basin "
        "map.",
    )  # fmt: skip
    _add_search(multi, 10000)
    _add_optimizer(
        multi, "newton", "newton (default: adapts to the curvature), gd, momentum, adam, lbfgs, ..."
    )
    _add_lr(multi, "learning rate (default per optimizer)")
    _add_int(multi, "--steps", 1, 10**7, 1000, "step budget per start")
    _add_seed(multi, "seed for random starts (n > 2)")
    multi.add_argument(
        "--precision", choices=("float64", "float32"), default="float64",
        help="of the search (float32: faster for long first-order runs; results polished in "
        "float64)",
    )  # fmt: skip
    _add_output(multi, "multistart", "folder for figures and results", "print the minima as JSON")
    _add_cluster(multi)

    race = _add_verb(
        sub, "race", _cmd_race,
        "a fair race between optimizers: same tuning budget, same starts",
        "Every optimizer tries the same number of learning rates on the same tuning starts; the "
        "best rate is judged on a separate set of test starts. Reports the success rate (reached "
        "the global minimum), the median steps to get there and the median final gap.",
    )  # fmt: skip
    _add_expr(race)
    _add_box(race, "the box the starts come from (default: a built-in function's domain)")
    race.add_argument(
        "--optimizers", metavar="A,B,...", default=",".join(OPTIMIZERS),
        help="which to race (default: all nine)",
    )  # fmt: skip
    _add_int(race, "--starts", 1, 10**5, 32, "starts per set")
    _add_int(race, "--budget", 1, 50, 6, "learning rates tried per optimizer")
    _add_int(race, "--steps", 1, 10**7, 1000, "step budget per run")
    race.add_argument(
        "--tol", type=_float_in(0.0, 1.0), default=1e-8,
        help="success: f − f* down to tol times its median at the starts",
    )  # fmt: skip
    _add_seed(race, "seed of the starts")
    _add_output(
        race,
        "race",
        "folder for race.npz, race.png, summary.json and report.html",
        "print the results as JSON",
    )
    _add_cluster(race)


def _add_optimizer(parser: argparse.ArgumentParser, default: str, help: str) -> None:
    parser.add_argument("--optimizer", default=default, metavar="NAME", help=help)


def _add_lr(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--lr", type=_float_in(0.0, 1e6), help=help)


def _cmd_descend(args: argparse.Namespace) -> int:

    from ..curvature import check_newton_dims
    from ..optimizers import optimizer
    from ..runs import minimize, standard_start
    from ..sources import objective

    names = [m.strip() for m in (args.compare or args.optimizer).split(",") if m.strip()]
    if (known := _dims(args.expr)) is not None:
        for name in names:
            check_newton_dims(optimizer(name).name, *known)
    obj = objective(args.expr)
    if args.start:
        start, start_reason = _full_point(obj, args.start, "--from"), "given"
    else:  # a built-in function's standard start; an expression needs --from
        start, start_reason = standard_start(obj)
    box = _ranges(args.ranges)
    _check_names(obj, list(box), "--range")
    for name, (lo, hi) in box.items():
        if not lo <= start[name] <= hi:
            raise GradscapeError(
                f"The start {name}={start[name]:g} is outside the range {name}={lo:g}:{hi:g}; "
                "start inside the box or widen it."
            )
    if not names:
        raise GradscapeError("--compare needs optimizer names, like --compare gd,momentum,adam.")
    if len(set(names)) != len(names):
        raise GradscapeError("--compare names an optimizer twice.")
    for name in names:
        optimizer(name, lr=args.lr)  # validate all before running any
    runs = []
    for name in names:
        with _progress(f"{name}") as progress:
            runs.append(
                minimize(obj, start, name, lr=args.lr, max_steps=args.steps, gtol=args.gtol,
                         bounds=box or None, progress=progress)
            )  # fmt: skip
    warnings = [w for r in runs for w in r.warnings]
    out = _out_dir(args)
    files, figs = _descend_files(obj, runs, out, box)
    files.append("report.html")
    summary: dict[str, Any] = {
        "function": obj.signature(),
        "expression": obj.formula,
        "start": start,
        "start_reason": start_reason,
        "runs": [r.summary() for r in runs],
        "warnings": warnings,
        "files": sorted([*files, "summary.json"]),
    }
    from .. import report
    from ..story import descend_story

    story = descend_story(obj, start, runs)
    head = story[0][1]  # its second line says where the runs started
    if obj.n > 6:
        shown = ", ".join(f"{n} = {v:g}" for n, v in list(start.items())[:4])
        head[1] = f"from {shown}, … ({obj.n:,} variables)"
    if start_reason != "given":
        head[1] += f" ({start_reason})"
    captions = {
        "contours": "The paths on the contours (click a legend entry to hide a run)",
        "surface": "The paths on the surface (drag to turn it)",
        "values": "Value per step",
    }
    placed = [report.Figure(figs[n], captions[n], story[0][0])
              for n in ("contours", "surface", "values") if n in figs]  # fmt: skip
    report.write_report(out, f"gradscape descend: {obj.signature()}", story, placed,
                        summary["files"])  # fmt: skip
    if not _publish(args, out / "summary.json", summary):
        _show(out, f"gradscape descend — {obj.signature()}", story, summary["files"])
    for w in warnings:
        print(f"gradscape: warning: {w}", file=sys.stderr)
    return EXIT_DIVERGED if any(r.diverged for r in runs) else 0


def _descend_files(
    obj: Any, runs: list[Any], out: Path, box: dict[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """Save every run and draw the figures; returns the file names and the interactive figures."""
    from .. import figures, plot
    from ..runs import plot_window
    from ..sweep import known_minima, surface

    files = []
    for r in runs:
        r.save(out / f"run_{r.optimizer}.npz")
        files.append(f"run_{r.optimizer}.npz")
    f = obj.function
    floor = f.minimum if f is not None and f.minimum is not None else None
    curves = [(r.settings, r.steps, r.values) for r in runs]
    files.append(plot.save(plot.value_curves(curves, floor), out / "values.png").name)
    if obj.n != 2:
        return files, figures.descend(runs, floor)
    x, y = obj.names
    finite = [r.shown_path() for r in runs]
    ranges = list(plot_window(runs, box, obj.ranges).values())
    s = surface(obj, x, y, x_range=ranges[0], y_range=ranges[1], points=121)
    paths = [(r.settings, p) for r, p in zip(runs, finite, strict=True)]
    marks = known_minima(obj, s)
    files.append(plot.save(plot.descend_contours(s, paths, marks), out / "contours.png").name)
    with_values = [(r.settings, p, r.values[: len(p)]) for r, p in zip(runs, finite, strict=True)]
    files.append(plot.save(plot.surface_paths(s, with_values), out / "surface.png").name)
    files.append(plot.race_animation(s, paths, out / "race.gif").name)
    return files, figures.descend(runs, floor, s, marks)


def _dims(expr: str) -> tuple[int, str] | None:
    """``(dimensions, name)`` of a built-in function, known before its objective is built
    (which takes a minute and gigabytes at 10,000 variables); ``None`` for an expression."""
    from ..functions import lookup

    f = lookup(expr.strip())
    return (f.dims, f.name) if f is not None else None


def _function_summary(obj: Any, result: dict[str, Any], files: list[str]) -> dict[str, Any]:
    """A verb's summary.json: the function, the result's own summary, the files written."""
    return {
        "function": obj.signature(),
        "expression": obj.formula,
        **result,
        "files": sorted(files),
    }


def _cmd_critical(args: argparse.Namespace) -> int:
    from .. import figures, plot, report
    from ..critical import check_critical_dims, critical_points
    from ..point_sets import NON_SMOOTH, base_kind
    from ..sources import objective
    from ..story import NON_SMOOTH_NOTE, coords, kind_cell, kind_count, set_lines, sets_said, table
    from ..story import count as _count

    if (known := _dims(args.expr)) is not None:
        check_critical_dims(known[0])
    obj = objective(args.expr)
    ranges = _box_ranges(obj, args.ranges)
    out = _out_dir(args)
    with _progress("critical") as progress:
        cp = critical_points(obj, ranges, starts=args.starts, seed=args.seed, progress=progress)
    cp.save(out / "critical.npz")
    files = ["critical.npz", "report.html", "summary.json"]
    figs: dict[str, Any] = {}
    if obj.n == 2:
        from ..sweep import surface

        x, y = obj.names
        s = surface(obj, x, y, x_range=ranges[x], y_range=ranges[y], points=151, gradient=True)
        plain = [base_kind(k) for k in cp.kinds]  # a corner is drawn as its kind
        files.append(plot.save(plot.critical_map(s, cp.points, plain), out / "critical.png").name)
        fig3 = plot.critical_3d(s, cp.points, cp.values, plain)
        files.append(plot.save(fig3, out / "critical_3d.png").name)
        figs = figures.critical(cp, s)
    summary = _function_summary(obj, cp.summary(), files)
    found, scale = cp.point_sets, cp.scale
    rows = [
        [coords(p, scale), f"{val:.8g}", kind_cell(k, i, st),
         ", ".join(f"{v:.4g}" for v in lam) if all(map(math.isfinite, lam)) else "— (no Hessian)"]
        for p, val, k, i, lam, st in zip(cp.points, cp.shown_values, cp.kinds, cp.indices, cp.eigenvalues, found, strict=True)
    ]  # fmt: skip
    away = len(cp.outside_points) if cp.outside_points is not None else 0
    lines = [
        f"{obj.signature()} = {obj.formula}" if obj.formula else obj.signature(),
        "box: " + ", ".join(f"{n} in [{a:g}, {b:g}]" for n, (a, b) in ranges.items()),
        f"{_count(len(cp.kinds), 'critical point')} in the box from {_count(cp.starts, 'start')}"
        + (": " + kind_count(cp.kinds) if cp.kinds else "")
        + sets_said(found),
        "",
        *(table([", ".join(obj.names), "f", "kind", "Hessian eigenvalues"], rows, "rrll") if rows else ["none found in the box"]),
        *set_lines(found),
        *(["", NON_SMOOTH_NOTE] if any(k.endswith(NON_SMOOTH) for k in cp.kinds) else []),
    ]  # fmt: skip
    if cp.starts_note:
        lines.insert(3, cp.starts_note)
    if cp.outside:
        lines += ["", f"outside the box: {_count(cp.outside, 'start')} converged to "
                  f"{_count(away, 'critical point')} beyond it (not listed; all in summary.json)"]  # fmt: skip
    if cp.unresolved:
        lines += [f"unresolved: {_count(cp.unresolved, 'start')} reached no critical point"]
    for w in cp.warnings:  # where f runs off without bound: decided by the library
        print(f"gradscape: warning: {w}", file=sys.stderr)
    lines += ["", *(f"warning: {w}" for w in cp.warnings)] if cp.warnings else []
    sections = [("Critical points", lines)]
    captions = {"critical": "The critical points on the contours, by kind (hover for each)",
                "critical_3d": "The critical points on the surface (drag to turn it)"}  # fmt: skip
    report.write_report(out, f"gradscape critical: {obj.signature()}", sections,
                        {sections[0][0]: [(figs[n], captions[n]) for n in figs]}, files)  # fmt: skip
    if _publish(args, out / "summary.json", summary):
        return 0
    _show(out, f"gradscape critical — {obj.signature()}", sections, summary["files"])
    return 0


def _cmd_multistart(args: argparse.Namespace) -> int:
    from .. import plot
    from ..curvature import check_newton_dims
    from ..multistarts import multistart
    from ..optimizers import optimizer
    from ..saved import basins_title, shown
    from ..sources import objective

    method = optimizer(args.optimizer, lr=args.lr)  # validate before the work
    if (known := _dims(args.expr)) is not None:
        check_newton_dims(method.name, *known)
    obj = objective(args.expr)
    ranges = _box_ranges(obj, args.ranges)
    out = _out_dir(args)
    with _chunked(args) as chunks, _progress("multistart") as progress:
        m = multistart(obj, ranges, starts=args.starts, method=args.optimizer, lr=args.lr,
                       max_steps=args.steps, seed=args.seed, precision=args.precision,
                       progress=progress, **chunks)  # fmt: skip
    m.save(out / "minima.npz")
    files = ["minima.npz", "report.html", "summary.json"]
    view = shown(m)
    if m.grid is not None:
        fig = plot.basin_map(m.starts, (m.grid[0], m.grid[1]), m.labels, m.points, m.values,
                             obj.names, basins_title(m))  # fmt: skip
        files.append(plot.save(fig, out / "basins.png").name)
    summary = _function_summary(obj, m.summary(), files)
    status = EXIT_DIVERGED if m.diverged else 0
    for w in m.warnings:
        print(f"gradscape: warning: {w}", file=sys.stderr)
    sections = view.sections
    view.write_report(out, files)
    if _publish(args, out / "summary.json", summary):
        return status
    _show(out, f"gradscape multistart — {obj.signature()}", sections, summary["files"])
    return status


def _cmd_race(args: argparse.Namespace) -> int:

    from .. import plot
    from ..races import race
    from ..saved import shown
    from ..sources import objective

    obj = objective(args.expr)
    ranges = _box_ranges(obj, args.ranges)
    names = [m.strip() for m in args.optimizers.split(",") if m.strip()]
    out = _out_dir(args)
    with _chunked(args) as chunks, _progress("race") as progress:
        r = race(obj, ranges, optimizers=names, starts=args.starts, budget=args.budget,
                 max_steps=args.steps, tol=args.tol, seed=args.seed, progress=progress,
                 **chunks)  # fmt: skip
    r.save(out / "race.npz")
    fig = plot.race_chart(r.optimizers, r.lrs, r.tune_success, r.success, r.lr)
    files = sorted(
        ["race.npz", plot.save(fig, out / "race.png").name, "report.html", "summary.json"]
    )
    summary = _function_summary(obj, r.summary(), files)
    view = shown(r)
    sections = view.sections
    view.write_report(out, files)
    if not _publish(args, out / "summary.json", summary):
        _show(out, f"gradscape race — {obj.signature()}", sections, files)
    for w in r.warnings():
        print(f"gradscape: warning: {w}", file=sys.stderr)
    return 0
