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


@pytest.mark.parametrize("n", [1, 2.5, True, "20", 1_000_001])
def test_synthetic_line_takes_a_whole_number_of_points_within_the_cap(n: object) -> None:
    with pytest.raises(
        gs.InputError,
        match=r"The synthetic line's n \(points\) must be a whole number from 2 to 1,000,000 "
        r"\(MAX_ROWS\); got ",
    ):
        gs.synthetic_line(n=n)  # type: ignore[arg-type]
    assert gs.synthetic_line(n=np.int64(2)).n == 2


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


# -- which columns a line is fitted to (issue 9, item 8) -----------------------------------------
def test_a_row_number_column_is_skipped_and_the_choice_is_said(tmp_path: Path) -> None:
    p = write(tmp_path, "id,size,price\n1,50,150\n2,80,260\n3,65,190\n4,120,370\n")
    d = gs.load_csv(p)
    assert (d.x_label, d.y_label) == ("size", "price")
    np.testing.assert_array_equal(d.x, [50, 80, 65, 120])
    assert len(d.notes) == 1
    assert "took 'size' as x and 'price' as y" in d.notes[0]
    assert "skipped 'id' (its name 'id' marks an index)" in d.notes[0]
    # Unnamed, but its values are the row numbers 0 … n−1.
    d = gs.load_csv(write(tmp_path, "n,a,b\n0,5,1\n1,3,2\n2,9,4\n3,1,5\n", "r.csv"))
    assert (d.x_label, d.y_label) == ("a", "b")
    assert "its values are the row numbers 0, 1, …, 3" in d.notes[0]
    # Asked for by name, it is used.
    d = gs.load_csv(p, x="id", y="price")
    assert d.x_label == "id" and d.notes == ()


def test_two_numeric_columns_need_no_note(tmp_path: Path) -> None:
    d = gs.load_csv(write(tmp_path, "day,sales\n1,5\n2,7\n3,8\n"))
    assert (d.x_label, d.y_label) == ("day", "sales") and d.notes == ()


def test_the_tour_story_says_which_columns_it_took(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, "id,size,price\n1,0.5,1.5\n2,0.8,2.6\n3,0.65,1.9\n4,1.2,3.7\n")
    assert main(["tour", "--data", str(p), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "took 'size' as x and 'price' as y" in out and "skipped 'id'" in out


# -- terminal escapes from data (item 18) ---------------------------------------------------------
EVIL = "\x1b]0;PWNED\x07\x1b[31mred"


def test_printable_escapes_control_characters_only() -> None:
    assert gs.errors.printable(EVIL) == "\\x1b]0;PWNED\\x07\\x1b[31mred"
    assert gs.errors.printable("größe 価格 x\u202ey") == "größe 価格 x\\u202ey"
    assert gs.errors.printable("a\x9bb\x7f") == "a\\x9bb\\x7f"  # C1 CSI and DEL too


def test_escapes_in_a_header_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = write(tmp_path, f"{EVIL},y\n1,2\n2,3\n3,5\n", "e\x1bvil.csv")
    d = gs.load_csv(p)
    assert d.x_label == "\\x1b]0;PWNED\\x07\\x1b[31mred" and "\x1b" not in d.name
    with pytest.raises(gs.DataError) as err:
        gs.load_csv(p, x="nope")
    assert "\x1b" not in str(err.value) and "\\x1b]0;PWNED" in str(err.value)
    assert main(["tour", "--data", str(p), "--out", str(tmp_path / "o")]) == 0
    assert main(["tour", "--data", str(p), "--x", "zz", "--out", str(tmp_path / "o2")]) == 2
    captured = capsys.readouterr()
    for text in (captured.out, captured.err):
        assert not any(ch in text for ch in "\x1b\x07\x9b"), text[:200]
    assert "\\x1b]0;PWNED" in captured.out and "\\x1b]0;PWNED" in captured.err


# -- the reader's limits and the files it refuses (items 13, 20) ----------------------------------
def test_the_reader_caps_size_rows_and_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gradscape.tables as data  # the caps live with the one reader

    p = write(tmp_path, "x,y\n" + "1,2\n2,3\n" * 50)
    monkeypatch.setattr(data, "MAX_FILE_BYTES", 100)
    with pytest.raises(
        gs.DataError, match=r"the largest CSV file gradscape reads is .*MAX_FILE_BYTES"
    ):
        gs.load_csv(p)
    monkeypatch.setattr(data, "MAX_FILE_BYTES", 2**20)
    monkeypatch.setattr(data, "MAX_ROWS", 60)
    with pytest.raises(gs.DataError, match=r"more than 60 data rows \(MAX_ROWS\)"):
        gs.load_csv(p)
    monkeypatch.setattr(data, "MAX_COLUMNS", 3)
    with pytest.raises(gs.DataError, match=r"Row 1 of d.csv has 4 cells; at most 3 columns"):
        gs.load_csv(write(tmp_path, "a,b,c,d\n1,2,3,4\n"))


def test_devices_pipes_and_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(gs.DataError, match=r"'/dev/null' is not a regular file"):
        gs.load_csv("/dev/null")
    with pytest.raises(gs.DataError, match=r"is a folder; give a CSV file"):
        gs.load_dataset(str(tmp_path))


def test_an_unreadable_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins
    import os

    p = write(tmp_path, "x,y\n1,2\n2,3\n")
    p.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make open() refuse as it would for a user
        real_open = builtins.open

        def refuse(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(file) == str(p):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refuse)
    with pytest.raises(gs.DataError, match=r"d.csv' cannot be read: permission denied"):
        gs.load_csv(p)
    assert main(["tour", "--data", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be read: permission denied" in err[0]


def test_cells_beyond_float64_get_a_reason(tmp_path: Path) -> None:
    with pytest.raises(gs.DataError, match=r"Row 3, column 'y' of d.csv is beyond float64's range"):
        gs.load_csv(write(tmp_path, "x,y\n1,2\n2,1e400\n3,4\n"))
    with pytest.raises(gs.DataError, match=r"Row 2, column 'x' of d.csv is below float64's range"):
        gs.load_csv(write(tmp_path, "x,y\n1e-400,2\n2,1\n3,4\n"))
    with pytest.raises(gs.DataError, match=r"not a number: '1,5' \(a decimal comma\?"):
        gs.load_csv(write(tmp_path, "x;y\n1,5;2\n2;1\n3;4\n"))


def test_training_reads_csv_through_the_same_reader(tmp_path: Path) -> None:
    rows = "".join(f"{i % 7},{(i * 3) % 5},{'ab'[i % 2]}\n" for i in range(40))
    (tmp_path / "bom.csv").write_bytes(("\ufeffgröße,b,label\n" + rows).encode("utf-8"))
    split = gs.load_dataset(str(tmp_path / "bom.csv"), target="label")
    assert split.features == ("größe", "b")  # no byte-order mark in the first name
    (tmp_path / "latin.csv").write_bytes(
        ("größe;b;label\n" + rows.replace(",", ";")).encode("latin-1")
    )
    split = gs.load_dataset(str(tmp_path / "latin.csv"), target="label")
    assert split.features == ("größe", "b")  # Latin-1 read as such, not replaced by '�'
    (tmp_path / "bin.csv").write_bytes(b"a,b,label\n" + bytes(range(256)) * 4)
    with pytest.raises(gs.DataError, match=r"not a text CSV file \(it holds binary data\)"):
        gs.load_dataset(str(tmp_path / "bin.csv"), target="label")
    (tmp_path / "esc.csv").write_text(f"{EVIL},b,label\n" + rows, encoding="utf-8")
    split = gs.load_dataset(str(tmp_path / "esc.csv"), target="label")
    assert "\x1b" not in split.features[0]


def test_digit_grouping_is_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("x,y\n1,2\n3_0,4\n5,6\n", encoding="utf-8")
    with pytest.raises(gs.DataError, match="not a number"):
        gs.load_csv(path)


def test_decimal_commas_are_pointed_out_when_no_column_is_numeric(tmp_path: Path) -> None:
    path = tmp_path / "dc.csv"
    path.write_text("x;y\n0,5;1,5\n1,5;2,5\n2,5;3,5\n", encoding="utf-8")
    with pytest.raises(gs.DataError, match=r"no numeric column to use as x \(decimal commas\?"):
        gs.load_csv(path)


def test_x_and_y_must_be_two_columns(tmp_path: Path) -> None:
    path = tmp_path / "xy.csv"
    path.write_text("x,y\n1,2\n2,3\n3,5\n", encoding="utf-8")
    with pytest.raises(
        gs.DataError, match=r"x and y are the same column \('x'\) of xy.csv; pick two"
    ):
        gs.load_csv(path, x="x", y="x")
