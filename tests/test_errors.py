"""Error messages: one readable line, whatever the size of what a user gave."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.errors import listing

NAMES = [f"w{i}" for i in range(5000)]
LINE = 400  # longest readable message, in characters


def test_listing_cuts_long_lists_with_the_count() -> None:
    assert listing(["a", "b", "c"]) == "a, b, c"
    assert listing([f"x{i}" for i in range(2, 10001)], 4) == "x2, x3, x4, …, x10000 (9,999 names)"
    assert listing(range(9), what="columns", sep="; ") == "0; 1; 2; 3; 4; 5; 6; …; 8 (9 columns)"
    assert listing(["a\x1b]0;PWNED\x07"]) == "a\\x1b]0;PWNED\\x07"  # escaped for the terminal
    assert len(listing(["y" * 10_000, "z"])) < 70  # one long name is cut too


def test_derive_with_one_of_10000_values_is_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 9, item 7: this printed a 148 KB line listing every missing name
    argv = ["derive", "rosenbrock:10000", "--at", "x1=0", "--out", str(tmp_path / "d")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and len(err[0]) < LINE, err[0][:LINE]
    assert "missing x2, x3, x4, x5, x6, x7, x8, …, x10000 (9,999 names)" in err[0]


def _many() -> gs.Objective:
    return gs.Objective(lambda t: t @ t, NAMES, label="f")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: _many().vector({"w0": 1.0}), r"missing w1, w2, .*, w4999 \(4,999 names\)"),
        (lambda: _many().vector({"q": 1.0}), r"takes parameters w0, w1, .*, w4999 \(5,000 names\)"),
        (lambda: gs.profile(_many(), "q"), r"choose one of w0, .*, w4999 \(5,000 names\)"),
        (lambda: gs.Objective(lambda t: t, [*NAMES, *NAMES]), r"repeated: w0, .* \(5,000 names\)"),
        (lambda: gs.Objective(lambda t: t, [""] * 20), r"got '', '', .* \(20 names\)"),
        (lambda: gs.critical_points(_many(), {}), r"missing w0, w1, .*, w4999 \(5,000 names\)"),
        (
            lambda: gs.descend(_many(), np.zeros(5000), lr={"w0": 0.1}),
            r"missing w1, .*, w4999 \(4,999 names\)",
        ),
        (
            lambda: gs.objective("x + q", variables=[f"x{i}" for i in range(900)] + ["x"]),
            r"the variables are x, x0, .*, x899 \(901 names\)",
        ),
    ],
)
def test_messages_that_list_names_stay_short(call: Callable[[], Any], match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match) as info:
        call()
    assert len(str(info.value).splitlines()[0]) < LINE
