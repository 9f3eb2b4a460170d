"""The tour end to end: files, summary against NumPy's fit, report, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from conftest import polyfit, unscaled_line, year_line
from gradscape.cli import main

FIGURES = ("data.png", "profiles.png", "surface.png", "contours.png", "loss.png")


def csv_of(data: gs.Dataset, path: Path) -> Path:
    rows = "\n".join(f"{float(x)!r},{float(y)!r}" for x, y in zip(data.x, data.y, strict=True))
    path.write_text("x,y\n" + rows + "\n", encoding="utf-8")
    return path


def test_tour_writes_everything_and_agrees_with_polyfit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tour"
    assert main(["tour", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    summary = json.loads((out / "summary.json").read_text())
    assert printed == summary
    m, c = polyfit(gs.synthetic_line())
    assert summary["closed_form"]["m"] == pytest.approx(m, rel=1e-9)
    assert summary["closed_form"]["c"] == pytest.approx(c, rel=1e-9)
    assert summary["m"] == pytest.approx(m, rel=1e-7) and summary["c"] == pytest.approx(c, rel=1e-7)
    assert summary["converged"] is True and summary["stop_reason"] == "converged"
    assert summary["steps"] > 1 and summary["loss"] == pytest.approx(
        summary["loss_closed_form"], rel=1e-12
    )
    for name in (*FIGURES, "summary.json", "report.html", "trajectory.npz", "surface.npz"):
        assert (out / name).stat().st_size > 0, name
    for name in FIGURES:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    # interactive figures, plotly.js inlined: self-contained (no remote script)
    assert html.count("class='gs-figure'") == len(FIGURES)
    assert not re.search(r"<script[^>]*\ssrc=", html)
    traj = gs.Trajectory.load(out / "trajectory.npz")
    assert traj.n_steps == summary["steps"] and traj.final_params["m"] == pytest.approx(
        summary["m"]
    )
    surf = gs.Surface.load(out / "surface.npz")
    assert surf.argmin() == pytest.approx(summary["surface_grid_min"])
    # the tour is a special case of fitting a model: its data.csv fitted with y = m*x + c
    fitted = gs.fit("y = m*x + c", out / "data.csv", intervals=False)
    assert fitted.converged
    assert fitted.params["m"] == pytest.approx(summary["closed_form"]["m"], rel=1e-12)
    assert fitted.params["c"] == pytest.approx(summary["closed_form"]["c"], rel=1e-12)


def test_tour_story_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    for piece in (
        "SSE(m, c) = Σᵢ (yᵢ − (m·xᵢ + c))²",
        "∂SSE/∂m = −2 Σᵢ xᵢ·(yᵢ − (m·xᵢ + c))",
        "∂SSE/∂c = −2 Σᵢ (yᵢ − (m·xᵢ + c))",
        "m ← m − η·∂SSE/∂m",
        "c ← c − η·∂SSE/∂c",
        "1-D error profiles",
        "convex bowl",
        "learning rate: lr = 1/λmax",
        "gradient descent reached the closed-form least-squares line: it ended",
    ):
        assert piece in text, piece


@pytest.mark.parametrize("make", [unscaled_line, year_line])
def test_tour_on_unscaled_csv_reaches_the_closed_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make
) -> None:  # type: ignore[no-untyped-def]
    data = make()
    path = csv_of(data, tmp_path / "d.csv")
    assert main(["tour", "--data", str(path), "--out", str(tmp_path / "o"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    m, c = polyfit(data)
    assert s["converged"] is True
    assert s["m"] == pytest.approx(m, rel=1e-6) and s["c"] == pytest.approx(c, rel=1e-6)
    assert s["condition_number"] > 1e4
    if make is year_line:
        assert "x measured from its mean" in s["coordinates"]


def test_too_large_lr_diverges_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stable = gs.max_stable_lr(gs.sse_objective(gs.synthetic_line()), [0.0, 0.0])
    assert stable is not None
    code = main(["tour", "--out", str(tmp_path), "--lr", str(3 * stable), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    s = json.loads(captured.out)
    assert (
        s["stop_reason"] == "grew" and s["converged"] is False
    )  # a millionfold rise, still finite
    assert "grew at step" in captured.err and f"{stable:.4g}" in captured.err
    assert np.isfinite(s["m"]) and np.isfinite(s["loss"])


def test_step_budget_is_respected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tour", "--out", str(tmp_path), "--steps", "5", "--json"]) == 0
    captured = capsys.readouterr()
    s = json.loads(captured.out)
    assert s["steps"] == 5 and s["stop_reason"] == "max_steps" and s["converged"] is False
    assert s["reached_closed_form"] is False and s["distance_to_closed_form"] > 1e-3
    assert "warning: gradient descent did not reach the closed form" in captured.err


def run(argv: list[str]) -> int:
    """The exit status of ``gradscape ARGV``, whether main returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["tour", "--lr", "-1"], "argument --lr: must be a number > 0 and <= 1e+300; got '-1'"),
        (["tour", "--lr", "abc"], "argument --lr: must be a number > 0 and <= 1e+300; got 'abc'"),
        (
            ["tour", "--steps", "0"],
            "argument --steps: must be a whole number from 1 to 100,000,000; got '0'",
        ),
        (
            ["tour", "--x", "a"],
            "--x and --y choose columns of a CSV file; give the file with --data",
        ),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    assert run([*argv, "--out", str(tmp_path)] if argv[0] == "tour" else argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0] and err[0].startswith("gradscape")


def test_real_process_error_has_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gradscape.cli", "tour", "--data", str(tmp_path / "missing.csv")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"gradscape: error: Data file {str(tmp_path / 'missing.csv')!r} does not exist; check the path."
    ]


def test_import_and_help_stay_light() -> None:
    code = (
        "import sys, gradscape, gradscape.cli\n"
        "gradscape.cli.build_parser().format_help()\n"
        "import gradscape.functions\n"
        "heavy = [m for m in ('jax', 'matplotlib', 'rich', 'sympy', 'torch', 'distributed') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == ""


def test_progress_bar_renders_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["tour", "--out", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["converged"] is True
    assert "gradient descent" in captured.err  # the bar (transient on a real terminal)


def test_every_export_is_the_function_not_a_module() -> None:
    import importlib
    import pkgutil
    import types

    for info in pkgutil.walk_packages(gs.__path__, "gradscape."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)  # submodule imports must not shadow exports
    for name in gs.__all__:
        value = getattr(gs, name)
        assert not isinstance(value, types.ModuleType) or name == "functions", name


# -- issue 9: scales, edges of float64, grid values, last steps, noise -------------------------
def test_tour_on_data_around_1e9_reaches_polyfit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(1.0, 10.0, 30) * 1e9
    data = gs.Dataset(x=x, y=2.0 * x + 1e9 + rng.normal(0.0, 3e8, x.size))
    path = csv_of(data, tmp_path / "big.csv")
    assert main(["tour", "--data", str(path), "--out", str(tmp_path / "o"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    m, c = polyfit(data)
    assert s["converged"] is True and s["reached_closed_form"] is True
    assert s["m"] == pytest.approx(m, rel=1e-7) and s["c"] == pytest.approx(c, rel=1e-7)
    assert s["loss"] == pytest.approx(s["loss_closed_form"], rel=1e-12)
    assert "standardised" in s["coordinates"]


@pytest.mark.parametrize(
    ("scale", "match"),
    [
        ("1e-200", "x values around 1e-199: too small for the SSE"),
        ("1e-308", "x values around 1e-307: too small for the SSE"),
        ("1e-155", "x values around 1e-154: too small for the SSE"),
    ],
)
def test_tour_refuses_data_beyond_float64_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scale: str, match: str
) -> None:
    rows = "".join(f"{k}{scale[1:]},{2 * k + 1}{scale[1:]}\n" for k in range(1, 11))
    path = tmp_path / "tiny.csv"
    path.write_text("x,y\n" + rows, encoding="utf-8")
    assert run(["tour", "--data", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradscape: error: ") and match in err[0]


def test_a_huge_step_budget_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["tour", "--steps", "99999999999999999999999", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "from 1 to 100,000,000" in err[0]


def test_tour_story_shows_minima_last_steps_and_zeros(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An exact line through 0 (c* = 0, SSE* = 0) whose arithmetic leaves 1e-17 of noise.
    x = np.arange(1.0, 6.0) * 0.1
    path = csv_of(gs.Dataset(x=x, y=0.1 * x), tmp_path / "exact.csv")
    assert main(["tour", "--data", str(path), "--out", str(tmp_path / "o")]) == 0
    text = capsys.readouterr().out
    assert "the closed form: m* = 0.1, c* = 0, SSE* = 0" in text
    assert "e-17" not in text and "e-34" not in text
    assert "lowest at c = 0 (Newton's method from the best grid cell)" in text
    # The table's last rows are the true last steps, one apart.
    table = text.split("step size")[1].split("\n\n")[0].splitlines()[2:]
    last = [int(r.split()[0]) for r in table[-3:]]
    assert last == [last[-1] - 2, last[-1] - 1, last[-1]]
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert last[-1] == summary["steps"]


def test_ctrl_c_lost_in_a_finalizer_is_raised_again() -> None:
    # Python prints a KeyboardInterrupt raised inside a __del__, a weak reference's callback or
    # a garbage-collector callback (JAX has one) as "ignored" and runs on; seen under load, a
    # race then ran on for minutes after Ctrl-C
    import os
    import signal
    import time

    from gradscape.cli import REDELIVER_SECONDS, _ctrl_c

    fired: list[bool] = []

    class Dropped:
        def __del__(self) -> None:
            fired.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # seen by the eval loop inside this __del__
            sum(range(1000))

    with _ctrl_c("descend"), pytest.raises(KeyboardInterrupt):
        Dropped()  # dropped at once
        deadline = time.monotonic() + REDELIVER_SECONDS / 2  # raised again at once, not later
        while time.monotonic() < deadline:
            time.sleep(0.01)
    assert fired
