"""`gradscape derive`, `sweep` and `functions`: outputs against closed forms, errors as one line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_derive_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["derive", "x^2*sin(y)", "--at", "x=1,y=2"], capsys)
    s2, c2 = np.sin(2.0), np.cos(2.0)
    assert out["value"] == pytest.approx(s2, rel=1e-15)
    assert out["gradient"] == pytest.approx({"x": 2 * s2, "y": c2}, rel=1e-14)
    assert out["partials"] == {"x": "2*x*sin(y)", "y": "x^2*cos(y)"}
    assert out["partials_latex"]["y"] == r"x^{2} \cos{\left(y \right)}"
    h = [[2 * s2, 2 * c2], [2 * c2, -s2]]
    np.testing.assert_allclose(out["hessian"], h, rtol=1e-14)
    np.testing.assert_allclose(out["hessian_eigenvalues"], np.linalg.eigvalsh(h), rtol=1e-12)
    assert out["fd_gradient"] == pytest.approx(out["gradient"], rel=1e-8)
    assert 0 <= out["fd_relative_error"] < 1e-8
    assert out["kind"] == "not critical"
    assert out["hessian_formulas"] == [["2*sin(y)", "2*x*cos(y)"], ["2*x*cos(y)", "-x^2*sin(y)"]]
    assert out["taylor"]["first"] == "0.909297 + 1.81859*(x - 1) - 0.416147*(y - 2)"


def test_derive_text_and_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "x^2 - y^2", "--at", "x=0,y=0"]) == 0
    text = capsys.readouterr().out
    assert "∂f/∂x = 2*x" in text and "a saddle point" in text and "(index 1)" in text
    assert run_json(["derive", "-x^2-y^2", "--at", "x=0,y=0"], capsys)["kind"] == "maximum"
    assert run_json(["derive", "monkey_saddle", "--at", "x=0,y=0"], capsys)["kind"] == "degenerate"
    assert run_json(["derive", "himmelblau", "--at", "x=3,y=2"], capsys)["kind"] == "minimum"
    # published digits only: not exactly critical, but said to be close to a minimum
    assert main(["derive", "himmelblau", "--at", "x=-2.805118,y=3.131312"]) == 0
    text = capsys.readouterr().out
    assert "not a critical point" in text and "close to a critical point" in text
    assert "that of a minimum" in text


def test_derive_formulas_only_and_constants(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["derive", "sin(x)*y"], capsys)
    assert out["partials"] == {"x": "y*cos(x)", "y": "sin(x)"} and "value" not in out
    out = run_json(["derive", "sin(x)", "--at", "x=pi/2"], capsys)
    assert out["value"] == 1.0 and abs(out["gradient"]["x"]) < 1e-16 and out["kind"] == "maximum"


def test_derive_at_a_kink(capsys: pytest.CaptureFixture[str]) -> None:
    # |x| at 0: no derivative, one-sided -1 and 1, a minimum; no Taylor line "f ≈ x".
    assert main(["derive", "abs(x)", "--at", "x=0"]) == 0
    text = capsys.readouterr().out
    assert "abs(x) has a corner where x = 0" in text and "NOT differentiable" in text
    assert "from the left" in text and "the point is a minimum" in text
    assert "Taylor approximations" not in text and "not a critical point" not in text
    assert "no gradient, Hessian, Taylor polynomial" in text
    out = run_json(["derive", "relu(x)", "--at", "x=0"], capsys)
    assert out["differentiable"] is False and "relu(x) has a corner" in out["reason"]
    assert out["one_sided"] == {"x": {"left": 0.0, "right": 1.0}}
    assert out["gradient"] is None and out["fd_relative_error"] is None
    out = run_json(["derive", "x^(1/3)", "--at", "x=0"], capsys)
    assert out["one_sided"] == {"x": {"left": "undefined", "right": "+inf"}}


def test_derive_beside_a_corner(capsys: pytest.CaptureFixture[str]) -> None:
    # |x| is smooth at 1e-9 (slope 1); the probes of abs(y)'s corner stay on x's own side.
    out = run_json(["derive", "abs(x)+abs(y)", "--at", "x=1e-9,y=0"], capsys)
    assert out["one_sided"]["x"] == {"left": 1.0, "right": 1.0}
    assert out["one_sided"]["y"] == {"left": -1.0, "right": 1.0}
    assert out["kind"] == "not an extremum"  # f falls towards x = 0
    # √(x² + y²) at (1e-9, 0): gradient (1, 0), however curved it is across; not critical.
    assert main(["derive", "sqrt(x^2+y^2)", "--at", "x=1e-9,y=0"]) == 0
    text = capsys.readouterr().out
    assert "not a critical point" in text and "NOT differentiable" not in text


def test_derive_ackley_minimum_is_a_cone(capsys: pytest.CaptureFixture[str]) -> None:
    # Ackley's minimum is a kink: once an error, now a report with one-sided slopes ±2√2.
    out = run_json(["derive", "ackley", "--at", "x=0,y=0"], capsys)
    assert out["differentiable"] is False and out["kind"] == "minimum"
    slope = 20 * 0.2 / np.sqrt(2.0)  # d/dx of -20·exp(-0.2·|x|/√2) at 0±, the cosines flat
    assert out["one_sided"]["x"]["right"] == pytest.approx(slope, rel=1e-6)
    assert out["one_sided"]["y"]["left"] == pytest.approx(-slope, rel=1e-6)


def test_derive_gradient_check_at_a_minimum_says_agree(capsys: pytest.CaptureFixture[str]) -> None:
    # The README's own example: a zero gradient against O(h²) differences is agreement.
    assert main(["derive", "himmelblau", "--at", "x=3,y=2"]) == 0
    text = capsys.readouterr().out
    assert "autodiff and finite differences agree" in text and "1.0e+00" not in text
    out = run_json(["derive", "himmelblau", "--at", "x=3,y=2"], capsys)
    assert out["fd_agree"] is True and out["fd_relative_error"] < 1e-6


def test_derive_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["derive", "booth", "--at", "x=1,y=3", "--out", str(tmp_path)], capsys)
    assert json.loads((tmp_path / "summary.json").read_text()) == out
    d = gs.Derivation.load(tmp_path / "derivation.npz")
    assert d.kind == "minimum" and d.value == 0.0
    # The files are listed, in the JSON and after the story, as every verb does.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name[0] != ".") == out["files"]
    assert main(["derive", "booth", "--at", "x=1,y=3", "--out", str(tmp_path)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"files written to {tmp_path}/: derivation.npz, report.html, summary.json"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["derive", "x^2 +* y"], "expected a number, name or '(' but found '*'"),
        (["derive", "x^2", "--at", "y=1"], "--at: y is not a variable of f(x); its variables are x"),
        (["derive", "x*y", "--at", "x=1"], "--at needs a value for every variable of f(x, y); missing y"),
        (["derive", "x", "--at", "x"], "--at takes name=value pairs"),
        (["derive", "x", "--at", "x=1,x=2"], "--at gives x twice"),
        (["derive", "x", "--at", "x=foo"], "--at x: unknown name 'foo'"),
        (["derive", "log(x)", "--at", "x=-1"], "undefined at x=-1: log(x) needs a positive argument"),
        (["derive", "1/x", "--at", "x=0"], "infinite at x=0: 1/x divides by zero"),
        (["derive", "sqrt(x)", "--at", "x=-1"], "sqrt(x) needs a non-negative argument"),
        (["derive", "2+3"], "has no variables"),
        (["derive", "rosenbrok"], "did you mean rosenbrock?"),
        (["sweep", "x^2"], "Say what to sweep: a range for one or two variables (--range x=-5:5"),
        (["sweep", "x*y*z", "--range", "x=0:1", "--range", "y=0:1", "--range", "z=0:1"],
         "A sweep shows one or two variables; got 3"),
        (["sweep", "x^2", "--range", "x=5:-5"], "low < high; got 5:-5"),
        (["sweep", "x^2", "--range", "x=1"], "--range takes name=low:high"),
        (["sweep", "x^2", "--range", "q=0:1"], "--range: q is not a variable of f(x)"),
        (["sweep", "x*y", "--range", "x=0:1", "--fix", "x=1"], "x is both swept (--range) and fixed"),
        (["sweep", "log(x)", "--range", "x=-3:-1"], "undefined everywhere on this grid"),
        (["sweep", "x*y", "--range", "x=0:1", "--range", "y=0:1", "--points", "9000"],
         "at most 16,000,000"),
        (["functions", "nosuch"], "unknown function 'nosuch'"),
    ],
)  # fmt: skip
def test_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if argv[0] == "sweep":
        argv = [*argv, "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("gradscape: error: ") and message in first, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) in (1, 3)  # one line, or message + text + caret


def test_caret_lines_point_at_the_spot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "x + foo(2)"]) == 2
    _, text, caret = capsys.readouterr().err.splitlines()
    assert text == "  x + foo(2)" and caret == "      ^^^"


def test_leading_minus_is_an_expression(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["derive", "-x^2", "--at", "x=-1"], capsys)
    assert out["value"] == -1.0 and out["gradient"] == {"x": 2.0}


@pytest.mark.parametrize(
    ("verb", "extra"),
    [("derive", ["--at", "x=3"]), ("sweep", ["--range", "x=0:3", "--points", "4"])],
)
def test_any_leading_minus_is_an_expression_in_every_verb(
    verb: str, extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # "--x" is minus minus x, not an unknown option; real options and their prefixes stay.
    if verb == "sweep":
        extra = [*extra, "--out", str(tmp_path)]
    out = run_json([verb, "--x", *extra], capsys)
    assert out["expression"] == "x"
    out = run_json([verb, "-x^2", *extra[:2], "--js", *extra[2:]], capsys)  # a prefix stays
    assert out["expression"] == "-x^2"
    from gradscape.cli import _shield_leading_minus

    for v in ("derive", "sweep", "descend", "critical", "multistart", "race"):
        assert _shield_leading_minus([v, "--x*y", "--json"]) == [v, " --x*y", "--json"]
        assert _shield_leading_minus([v, "-x", "--out=d", "-h"]) == [v, " -x", "--out=d", "-h"]


def test_sweep_of_a_range_too_wide_for_float64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The width 2e308 overflows: that is the reason, not "a fractional power of a negative".
    assert main(["sweep", "x^2", "--range", "x=-1e308:1e308", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Range of x is too wide" in err and "overflows float64" in err
    assert "fractional power" not in err and len(err.strip().splitlines()) == 1
    # Whole grid overflowing: said as overflow, not as a power of a negative number.
    assert main(["sweep", "x^2", "--range", "x=-1e300:-1e200", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "x^2 overflows" in err and "fractional power" not in err


@pytest.mark.parametrize(
    ("expr", "ranges", "figure"),
    [
        ("x", ["x=1e307:1.7e308"], "curve.png"),  # the centre (lo + hi)/2 overflowed
        ("x*y", ["x=-8e307:8e307", "y=-1:1"], "surface.png"),  # matplotlib's 3-D math overflowed
        ("1e-300*x^2", ["x=-1e-10:1e-10"], "curve.png"),
    ],
)
def test_sweep_draws_values_at_the_edges_of_float64(
    expr: str, ranges: list[str], figure: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", expr, *(a for r in ranges for a in ("--range", r)), "--out", str(tmp_path)]
    assert main([*argv, "--json", "--points", "21"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["undefined_fraction"] == 0.0 and (tmp_path / figure).stat().st_size > 10_000


def test_contour_arrows_have_a_visible_legend_key() -> None:
    from matplotlib.colors import to_rgba

    from gradscape import plot

    s = gs.surface(gs.objective("x^2 + y^2"), "x", "y", x_range=(-1, 1), y_range=(-1, 1),
                   points=11, gradient=True)  # fmt: skip
    legend = plot.contours(s).axes[0].get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    key = legend.legend_handles[labels.index("direction of ∇f (uphill)")]
    edge = to_rgba(np.atleast_2d(key.get_edgecolor())[0])
    width = float(np.atleast_1d(key.get_linewidth())[0])
    assert sum(edge[:3]) < 1.0 and width > 0  # a dark outline: seen on the legend's white box


def test_derive_prints_big_constants_compactly(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["derive", "2^1023 + x", "--at", "x=1"], capsys)
    assert out["expression"] == f"x + {2.0**1023:.15g}" and out["value"] == 2.0**1023
    assert main(["derive", "2^1023"]) == 2
    err = capsys.readouterr().err
    assert "has no variables" in err and len(err) < 200


def test_sweep_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["sweep", "x^3 - 3*x", "--range", "x=-3:3", "--points", "301", "--out",
                    str(tmp_path)], capsys)  # fmt: skip
    crit = out["critical_points"]
    assert [c["kind"] for c in crit] == ["maximum", "minimum"]
    assert [c["x"] for c in crit] == pytest.approx([-1.0, 1.0], abs=1e-3)
    assert out["min"] == {"point": {"x": -3.0}, "value": -18.0}
    assert out["minimum"]["refined"] is False and "at the edge" in out["minimum"]["note"]
    p = gs.Profile.load(tmp_path / "sweep.npz")
    np.testing.assert_allclose(p.derivative, 3 * p.axis**2 - 3, atol=1e-12)
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(out["files"]) == ["curve.png", "report.html", "summary.json", "sweep.npz"]


def test_sweep_surface_of_a_named_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_json(["sweep", "himmelblau", "--points", "101", "--out", str(tmp_path)], capsys)
    assert out["ranges"] == {"x": [-5.0, 5.0], "y": [-5.0, 5.0]}
    assert out["min"]["point"] == {"x": 3.0, "y": 2.0} and out["min"]["value"] == 0.0
    s = gs.Surface.load(tmp_path / "sweep.npz")
    mx, my = np.meshgrid(s.x, s.y)
    gx = 4 * mx * (mx**2 + my - 11) + 2 * (mx + my**2 - 7)
    gy = 2 * (mx**2 + my - 11) + 4 * my * (mx + my**2 - 7)
    np.testing.assert_allclose(s.gradient[0], gx, atol=1e-9)
    np.testing.assert_allclose(s.gradient[1], gy, atol=1e-9)
    for name in ("surface.png", "contours.png", "report.html"):
        assert (tmp_path / name).stat().st_size > 0
    html = (tmp_path / "report.html").read_text()
    # interactive figures (plotly.js inlined, no remote script); the PNGs stay beside it
    assert html.count("class='gs-figure'") == 2 and not re.search(r"<script[^>]*\ssrc=", html)


def test_sweep_slice_of_three_variables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["sweep", "x^2 + y^2 + z^2", "--range", "x=-1:1", "--range", "y=-1:1",
                    "--fix", "z=2", "--points", "21", "--out", str(tmp_path)], capsys)  # fmt: skip
    assert out["fixed"] == {"z": 2.0} and out["min"]["value"] == pytest.approx(4.0)


def test_sweep_reports_undefined_regions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sweep", "log(x*y)", "--range", "x=-1:1", "--range", "y=-1:1", "--points", "20"]
    assert main([*argv, "--out", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["undefined_fraction"] == pytest.approx(0.5)
    assert "undefined on 50.0% of the grid" in captured.err


def test_functions_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["functions"]) == 0
    text = capsys.readouterr().out
    for name in gs.functions.ALL:
        assert f"\n{name}  (" in "\n" + text
    data = run_json(["functions"], capsys)
    byname = {d["name"]: d for d in data}
    assert len(byname["himmelblau"]["minima"]) == 4
    assert byname["six_hump_camel"]["minimum"] == pytest.approx(-1.0316, abs=1e-4)
    assert byname["rosenbrock"]["any_dimension"] is True
    (one,) = run_json(["functions", "rosenbrock:3"], capsys)
    assert one["variables"] == ["x1", "x2", "x3"]


# -- descend -------------------------------------------------------------------------------------
def test_descend_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradscape import plot

    drawn = []
    save = plot.save
    monkeypatch.setattr(plot, "save", lambda fig, path: drawn.append(fig) or save(fig, path))
    out = run_json(["descend", "himmelblau", "--from", "x=0,y=0", "--compare", "gd,newton,lbfgs",
                    "--out", str(tmp_path)], capsys)  # fmt: skip
    assert _legends_clear_of_the_axes(drawn) == 3  # values, contours, surface
    published = np.array(gs.functions.himmelblau.minima)
    assert [r["optimizer"] for r in out["runs"]] == ["gd", "newton", "lbfgs"]
    for r in out["runs"]:
        assert r["stop_reason"] == "converged" and r["final_value"] < 1e-12
        end = np.array([r["final"]["x"], r["final"]["y"]])
        assert np.min(np.linalg.norm(published - end, axis=1)) < 1e-6
    h0 = np.array([[-42.0, 0.0], [0.0, -26.0]])  # the Hessian of Himmelblau at the origin
    assert out["runs"][0]["curvature_start"]["lambda_max"] == pytest.approx(
        np.linalg.eigvalsh(h0)[-1]
    )
    assert out["runs"][0]["lr"] == pytest.approx(1 / 42)
    assert (tmp_path / "race.gif").read_bytes()[:6] == b"GIF89a"
    for name in ("contours.png", "surface.png", "values.png", "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    run = gs.Run.load(tmp_path / "run_newton.npz")
    assert run.n_steps == out["runs"][1]["steps"] and run.params.shape == (run.n_steps + 1, 2)


def test_descend_warns_above_the_stable_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["descend", "3*x^2 + 2*x*y + 2*y^2", "--from", "x=1,y=1", "--lr", "0.5",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 1  # diverged
    captured = capsys.readouterr()
    stable = 2 / np.linalg.eigvalsh([[6.0, 2.0], [2.0, 4.0]])[-1]
    assert f"above 2/λmax = {stable:.4g}" in captured.err
    assert "grew at step" in captured.out  # a millionfold above the start, still finite


def test_descend_one_variable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["descend", "x^4 - 2*x^2", "--from", "x=0.3", "--optimizer", "adam", "--lr",
                    "0.05", "--steps", "5000", "--out", str(tmp_path)], capsys)  # fmt: skip
    (r,) = out["runs"]
    assert r["final"]["x"] == pytest.approx(1.0, abs=1e-6) and r["stop_reason"] == "converged"
    assert sorted(out["files"]) == ["report.html", "run_adam.npz", "summary.json", "values.png"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "x=0,y=0", "--optimizer", "sgdd"], "Unknown optimizer 'sgdd'; the optimizers are gd"),
        (["--from", "x=0"], "--from needs a value for every variable of himmelblau(x, y); missing y"),
        (["--from", "x=0,y=0", "--compare", "gd,gd"], "--compare names an optimizer twice"),
        (["--from", "x=0,y=0", "--lr", "-1"], "argument --lr: must be a number > 0"),
        (["--from", "x=7,y=0", "--range", "x=-5:5"], "The start x=7 is outside the range x=-5:5"),
        (["--from", "x=0,y=0", "--range", "x=5:-5"], "low < high"),
    ],
)  # fmt: skip
def test_descend_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["descend", "himmelblau", *argv, "--out", str(tmp_path)])
    except SystemExit as exc:  # argparse's own checks exit directly
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_descend_starts_a_built_in_function_at_its_standard_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradscape.runs import standard_start

    assert main(["descend", "rosenbrock", "--optimizer", "newton", "--out", str(tmp_path)]) == 0
    assert "from x = -1.2, y = 1 (Rosenbrock's classic start" in capsys.readouterr().out
    out = json.loads((tmp_path / "summary.json").read_text())
    assert out["start"] == {"x": -1.2, "y": 1.0}  # Rosenbrock (1960), Moré, Garbow & Hillstrom
    assert "Rosenbrock's classic start" in out["start_reason"]
    assert out["runs"][0]["final"] == pytest.approx({"x": 1.0, "y": 1.0}, abs=1e-8)
    start, _ = standard_start(gs.objective("rosenbrock:4"))
    assert start == {"x1": -1.2, "x2": 1.0, "x3": -1.2, "x4": 1.0}
    start, why = standard_start(gs.objective("himmelblau"))  # none published: 3/4 of the domain
    assert start == {"x": 2.5, "y": 2.5} and why.startswith("three quarters across")
    assert main(["descend", "x^2 + y^2", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a built-in function, so it has no standard start" in err[0]


def test_descend_refuses_newton_beyond_its_dimension_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    began = time.monotonic()
    argv = ["descend", "rosenbrock:10000", "--compare", "adam,newton", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "capped at 500 variables" in err[0] and "lbfgs" in err[0]
    assert time.monotonic() - began < 10  # before building a 10,000-variable objective
    assert main(["descend", "sphere:501", "--optimizer", "newton", "--out", str(tmp_path)]) == 2
    assert "501 × 501 Hessian" in capsys.readouterr().err


def _legends_clear_of_the_axes(figures: list[Any]) -> int:
    """How many legends the figures have; each must lie outside its axes (covering no path)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    legends = 0
    for fig in figures:
        renderer = FigureCanvasAgg(fig).get_renderer()
        fig.draw(renderer)
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is not None:
                legends += 1
                box = legend.get_window_extent(renderer)
                assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_title()
    return legends


def test_derive_powers_of_the_network_functions(capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["derive", "(sigmoid(w*x+b)-1)^2 + relu(x)^3 + softplus(w)^2",
                    "--at", "w=0.5,x=2,b=-1"], capsys)  # fmt: skip
    s = 1 / (1 + np.exp(-(0.5 * 2 - 1)))
    sp_w = np.log1p(np.exp(0.5))
    assert out["value"] == pytest.approx((s - 1) ** 2 + 8 + sp_w**2, rel=1e-12)
    assert out["partials_latex"]["x"].count("^{2}") >= 1
    dw = 2 * (s - 1) * s * (1 - s) * 2 + 2 * sp_w / (1 + np.exp(-0.5))
    assert out["gradient"]["w"] == pytest.approx(dw, rel=1e-12)
