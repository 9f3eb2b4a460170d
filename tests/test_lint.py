"""The code base passes ruff (lint and format), as configured in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args: list[str]) -> None:
    ruff = shutil.which("ruff")
    assert ruff is not None, "ruff is a test extra: pip install -e '.[test]'"
    proc = subprocess.run(
        [ruff, *args, "src", "tests", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict() -> None:
    mypy = shutil.which("mypy")
    assert mypy is not None, "mypy is a test extra: pip install -e '.[test]'"
    proc = subprocess.run(
        [mypy, "--strict", "src"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    blocks = readme.split("## Quickstart", 1)[1].split("```bash\n")[1:3]
    commands = [b.split("\n```", 1)[0].strip() for b in blocks]
    assert len(commands) == 2 and "gradscape tour" in commands[0] and "pytest" in commands[1]
    assert commands[1] in ci.splitlines()
