"""What every verb shares: output folders (checked, staged, atomic, no stale files), numeric
option ranges, --help, escaped terminal output, exit statuses, Ctrl-C."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradscape.cli import build_parser, main
from gradscape.cli.common import MANIFEST, printable

SWEEP_2D = ["sweep", "x^2+y^2", "--range", "x=-1:1", "--range", "y=-1:1", "--points", "11"]
SWEEP_1D = ["sweep", "x^2", "--range", "x=-1:1", "--points", "11"]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradscape") and "error: " in err[0], err
    return err[0]


def test_a_folder_with_other_files_needs_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "summary.json").write_text("my own notes")
    assert main([*SWEEP_1D, "--out", str(tmp_path)]) == 2
    assert "already holds files gradscape did not write (summary.json)" in _one_error_line(capsys)
    assert (tmp_path / "summary.json").read_text() == "my own notes"
    assert main([*SWEEP_1D, "--out", str(tmp_path), "--force"]) == 0
    assert json.loads((tmp_path / "summary.json").read_text())["variables"] == ["x"]


def test_a_new_run_removes_the_files_of_the_previous_one(tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert main([*SWEEP_2D, "--out", str(out), "--json"]) == 0
    assert (out / "surface.png").exists()
    (out / "mine.txt").write_text("kept")  # a file gradscape did not write stays
    assert main([*SWEEP_1D, "--out", str(out), "--json"]) == 0
    names = {p.name for p in out.iterdir()}
    assert "surface.png" not in names and "contours.png" not in names
    assert {"curve.png", "sweep.npz", "summary.json", "mine.txt", MANIFEST} <= names
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["complete"] is True and "curve.png" in manifest["files"]


def test_two_runs_never_write_into_one_folder_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("fcntl")
    out = tmp_path / "s"
    assert main([*SWEEP_2D, "--out", str(out), "--json"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    # another process runs into the folder: it holds the folder's lock
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert main([*SWEEP_1D, "--out", str(out)]) == 2
        assert "is being written by another gradscape run" in _one_error_line(capsys)
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    finally:
        holder.kill()
        holder.communicate()
    assert main([*SWEEP_1D, "--out", str(out), "--json"]) == 0  # free again


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.write_text("x"), "is a file, not a folder"),
        (lambda p: p.symlink_to(p.parent / "nowhere"), "is a symbolic link to nothing"),
        (lambda p: None, "cannot write there (File name too long)"),
    ],
    ids=["file", "dangling-link", "name-too-long"],
)
def test_out_that_cannot_be_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, match: str
) -> None:
    target = tmp_path / ("n" * 300 if "long" in match else "target")
    make(target)  # type: ignore[operator]
    assert main([*SWEEP_1D, "--out", str(target)]) == 2
    assert match in _one_error_line(capsys)


def test_dev_null_is_not_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SWEEP_1D, "--out", os.devnull]) == 2
    assert "is a file, not a folder" in _one_error_line(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path.chmod(0o555)
    try:
        assert main([*SWEEP_1D, "--out", str(tmp_path / "out")]) == 2
    finally:
        tmp_path.chmod(0o755)
    assert "cannot write there (Permission denied)" in _one_error_line(capsys)


def test_a_full_disk_leaves_nothing_that_looks_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "sweep.npz")

    monkeypatch.setattr(np, "savez_compressed", full)
    out = tmp_path / "s"
    assert main([*SWEEP_1D, "--out", str(out)]) == 2
    assert "sweep.npz: No space left on device" in _one_error_line(capsys)
    assert not out.exists()  # created by this run, emptied again


def test_an_interrupt_leaves_the_previous_result_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "s"
    assert main([*SWEEP_2D, "--out", str(out), "--json"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    from gradscape import plot

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(plot, "curve", interrupted)  # after sweep.npz and summary are staged
    assert main([*SWEEP_1D, "--out", str(out)]) == 130
    assert capsys.readouterr().err.strip().endswith("gradscape: interrupted")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_atomic_save_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradscape as gs

    path = tmp_path / "p.npz"
    first = gs.profile(gs.objective("x^2"), "x", range=(-1, 1), points=5)
    first.save(path)
    original = path.read_bytes()

    def broken(file: object, **arrays: object) -> None:
        Path(str(file)).write_bytes(b"PK\x03\x04 half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(OSError, match="No space"):
        first.save(path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["p.npz"]  # no temporary file left


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["train", "--data", "moons", "--seed", "-1"], "--seed: must be a whole number from 0 to "
         "4,294,967,295; got '-1'"),
        (["train", "--data", "moons", "--seed", str(2**32)], "from 0 to 4,294,967,295"),
        (["train", "--data", "moons", "--lr", "1e308"], "--lr: must be a number > 0 and <= 10000"),
        (["train", "--data", "moons", "--epochs", "1000000000000"], "from 1 to 1,000,000"),
        (["tour", "--steps", "99999999999999999999999"], "from 1 to 100,000,000"),
        (["descend", "sphere", "--from", "x=1,y=1", "--steps", str(2**63)], "from 1 to 100,000,000"),
        (["landscape", "run", "--span", "1e308"], "--span: must be a number > 0 and <= 1000"),
        (["critical", "sphere", "--starts", "100000000"], "--starts: must be a whole number from 1"),
        (["race", "sphere", "--budget", "1000000"], "--budget: must be a whole number from 1 to 50"),
        (["descend", "sphere", "--from", "x=1,y=1", "--gtol", "nan"], "--gtol: must be a number"),
        (["spectrum", "run", "--top", "-1"], "--top: must be a whole number from 0 to 100"),
    ],
)  # fmt: skip
def test_every_number_is_range_checked(
    capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert match in _one_error_line(capsys)


def test_help_names_every_default_and_range() -> None:
    parser = build_parser()
    verbs = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in verbs.items():
        text = " ".join(sub.format_help().split())
        for action in sub._actions:
            if not action.option_strings or action.default in (None, False, "==SUPPRESS=="):
                continue
            if action.default is True:
                continue
            assert f"default: {action.default}" in text or "default" in (action.help or ""), (
                name,
                action.dest,
            )
    train = " ".join(verbs["train"].format_help().split())
    assert "epoch limit (1 to 1,000,000; default: 300)" in train
    assert "(0 to 4,294,967,295; default: 0)" in train


def test_control_characters_never_reach_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "x+\x1b]0;PWNED\x07\x9b31m"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err
    assert "\\x1b]0;PWNED\\x07" in err
    assert printable("a\tb\nc\u202ed\r", keep="\n\t") == "a\tb\nc\\u202ed\\x0d"


def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "GRADSCAPE_CACHE_DIR": "off"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradscape.cli", "tour", "--steps", "100000000", "--lr", "1e-9",
         "--out", str(tmp_path / "t")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    time.sleep(8)  # well inside the descent: 1e8 steps at a tiny rate
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert time.monotonic() - start < 5
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "gradscape: interrupted"
    assert not (tmp_path / "t").exists()


def test_option_ranges_are_the_library_caps() -> None:
    from gradscape.descent import MAX_STEPS
    from gradscape.networks.landscapes import MAX_SPAN
    from gradscape.networks.training import MAX_EPOCHS, MAX_LR

    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]

    def hi(verb: str, dest: str) -> float:
        action = next(a for a in verbs[verb]._actions if a.dest == dest)
        return action.type.hi  # type: ignore[union-attr,no-any-return]

    assert hi("train", "lr") == MAX_LR and hi("train", "epochs") == MAX_EPOCHS
    assert hi("landscape", "span") == MAX_SPAN and hi("tour", "steps") == MAX_STEPS


def test_a_closed_pipe_keeps_the_results(tmp_path: Path) -> None:
    """``gradscape sweep ... | head -1``: the reader goes away, the files are still written."""
    env = {**os.environ, "GRADSCAPE_CACHE_DIR": "off"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradscape.cli", *SWEEP_1D, "--out", str(tmp_path / "s")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()  # before the story is printed
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and b"Traceback" not in err and err == b"", err
    assert (tmp_path / "s" / "summary.json").exists()


def _every_help(parser: Any) -> str:
    """``gradscape --help`` and every verb's ``--help``, one after another."""
    verbs = parser._subparsers._group_actions[0].choices
    parts = [f"### gradscape --help\n{parser.format_help()}"]
    parts += [f"### gradscape {name} --help\n{sub.format_help()}" for name, sub in verbs.items()]
    return "".join(parts)


def test_help_of_every_verb_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole ``--help`` text (verbs, options, defaults, ranges, order) is the one recorded in
    tests/data/cli_help.txt, so moving the parsers about changes nothing a user sees."""
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    expected = (Path(__file__).parent / "data" / "cli_help.txt").read_text(encoding="utf-8")
    assert _every_help(build_parser()) == expected


def test_the_sweep_help_shows_the_library_defaults() -> None:
    """``--points`` is written out in the parser (registering stays light); it must say what
    ``gradscape.sweep.SWEEP_POINTS`` decides."""
    from gradscape.sweep import SWEEP_POINTS

    verbs = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    points = next(a for a in verbs["sweep"]._actions if a.dest == "points")
    assert points.help == (
        f"grid points per axis (default {SWEEP_POINTS[1]} for a curve, "
        f"{SWEEP_POINTS[2]} for a surface)"
    )
