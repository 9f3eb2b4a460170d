"""Starts in two variables form a grid: exactly the number asked where one fits, else the next
larger, and the story and JSON say how many ran and why (issue 9)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.box_search import start_grid
from gradscape.cli import main


def _smallest_grid(count: int) -> int:
    """Brute force: the fewest points ≥ count on a grid ny × nx with 2 <= ny <= nx <= 2·ny."""
    return min(
        ny * nx
        for ny in range(2, 2 * math.isqrt(count) + 3)  # past 2√count no grid can be smallest
        for nx in range(ny, 2 * ny + 1)
        if ny * nx >= count
    )


@pytest.mark.parametrize("count", [*range(1, 130), 997, 1000, 1001, 2500, 9973, 10_000])
def test_the_grid_of_starts_is_the_smallest_that_holds_them(count: int) -> None:
    ny, nx = start_grid(count)
    assert 2 <= ny <= nx <= 2 * ny and ny * nx == _smallest_grid(count)


def test_multistart_runs_the_starts_asked_for() -> None:
    # issue 9: --starts 1000 silently ran a 32 × 32 grid, 1,024 starts
    m = gs.multistart(gs.objective("himmelblau"), starts=1000)
    assert m.labels.size == 1000 and m.grid == (25, 40)
    assert np.unique(m.starts[:, 0]).size == 40 and np.unique(m.starts[:, 1]).size == 25
    assert (m.starts.min(axis=0) == [-5, -5]).all() and (m.starts.max(axis=0) == [5, 5]).all()


@pytest.mark.parametrize("verb", ["multistart", "critical"])
def test_the_story_and_json_say_how_many_starts_ran(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / verb
    assert main([verb, "himmelblau", "--starts", "1001", "--out", str(out)]) == 0
    story = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    note = (
        "1,001 starts asked, 1,008 run: in two variables the starts form a grid (so the basins "
        "can be mapped), and 36 × 28 is the smallest one holding 1,001"
    )
    assert summary["starts"] == 1008 and summary["starts_requested"] == 1001
    assert summary["starts_note"].startswith(note) and note in story
    assert main([verb, "himmelblau", "--starts", "1000", "--out", str(out), "--json"]) == 0
    exact = json.loads(capsys.readouterr().out)
    assert exact["starts"] == 1000 and "starts_note" not in exact
