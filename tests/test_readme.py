"""Every code block of the README runs as shown: each ``python`` block as one script, the
``bash`` blocks' gradscape commands of each section one after another in one folder (later
commands read what earlier ones wrote). Synopses with placeholders live in ``text`` blocks, which are not run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# The quickstart installs the package and runs this very suite: checked by test_lint instead.
BODY = README.split("## The tour", 1)[1]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)\n```", BODY, flags=re.S)


def _commands(text: str = BODY) -> list[str]:
    lines = []
    for block in re.findall(r"```bash\n(.*?)\n```", text, flags=re.S):
        for line in block.splitlines():
            line = re.split(r"\s+#\s", line, maxsplit=1)[0].strip()
            if line:
                lines.append(line)
    return lines


def _sections() -> dict[str, list[str]]:
    """The commands of each ``## `` section (a section's commands may read what earlier ones of
    the same section wrote; sections are independent, so they run in parallel)."""
    parts = re.split(r"^## (.+)$", BODY, flags=re.M)
    named = dict(zip(parts[1::2], parts[2::2], strict=True))
    named["The tour"] = parts[0]
    return {k: c for k, v in named.items() if (c := _commands(v))}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    cache = tmp_path_factory.mktemp("cache")
    return {**os.environ, "GRADSCAPE_CACHE_DIR": str(cache), "MPLBACKEND": "Agg"}


def test_the_readme_has_runnable_blocks() -> None:
    assert len(_blocks("python")) >= 1 and len(_commands()) >= 10
    assert all(c.startswith(("gradscape ", "python ")) for c in _commands()), _commands()


def test_the_sections_hold_every_command() -> None:
    assert sum(map(len, _sections().values())) == len(_commands())


@pytest.mark.parametrize("section", list(_sections()))
def test_every_command_runs(tmp_path: Path, env: dict[str, str], section: str) -> None:
    for command in _sections()[section]:
        argv = shlex.split(command)
        argv = (
            [sys.executable, "-m", "gradscape.cli", *argv[1:]]
            if argv[0] == "gradscape"
            else [sys.executable, *argv[1:]]
        )
        proc = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-2000:]}"
        assert "Traceback" not in proc.stderr, command


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_every_python_block_runs(tmp_path: Path, env: dict[str, str], index: int) -> None:
    code = _blocks("python")[index]
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
