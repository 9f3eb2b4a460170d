"""``gradscape fit`` on the command line: the same numbers as the API, NIST's certified values,
the files of --out, one-line errors, Ctrl-C, and the fit's figures."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.fitting import nist
from gradscape.fitting.fits import Fit

MISRA = nist.problem("Misra1a")


def run(argv: list[str]) -> int:
    """The exit status of ``gradscape ARGV``, whether main returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def digits(got: float, want: float) -> float:
    """Correct significant digits, as NIST counts them."""
    return math.inf if got == want else -math.log10(abs(got - want) / abs(want))


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return MISRA.write_csv(tmp_path_factory.mktemp("misra") / "misra1a.csv")


def _start(k: int = 0) -> str:
    return ",".join(f"{b}={v!r}" for b, v in MISRA.starts[k].items())


@pytest.fixture(scope="module")
def out_run(tmp_path_factory: pytest.TempPathFactory, data: Path) -> tuple[Path, dict[str, Any]]:
    """One fit with --out and --json (profiles included), shared by the tests that read it."""
    out = tmp_path_factory.mktemp("fit") / "out"
    # no stdout redirection here: a module-scoped fixture runs inside one test's capture
    code = main(["fit", MISRA.model, "--data", str(data), "--start", _start(),
                 "--out", str(out), "--points", "21"])  # fmt: skip
    assert code == 0
    return out, json.loads((out / "summary.json").read_text())


def test_json_equals_the_api_and_the_certified_values(
    data: Path, out_run: tuple[Path, dict[str, Any]]
) -> None:
    _, summary = out_run
    direct = gs.fit(MISRA.model, str(data), start=MISRA.starts[0])
    assert summary["verdict"] == "converged" and summary["n"] == 14
    got = {p["name"]: p for p in summary["parameters"]}
    for name, want in MISRA.certified.items():
        assert got[name]["estimate"] == pytest.approx(direct.params[name], rel=1e-12)
        assert digits(got[name]["estimate"], want) >= 6, name
        assert digits(got[name]["se"], MISRA.certified_se[name]) >= 4, name
        assert got[name]["profile"][0] < want < got[name]["profile"][1]
    assert digits(summary["sse"], MISRA.certified_sse) >= 6
    assert summary["files"] == sorted(summary["files"]) and "fit.npz" in summary["files"]


def test_out_writes_files_that_load(out_run: tuple[Path, dict[str, Any]]) -> None:
    out, summary = out_run
    for name in ("fit.npz", "summary.json", "report.html", "curve.png", "residuals.png",
                 "profiles.png", "pair.png"):  # fmt: skip
        assert (out / name).is_file(), name
    assert set(summary["files"]) == {p.name for p in out.iterdir() if not p.name.startswith(".")}
    loaded = Fit.load(out / "fit.npz")
    assert loaded.params == pytest.approx(
        {p["name"]: p["estimate"] for p in summary["parameters"]}, rel=0
    )
    assert json.loads((out / "summary.json").read_text())["sse"] == summary["sse"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Plotly" in html and "Parameters" in html and "Steps of the solver" in html


def test_story_says_the_verdict_and_the_defaulted_start(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --start the parameters start at 1 and the story says so; from there Misra1a
    stops short, and the verdict says it is not to be trusted."""
    code = main(["fit", MISRA.model, "--data", str(data), "--no-intervals"])
    text = capsys.readouterr().out
    lines = text.splitlines()
    verdict = next(line for line in lines if "verdict:" in line).strip()
    assert verdict in ("verdict: SUSPECT", "verdict: CONVERGED", "verdict: FAILED")
    assert code == (0 if verdict == "verdict: CONVERGED" else 1)  # never a success otherwise
    assert "no start given for b1 = 1, b2 = 1" in text
    assert "stopped because" in text
    for heading in (
        "Parameters",
        "Statistics",
        "Steps of the solver",
        "Correlation of the estimates",
    ):
        assert heading in lines
    assert "profile intervals not computed (--no-intervals)" in text


def test_multistart_lists_the_minima(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fit", MISRA.model, "--data", str(data), "--bounds", "b1=100:400,b2=1e-4:1e-3",
            "--starts", "16", "--no-intervals", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["starts"] == 16 and summary["minima"]
    best = summary["minima"][0]["params"]
    assert digits(best["b1"], MISRA.certified["b1"]) >= 6
    assert "files" not in summary  # no --out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--start", "b3=1"], "start names b3, not a parameter of the model; its parameters are b1, b2."),
        (["--bounds", "b1=0-10"], "--bounds takes name=low:high pairs separated by commas"),
        (["--bounds", "b1=5:1"], "--bounds b1 needs low < high; got 5:1."),
        (["--starts", "10"], "starts are drawn within the bounds: give bounds for b1, b2 too."),
        (["--pair", "b1,b3"], "'b3' is not a parameter of the model; its parameters are b1, b2."),
        (["--pair", "b1"], "--pair takes two parameters, like --pair b1,b2; got 'b1'."),
        (["--weights", "w"], "Column 'w' for weights is not in misra1a.csv; its columns are y, x."),
        (["--starts", "100000000"], "--starts: must be a whole number from 1 to 10,000,000"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    data: Path, capsys: pytest.CaptureFixture[str], extra: list[str], match: str
) -> None:
    assert run(["fit", MISRA.model, "--data", str(data), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradscape") and match in err[0], err


def test_unknown_column_and_missing_file(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", "q = b1*x", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "gradscape: error: the left side must use columns only; 'q' is not a column" in err
    missing = tmp_path / "missing.csv"
    assert main(["fit", MISRA.model, "--data", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"gradscape: error: Data file {str(missing)!r} does not exist; check the path."


def test_ctrl_c_leaves_no_folder(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradscape.fitting import fits

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(fits, "fit", interrupted)
    out = tmp_path / "out"
    assert main(["fit", MISRA.model, "--data", str(data), "--out", str(out)]) == 130
    assert "gradscape: interrupted" in capsys.readouterr().err
    assert not out.exists()


def test_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    text = capsys.readouterr().out
    for option in ("--data", "--start", "--bounds", "--weights", "--starts", "--seed", "--pair",
                   "--points", "--no-intervals", "--out", "--json"):  # fmt: skip
        assert option in text


def test_bounds_parse_constants_and_open_sides() -> None:
    from gradscape.cli.fit import parse_bounds

    got = parse_bounds(["b1=0:inf,b2=-pi/2:1e-3", "b3=-inf:max(1,2)"])
    assert got == {"b1": (0.0, math.inf), "b2": (-math.pi / 2, 1e-3), "b3": (-math.inf, 2.0)}


def test_figures_mark_the_intervals_and_pick_the_most_correlated_pair(
    out_run: tuple[Path, dict[str, Any]],
) -> None:
    from gradscape import figures
    from gradscape.fitting.pairs import default_pair

    f = Fit.load(out_run[0] / "fit.npz")
    assert default_pair(f) == ("b1", "b2")
    spec = figures.fit_profiles(f)
    for j in range(2):
        s = "" if j == 0 else str(j + 1)
        traces = [t for t in spec["data"] if t["xaxis"] == f"x{s}"]
        ends = {t["name"]: [v for v in t["x"] if v is not None] for t in traces}
        assert ends["profile interval"] == [f.profile_lower[j], f.profile_lower[j],
                                            f.profile_upper[j], f.profile_upper[j]]  # fmt: skip
        assert ends["Wald interval"][0] == f.wald_lower[j]
        assert sum(t["showlegend"] for t in traces) == (5 if j == 0 else 0)
    threshold = f.sse * (1 + f.t**2 / f.dof)
    line = next(t for t in spec["data"] if t["name"].startswith("threshold"))
    assert line["y"] == [pytest.approx(threshold)] * 2
    # three parameters with the last two most correlated
    corr = np.array([[1.0, 0.1, -0.2], [0.1, 1.0, -0.95], [-0.2, -0.95, 1.0]])

    class Three:
        parameters = ("a", "b", "c")

    three = Three()
    three.corr = corr  # type: ignore[attr-defined]
    assert default_pair(three) == ("b", "c")


def test_the_caps_are_the_library_caps() -> None:
    """The parser writes the caps out (registering stays light): they must be the library's."""
    from gradscape.box_search import MAX_STARTS
    from gradscape.cli import fit as cli_fit
    from gradscape.fitting.pairs import MAX_PAIR_POINTS

    assert cli_fit.MAX_STARTS == MAX_STARTS
    assert cli_fit.MAX_PAIR_POINTS == MAX_PAIR_POINTS


def test_open_sides_in_words() -> None:
    from gradscape.story import open_sides

    assert open_sides("upper: s reaches its bound 4 first") == (
        "open above (s reaches its bound 4 first)"
    )
    assert open_sides("lower: a; upper: b") == "open below (a); open above (b)"


def test_no_degrees_of_freedom_said_and_drawn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two rows, two parameters: the estimates, no uncertainty, and the story and figures say
    why (no bands drawn, no intervals)."""
    (tmp_path / "two.csv").write_text("x,y\n1,2\n2,3.5\n")
    out = tmp_path / "out"
    argv = ["fit", "y = m*x + c", "--data", str(tmp_path / "two.csv"), "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "profile intervals not computed (no degrees of freedom left" in text
    f = Fit.load(out / "fit.npz")
    assert f.params == pytest.approx({"m": 1.5, "c": 0.5}, abs=1e-12)
    from gradscape import figures

    spec = figures.fit_curve(f)
    assert [t["name"] for t in spec["data"]] == ["fitted curve", "data"]
    assert "no bands: no degrees of freedom left" in spec["layout"]["title"]["text"]
