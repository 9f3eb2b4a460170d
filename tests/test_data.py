"""CSV loading: the good paths and every bad file, from the API and from the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main


def write(tmp_path: Path, text: str, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_synthetic_line_is_seeded() -> None:
    a, b, c = gs.synthetic_line(seed=3), gs.synthetic_line(seed=3), gs.synthetic_line(seed=4)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    assert a.n == 50


def test_default_columns_are_the_first_two_numeric(tmp_path: Path) -> None:
    p = write(tmp_path, "name,size,price,rooms\na,1.5,10,3\nb,2.5,20,4\nc,4,31,5\n")
    d = gs.load_csv(p)
    assert (d.x_label, d.y_label) == ("size", "price")
    np.testing.assert_array_equal(d.x, [1.5, 2.5, 4.0])
    np.testing.assert_array_equal(d.y, [10, 20, 31])


def test_columns_by_name_and_position(tmp_path: Path) -> None:
    p = write(tmp_path, "a,b,c\n1,2,3\n4,5,6\n7,8,10\n")
    d = gs.load_csv(p, x="c", y="a")
    np.testing.assert_array_equal(d.x, [3, 6, 10])
    d = gs.load_csv(p, x=2, y="3")
    assert (d.x_label, d.y_label) == ("b", "c")


def test_headerless_and_semicolon_files(tmp_path: Path) -> None:
    d = gs.load_csv(write(tmp_path, "1,2\n2,4.5\n3,6\n"))
    assert d.n == 3 and d.x_label == "column 1"
    d = gs.load_csv(write(tmp_path, "x;y\n1;2\n2;3\n", "s.csv"))
    np.testing.assert_array_equal(d.y, [2, 3])


BAD = [
    ("", r"is empty; it needs a header and data rows"),
    ("   \n\n", r"is empty"),
    ("x,y\n", r"has a header but no data rows"),
    ("x,y\n1,2\n2,abc\n3,4\n", r"Row 3, column 'y' of d.csv is not a number: 'abc'"),
    ("x,y\n1,2\n2,\n", r"Row 3, column 'y' of d.csv is empty"),
    ("x,y\n1,2\nnan,3\n4,5\n", r"Row 3, column 'x' of d.csv is not finite: 'nan'"),
    ("x,y\n1,2\n2,inf\n4,5\n", r"Row 3, column 'y' of d.csv is not finite: 'inf'"),
    ("x,y\n1,2\n", r"has 1 data row\(s\); a line needs at least 2"),
    ("x,y\n3,1\n3,2\n3,5\n", r"All x values are equal \(3\), so no slope can be fitted"),
    ("name,y\na,1\nb,2\n", r"needs two numeric columns \(x and y\); found only 'y'"),
    ("x,y\n1,2,3\n2,3\n", r"Row 2 of d.csv has 3 cells but the header has 2"),
]


@pytest.mark.parametrize(("text", "match"), BAD)
def test_bad_files_raise_one_clear_error(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(gs.DataError, match=match):
        gs.load_csv(write(tmp_path, text))


@pytest.mark.parametrize(("text", "match"), BAD)
def test_bad_files_on_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, match: str
) -> None:
    p = write(tmp_path, text)
    code = main(["tour", "--data", str(p), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradscape: error: ")
    import re

    assert re.search(match, lines[0])
    assert not (tmp_path / "out").exists()


def test_missing_file_folder_binary_and_unknown_column(tmp_path: Path) -> None:
    with pytest.raises(gs.DataError, match=r"does not exist; check the path"):
        gs.load_csv(tmp_path / "nope.csv")
    with pytest.raises(gs.DataError, match=r"is a folder; give a CSV file"):
        gs.load_csv(tmp_path)
    (tmp_path / "b.csv").write_bytes(b"\x89PNG\x00\x01\xff\xfe")
    with pytest.raises(gs.DataError, match=r"not a (UTF-8 )?text CSV file"):
        gs.load_csv(tmp_path / "b.csv")
    p = write(tmp_path, "a,b\n1,2\n2,3\n")
    with pytest.raises(
        gs.DataError, match=r"Column 'z' for x is not in d.csv; its columns are a, b"
    ):
        gs.load_csv(p, x="z")
    with pytest.raises(gs.DataError, match=r"Column 5 for y is out of range; d.csv has 2 column"):
        gs.load_csv(p, y=5)


def test_dataset_checks() -> None:
    with pytest.raises(gs.DataError, match="same length; got 2 and 3"):
        gs.Dataset(x=[1, 2], y=[1, 2, 3])
    with pytest.raises(gs.DataError, match="non-finite value"):
        gs.Dataset(x=[1, 2, np.inf], y=[1, 2, 3])
    assert isinstance(gs.DataError("x"), ValueError)
