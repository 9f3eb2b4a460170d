"""The one reader of data files: encodings, separators, header, comments, errors with row and
column, and both callers (the tour's load_csv and training's load) reading a file the same way."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import gradscape as gs
from gradscape.cli import main
from gradscape.networks.datasets import load
from gradscape.tables import WHITESPACE, read_table

# A seeded numeric table: the independent truth every dialect below must read back.
_RNG = np.random.default_rng(10)
VALUES = np.column_stack([_RNG.normal(size=30), _RNG.uniform(-5, 5, 30), _RNG.integers(0, 2, 30)])
NAMES = ("dose", "response", "label")


def text_of(delimiter: str, *, header: bool = True) -> str:
    """VALUES written with ``delimiter`` (``" "`` pads with runs of spaces), via repr."""
    rows = [[repr(float(v)) if j < 2 else str(int(v)) for j, v in enumerate(r)] for r in VALUES]
    lines = ([list(NAMES)] if header else []) + rows
    if delimiter == WHITESPACE:
        return "".join("   " + "  ".join(f"{c:>24}" for c in r) + "\n" for r in lines)
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(lines)
    return out.getvalue()


def put(tmp_path: Path, data: str | bytes, name: str = "d.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


# Each writer: (name, bytes of the file, separator the reader must find, encoding it must find).
DIALECTS: list[tuple[str, Callable[[], bytes], str, str]] = [
    ("comma", lambda: text_of(",").encode(), ",", "utf-8"),
    ("bom+semicolon", lambda: ("\ufeff" + text_of(";")).encode(), ";", "utf-8-sig"),
    ("tab", lambda: text_of("\t").encode(), "\t", "utf-8"),
    ("whitespace", lambda: text_of(WHITESPACE).encode(), WHITESPACE, "utf-8"),
    ("utf-16-le", lambda: text_of(";").encode("utf-16"), ";", "utf-16"),
    ("utf-16-be", lambda: b"\xfe\xff" + text_of(",").encode("utf-16-be"), ",", "utf-16"),
    ("crlf", lambda: text_of(",").replace("\n", "\r\n").encode(), ",", "utf-8"),
    ("quoted", lambda: _quote_all(text_of(";")).encode(), ";", "utf-8"),
]


def _quote_all(text: str) -> str:
    out = io.StringIO()
    rows = csv.reader(io.StringIO(text), delimiter=";")
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(("kind", "make", "sep", "enc"), DIALECTS, ids=[d[0] for d in DIALECTS])
def test_every_dialect_reads_back_the_numbers_written(
    tmp_path: Path, kind: str, make: Callable[[], bytes], sep: str, enc: str
) -> None:
    t = read_table(put(tmp_path, make()))
    assert (t.dialect.delimiter, t.dialect.encoding, t.has_header) == (sep, enc, True)
    assert t.header == NAMES  # no byte-order mark and no quotes in the first name
    got = t.arrays({"x": "dose", "y": 2, "k": "label"})
    np.testing.assert_array_equal(np.column_stack([got["x"], got["y"], got["k"]]), VALUES)


def test_a_headerless_file_is_said_to_be_one(tmp_path: Path) -> None:
    t = read_table(put(tmp_path, text_of(",", header=False)))
    assert not t.has_header and t.header == ("column 1", "column 2", "column 3")
    assert "row 1 holds only numbers, so it is data, not a header" in t.dialect.header_reason
    assert "d.csv has no header row" in t.notes[0]
    np.testing.assert_array_equal(t.numbers(1), VALUES[:, 1])
    assert read_table(put(tmp_path, text_of(","), "h.csv")).notes == ()


def test_comment_and_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    text = "# made by hand\n\nx,y\n  # a note\n1,2\n\n2,zz\n"
    t = read_table(put(tmp_path, text))
    assert t.header == ("x", "y") and t.dialect.comment_lines == 2
    assert [line for line, _ in t.rows] == [5, 7]  # the lines an editor shows
    with pytest.raises(gs.DataError, match=r"^Row 7, column 'y' of d.csv is not a number: 'zz'"):
        t.numbers(1)


def test_a_header_written_as_a_comment_is_pointed_out(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "s.txt", VALUES[:, :2], header="dose response")  # "# dose response"
    t = read_table(tmp_path / "s.txt")
    assert t.dialect.delimiter == WHITESPACE and not t.has_header
    assert "line 1 ('# dose response') looks like a header but starts with '#'" in t.notes[1]
    np.testing.assert_allclose(t.numbers(0), VALUES[:, 0], rtol=1e-15)
    with pytest.raises(gs.DataError, match=r"its columns are column 1, column 2 \(its 1 line"):
        t.column("dose", "x")


def test_quoted_fields_may_hold_the_separator_and_span_lines(tmp_path: Path) -> None:
    t = read_table(put(tmp_path, 'city,"pop, k"\n"New York, NY",8.3\n"Two\nlines",oops\n'))
    assert t.header == ("city", "pop, k") and t.texts(0) == ["New York, NY", "Two\nlines"]
    # the row that starts on line 3 is named by line 3, not by the line it ends on
    with pytest.raises(gs.DataError, match=r"Row 3, column 'pop, k' of d.csv is not a number"):
        t.numbers(1)


def test_a_trailing_separator_adds_no_column(tmp_path: Path) -> None:
    t = read_table(put(tmp_path, "x,y,\n1,2,\n3,4,\n"))
    assert t.header == ("x", "y")
    np.testing.assert_array_equal(t.numbers(1), [2, 4])
    with pytest.raises(gs.DataError, match=r"Row 3 of d.csv has 3 cells but the header has 2"):
        read_table(put(tmp_path, "x,y\n1,2\n3,4,5\n"))


BAD_BYTES = [
    (b"\xef\xbb\xbfx,y\n1,2\n2,\xff3\n",
     r"starts with a UTF-8 byte-order mark, but the byte 0xff at offset 13, line 3 is not UTF-8"),
    ("x;y\n1;2\n".encode("utf-16") + b"\x00\xd8\x41\x00",
     r"starts with a UTF-16 byte-order mark, but the bytes at offset 18, line 3 are not UTF-16"),
    (b"x,y\n1,2\nca\x81,3\n",
     r"the byte 0x81 at offset 10, line 3 is neither UTF-8 nor Windows-1252; save it as UTF-8"),
    ("x;y\n1;2\n".encode("utf-16-le"), r"looks like UTF-16 without a byte-order mark"),
    (b"x,y\n" + np.zeros(64).tobytes(), r"not a text CSV file \(it holds binary data\)"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "match"), BAD_BYTES)
def test_bytes_no_encoding_reads_are_named_by_offset_and_line(
    tmp_path: Path, data: bytes, match: str
) -> None:
    with pytest.raises(gs.DataError, match=match):
        read_table(put(tmp_path, data))


def test_windows_1252_is_read_with_a_note(tmp_path: Path) -> None:
    t = read_table(put(tmp_path, "“größe” €,y\n1,2\n".encode("cp1252")))
    assert t.header == ("“größe” €", "y") and t.dialect.encoding == "cp1252"
    assert "is not UTF-8 (byte 0x93 at offset 0, line 1): read it as Windows-1252" in t.notes[0]


CELLS = [
    ("x,y\n1,2\n2,abc\n", r"Row 3, column 'y' of d.csv is not a number: 'abc'; fix that cell"),
    ("x;y\n1,5;2\n", r"Row 2, column 'x' of d.csv is not a number: '1,5' \(a decimal comma\?"),
    ("x,y\n1,\n", r"Row 2, column 'y' of d.csv is empty; fix that cell or remove the row"),
    ("x,y\n1,-inf\n", r"Row 2, column 'y' of d.csv is not finite: '-inf'"),
    ("1 2\n3 x\n", r"Row 2, column 'column 2' of d.csv is not a number: 'x'"),
]


@pytest.mark.parametrize(("text", "match"), CELLS)
def test_a_bad_cell_names_its_row_and_column(tmp_path: Path, text: str, match: str) -> None:
    t = read_table(put(tmp_path, text))
    with pytest.raises(gs.DataError, match=match):
        t.arrays({"x": 1, "y": 2})


def test_columns_by_name_or_by_number_from_one(tmp_path: Path) -> None:
    header = ",".join(f"c{j}" for j in range(40))
    t = read_table(put(tmp_path, header + "\n" + ",".join(map(str, range(40))) + "\n"))
    assert t.column("c7", "x") == t.column(8, "x") == t.column("8", "x") == 7
    with pytest.raises(
        gs.DataError,
        match=r"^Column 'nope' for y is not in d.csv; its columns are c0, c1, .*, …, c39 "
        r"\(40 columns\)\.$",
    ):
        t.column("nope", "y")
    with pytest.raises(gs.DataError, match=r"Column 41 for w is out of range; d.csv has 40 col"):
        t.column(41, "w")
    # a header cell that is digits is found by name first
    t = read_table(put(tmp_path, "a,2,b\n1,5,9\n", "n.csv"))
    assert t.column("2", "x") == 1 and t.column(2, "x") == 1 and t.column("3", "x") == 2


def test_the_cell_cap_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradscape.tables as tables

    monkeypatch.setattr(tables, "MAX_CELLS", 50)
    with pytest.raises(gs.DataError, match=r"more than 50 cells \(MAX_CELLS\)"):
        read_table(put(tmp_path, text_of(",")))


@pytest.mark.parametrize(("kind", "make", "sep", "enc"), DIALECTS, ids=[d[0] for d in DIALECTS])
def test_the_tour_and_training_read_a_file_the_same_way(
    tmp_path: Path, kind: str, make: Callable[[], bytes], sep: str, enc: str
) -> None:
    p = put(tmp_path, make())
    line = gs.load_csv(p, x="dose", y="response")
    split = load(str(p), target="label", standardize=False, val=0.2, test=0.2)
    assert split.features == ("dose", "response") and split.classes == ("0", "1")
    seen = np.concatenate([split.x_train, split.x_val, split.x_test]).astype(np.float64)
    # the split shuffles rows: compare the rows as sets, at the split's float32 precision
    by_row = np.lexsort(seen.T[::-1])
    want = np.column_stack([line.x, line.y]).astype(np.float32)
    np.testing.assert_array_equal(seen[by_row], want[np.lexsort(want.T[::-1])])
    np.testing.assert_array_equal(line.x, VALUES[:, 0])


def test_tour_and_train_read_a_semicolon_file_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = put(tmp_path, ("\ufeff" + text_of(";")).encode(), "bom.csv")
    tour = ["tour", "--data", str(p), "--x", "dose", "--y", "response"]
    assert main([*tour, "--out", str(tmp_path / "t"), "--json"]) == 0
    fit = json.loads(capsys.readouterr().out)
    assert (fit["data"]["x"], fit["data"]["y"], fit["data"]["n"]) == ("dose", "response", 30)
    m, c = np.polyfit(VALUES[:, 0], VALUES[:, 1], 1)  # the line through the numbers written
    assert fit["closed_form"]["m"] == pytest.approx(m, rel=1e-9)
    assert fit["closed_form"]["c"] == pytest.approx(c, rel=1e-9, abs=1e-12)
    train = ["train", "--data", str(p), "--target", "label", "--model", "linear", "--epochs", "2"]
    assert main([*train, "--out", str(tmp_path / "r"), "--json"]) == 0
    assert "test_accuracy" in capsys.readouterr().out
    assert main([*train[:3], "--target", "dosis", "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "gradscape: error: Column 'dosis' for the target is not in bom.csv; its columns are "
        "dose, response, label."
    ]


def test_a_single_column_is_not_split_at_its_spaces(tmp_path: Path) -> None:
    t = read_table(put(tmp_path, "my value\n1\n2\n"))
    assert t.header == ("my value",) and t.dialect.delimiter == ","
    t = read_table(put(tmp_path, "my value\tb\n1\t3\n2\t4\n"))
    assert t.header == ("my value", "b") and t.dialect.delimiter_name == "tab"


def test_training_reads_text_files_and_names_a_missing_one(tmp_path: Path) -> None:
    p = put(tmp_path, text_of("\t"), "d.tsv")
    assert load(str(p), target="label").features == ("dose", "response")
    with pytest.raises(gs.DataError, match=r"Data file '.*gone\.txt' does not exist; check the"):
        load(str(tmp_path / "gone.txt"), target="label")


def test_a_first_row_of_numbers_and_labels_is_data(tmp_path: Path) -> None:
    # the UCI iris.data layout: no header, a text label in the last column
    rows = [[*map(repr, map(float, r[:2])), "ab"[int(r[2])]] for r in VALUES]
    t = read_table(put(tmp_path, "".join(",".join(r) + "\n" for r in rows)))
    assert not t.has_header and len(t.rows) == len(VALUES)
    assert "text only where the column below is text too" in t.dialect.header_reason
    np.testing.assert_array_equal(t.numbers(0), VALUES[:, 0])
    split = load(str(t.path), target="3", standardize=False)
    assert split.classes == ("a", "b") and len(split.y_train) + len(split.y_val) + len(
        split.y_test
    ) == len(VALUES)
    # a name above a column of numbers still makes a header, even beside a numeric name
    t = read_table(put(tmp_path, "size,2020\n1,5\n2,7\n", "y.csv"))
    assert t.has_header and t.header == ("size", "2020")
    assert "'size' is not a number, but the column below holds numbers" in t.dialect.header_reason
