"""Read numeric tables from CSV and text files: the one reader behind every verb that takes a file.

:func:`read_table` turns a file into a :class:`Table` of text cells; callers then take the columns
they need as numbers (:meth:`Table.numbers`, :meth:`Table.arrays`) or as text (:meth:`Table.texts`,
class labels). The tour's :func:`gradscape.line_data.load_csv` and the training loader
:func:`gradscape.networks.datasets.load` both read through it, and so does every later verb that reads data.

What it reads, and what it decides (the decisions are on :attr:`Table.dialect`):

- **Encodings**: UTF-8 with or without a byte-order mark, UTF-16 with a byte-order mark; a file
  that is not UTF-8 is read as Latin-1 (Windows-1252 where it has bytes 0x80–0x9F) with a note.
  Bytes that fit none of these, or break the encoding a byte-order mark declares, are refused
  with their byte offset and line.
- **Separators**: ``,``, ``;`` or tab, whichever splits the first lines into the most consistent
  number of cells; runs of spaces (the NIST StRD layout) when none of those splits them.
- **Header**: the first row is a header when it holds only text, or text above a column of
  numbers; a row of numbers (with text only over text columns, as in ``5.1,3.5,Iris-setosa``)
  is data, the columns are named ``column 1``, ``column 2`` … and a note says so.
- **Quoted fields** (``"New York, NY"``), blank lines and comment lines (first non-blank
  character ``#``) are handled; cells are stripped of surrounding spaces.
- **Decimal comma** (``1,5``) is refused with a hint, never guessed: ``1,500`` could be one and a
  half or fifteen hundred.

Every error is one line naming the file, the row (the line number an editor shows) and the column,
and how to fix it. Sizes are capped: :data:`MAX_FILE_BYTES`, :data:`MAX_ROWS`,
:data:`MAX_COLUMNS`, :data:`MAX_CELLS`, :data:`MAX_ROW_CHARS`. Every name or cell it echoes goes
through :func:`gradscape.errors.printable`. This module imports only :mod:`gradscape.errors`,
NumPy and the standard library.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, listing, printable

#: Largest file the reader accepts, in bytes (128 MiB).
MAX_FILE_BYTES = 128 * 2**20
#: Most data rows the reader accepts.
MAX_ROWS = 1_000_000
#: Most columns (cells per row) the reader accepts.
MAX_COLUMNS = 10_000
#: Most cells in all (rows × columns) the reader accepts: bounds its memory.
MAX_CELLS = 20_000_000
#: Longest row, in characters.
MAX_ROW_CHARS = 1_000_000

#: The separator value that stands for runs of spaces (and tabs) between cells.
WHITESPACE = " "
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", WHITESPACE: "whitespace"}
#: Lines whose first non-blank character is this are comments.
COMMENT = "#"
#: How many lines the separator is sniffed from.
_SNIFF_LINES = 100


def quoted(name: object) -> str:
    """``'name'`` with control characters escaped: how messages show a user's text."""
    return f"'{printable(name)}'"


@dataclass(frozen=True)
class Dialect:
    """How a file was read: what :func:`read_table` found, so a caller can say it.

    Attributes:
        encoding: ``"utf-8"``, ``"utf-8-sig"`` (with a byte-order mark), ``"utf-16"``,
            ``"latin-1"`` or ``"cp1252"``.
        delimiter: ``","``, ``";"``, ``"\\t"`` or :data:`WHITESPACE` (runs of spaces).
        has_header: whether the first row is a header.
        header_reason: why the first row was or was not read as a header, in words.
        comment_lines: how many ``#`` comment lines were skipped.
    """

    encoding: str
    delimiter: str
    has_header: bool
    header_reason: str
    comment_lines: int = 0

    @property
    def delimiter_name(self) -> str:
        """``"comma"``, ``"semicolon"``, ``"tab"`` or ``"whitespace"``."""
        return _DELIMITER_NAMES[self.delimiter]


@dataclass(frozen=True, eq=False)
class Table:
    """A file read as text cells, before any column is turned into numbers.

    Attributes:
        path: the file.
        header: column names (``"column j"`` for a blank name or a file without a header).
        rows: ``(line, cells)`` per data row; ``line`` is the line of the file the row starts
            on, 1-based, as an editor shows it.
        dialect: the encoding, separator and header decision (:class:`Dialect`).
        notes: what the reader decided that a user should know (an encoding fallback, a file
            without a header, a header written as a comment).
    """

    path: Path
    header: tuple[str, ...]
    rows: list[tuple[int, list[str]]]
    dialect: Dialect
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The file name, safe to print."""
        return printable(self.path.name)

    @property
    def width(self) -> int:
        """Number of columns."""
        return len(self.header)

    @property
    def has_header(self) -> bool:
        """Whether the first row was a header."""
        return self.dialect.has_header

    def label(self, j: int) -> str:
        """Column ``j``'s name (0-based index), safe to print."""
        return printable(self.header[j])

    def columns_text(self) -> str:
        """``a, b, c``: the column names, safe to print, a long list cut by :func:`listing`."""
        return listing(self.header, 12, what="columns")

    def cell(self, line: int, cells: list[str], j: int) -> str:
        """Cell ``j`` of a row, ``""`` where the row is short."""
        return cells[j] if j < len(cells) else ""

    def column(self, spec: str | int, role: str) -> int:
        """The 0-based index of the column ``spec`` names: a header name, or a number counted
        from 1 as a user counts (``1`` is the first column). A name wins over a number when a
        header cell is the digits given.

        Raises:
            DataError: no such column (the message lists the columns), a number out of range,
                or a name that appears twice.
        """
        if isinstance(spec, bool) or not isinstance(spec, str | int):
            raise DataError(f"Column for {role} must be a name or a number; got {spec!r}.")
        if isinstance(spec, int) or (spec.strip().isdigit() and spec not in self.header):
            j = int(spec) - 1
            if not 0 <= j < self.width:
                raise DataError(
                    f"Column {printable(spec)} for {role} is out of range; {self.name} has "
                    f"{self.width} column(s), numbered from 1."
                )
            return j
        if spec not in self.header:
            hint = (
                f" (its {self.dialect.comment_lines} line(s) starting with '#' are comments)"
                if self.dialect.comment_lines and not self.has_header
                else ""
            )
            raise DataError(
                f"Column {quoted(spec)} for {role} is not in {self.name}; its columns are "
                f"{self.columns_text()}{hint}."
            )
        if self.header.count(spec) > 1:
            first = self.header.index(spec)
            again = self.header.index(spec, first + 1)
            raise DataError(
                f"Column {quoted(spec)} for {role} appears twice in {self.name} (columns "
                f"{first + 1} and {again + 1}); give its number instead."
            )
        return self.header.index(spec)

    def texts(self, j: int) -> list[str]:
        """Column ``j``'s cells as text (``""`` where a row is short)."""
        return [self.cell(line, cells, j) for line, cells in self.rows]

    def numeric_share(self, j: int) -> float:
        """Share of column ``j``'s non-empty cells that are numbers."""
        cells = [c[j] for _, c in self.rows if j < len(c) and c[j]]
        return sum(parse_number(c) is not None for c in cells) / max(len(cells), 1)

    def numbers(self, j: int) -> np.ndarray:
        """Column ``j`` (0-based) as float64, every cell checked.

        Raises:
            DataError: an empty cell, a cell that is not a number, NaN or infinity, or a number
                beyond float64's range, with its row and column.
        """
        out = np.empty(len(self.rows))
        for i, (line, cells) in enumerate(self.rows):
            out[i] = self._number(line, j, self.cell(line, cells, j))
        return out

    def arrays(self, columns: Mapping[str, str | int]) -> dict[str, np.ndarray]:
        """Several columns as float64 arrays, keyed by the role each plays.

        Args:
            columns: role → column (a header name or a 1-based number), e.g.
                ``{"x1": "dose", "y": "response", "weights": 4}``.

        Returns:
            role → the column's values, shape ``(rows,)``.

        Raises:
            DataError: an unknown column (named with the role), or a cell that is not a finite
                number (row and column named).
        """
        index = {role: self.column(spec, role) for role, spec in columns.items()}
        return {role: self.numbers(j) for role, j in index.items()}

    def _number(self, line: int, j: int, text: str) -> float:
        where = f"Row {line}, column {quoted(self.header[j])} of {self.name}"
        fix = "fix that cell or remove the row"
        if not text:
            raise DataError(f"{where} is empty; {fix}.")
        v = parse_number(text)
        if v is None:
            hint = (
                " (a decimal comma? write decimals with a point, e.g. 1.5)"
                if decimal_comma(text)
                else ""
            )
            raise DataError(f"{where} is not a number: {quoted(text)}{hint}; {fix}.")
        if math.isnan(v) or (math.isinf(v) and "inf" in text.lower()):
            raise DataError(f"{where} is not finite: {quoted(text)}; {fix}.")
        if math.isinf(v):
            raise DataError(
                f"{where} is beyond float64's range (magnitude above 1.8e308): {quoted(text)}."
            )
        if v == 0.0 and re.search(r"[1-9]", re.split(r"[eE]", text)[0]):
            raise DataError(
                f"{where} is below float64's range (nonzero, but under 4.9e-324): {quoted(text)}."
            )
        return v


def decimal_comma(text: str) -> bool:
    """Whether a cell looks like a number written with a decimal comma (``1,5``), which the
    reader refuses rather than guess (``1,500`` could be either)."""
    return re.fullmatch(r"[-+]?\d+,\d+", text) is not None


def parse_number(cell: str) -> float | None:
    """``cell`` as a float, or ``None`` when it is not a number (Python's digit grouping,
    ``3_0``, is not a number in a data file).

    >>> parse_number("-1.5e3"), parse_number("1,5"), parse_number("3_0")
    (-1500.0, None, None)
    """
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def read_table(path: str | Path) -> Table:
    """Read a CSV or whitespace-separated text file as text cells.

    Args:
        path: the file.

    Returns:
        A :class:`Table`; its :attr:`~Table.dialect` says how the file was read.

    Raises:
        DataError: the file is missing, a folder, not a regular file, unreadable, larger than
            :data:`MAX_FILE_BYTES`, empty, binary, not in a text encoding it can read (byte
            offset and line named), or has more than :data:`MAX_ROWS` rows,
            :data:`MAX_COLUMNS` columns, :data:`MAX_CELLS` cells, a row longer than
            :data:`MAX_ROW_CHARS` characters, or a row with more cells than the header.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_bytes("\\ufeffdose;response\\n1;2.5\\n2;4.0\\n".encode())
        >>> t = read_table(p)
        >>> t.header, t.dialect.delimiter_name, t.arrays({"y": "response"})["y"].tolist()
        (('dose', 'response'), 'semicolon', [2.5, 4.0])
    """
    p = Path(path)
    raw = _read_bytes(p)
    text, encoding, notes = _decode(p, raw)
    delimiter = _sniff(text)
    rows, comments = _records(p, text, delimiter)
    if not rows:
        raise DataError(f"Data file {quoted(p)} is empty; it needs a header and data rows.")
    first_line, first = rows[0]
    width = max(len(first), 1)
    has_header, reason = _is_header(first_line, first, rows[1:])
    if has_header:
        header = tuple(c or f"column {j + 1}" for j, c in enumerate(first))
        body = rows[1:]
    else:
        header = tuple(f"column {j + 1}" for j in range(len(first)))
        body = rows
        notes.append(
            f"{printable(p.name)} has no header row ({reason}); its columns are named "
            "'column 1', 'column 2', …"
        )
        notes.extend(_header_in_comment(p, comments, width, delimiter))
    if not body:
        raise DataError(f"Data file {quoted(p)} has a header but no data rows.")
    for line, cells in body:
        if len(cells) > width:
            raise DataError(
                f"Row {line} of {printable(p.name)} has {len(cells)} cells but the "
                f"{'header' if has_header else 'first row'} has {width}; remove the extra "
                "cells or quote a cell that holds the separator."
            )
    dialect = Dialect(encoding, delimiter, has_header, reason, len(comments))
    return Table(path=p, header=header, rows=body, dialect=dialect, notes=tuple(notes))


def _is_header(line: int, first: list[str], below: list[tuple[int, list[str]]]) -> tuple[bool, str]:
    """Whether the first row names the columns, and why in words.

    It does when it holds only text, or text above a column of numbers. A row that mixes numbers
    with text only where the column below is text too (``5.1,3.5,Iris-setosa``) is data: taking
    it as a header would drop a row and name the columns by numbers.
    """
    words = [j for j, c in enumerate(first) if c and parse_number(c) is None]
    if not words:
        return False, f"row {line} holds only numbers, so it is data, not a header"
    if len(words) == sum(1 for c in first if c):
        return True, f"row {line} is the header: its cell {quoted(first[words[0]])} is not a number"
    sample = below[:1000]
    for j in words:
        cells = [c[j] for _, c in sample if j < len(c) and c[j]]
        if cells and sum(parse_number(c) is not None for c in cells) > len(cells) / 2:
            return True, (
                f"row {line} is the header: its cell {quoted(first[j])} is not a number, but the "
                "column below holds numbers"
            )
    return False, (
        f"row {line} holds numbers, and text only where the column below is text too, so it is "
        "data, not a header"
    )


def _read_bytes(p: Path) -> bytes:
    """The file's bytes, after checking it is a regular, readable file within the size cap."""
    shown = quoted(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise DataError(f"Data file {shown} does not exist; check the path.") from None
    except PermissionError:
        raise DataError(f"Data file {shown} cannot be read: permission denied.") from None
    except OSError as exc:
        raise DataError(f"Data file {shown} cannot be read: {printable(exc.strerror)}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"Data path {shown} is a folder; give a CSV file.")
    if not stat.S_ISREG(st.st_mode):
        raise DataError(
            f"Data path {shown} is not a regular file (a device, pipe or socket); give a CSV file."
        )
    if st.st_size > MAX_FILE_BYTES:
        raise DataError(_too_big(shown, st.st_size))
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise DataError(f"Data file {shown} cannot be read: permission denied.") from None
    except OSError as exc:
        raise DataError(f"Data file {shown} cannot be read: {printable(exc.strerror)}.") from None
    if len(raw) > MAX_FILE_BYTES:  # it grew while being read
        raise DataError(_too_big(shown, len(raw)))
    return raw


def _too_big(shown: str, size: int) -> str:
    return (
        f"Data file {shown} is {size / 2**20:.1f} MiB; the largest CSV file gradscape reads is "
        f"{MAX_FILE_BYTES // 2**20} MiB (MAX_FILE_BYTES). Use a sample of its rows."
    )


def _decode(p: Path, raw: bytes) -> tuple[str, str, list[str]]:
    """``(text, encoding, notes)``: UTF-16 or UTF-8 as a byte-order mark declares; else UTF-8,
    else Latin-1 / Windows-1252 with a note; else an error naming the byte."""
    shown = quoted(p)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", [f"{printable(p.name)} was read as UTF-16."]
        except UnicodeDecodeError as exc:
            at = exc.start  # counted from the first byte, the mark included
            line = raw[:at].decode("utf-16", "replace").count("\n") + 1
            raise DataError(
                f"Data file {shown} starts with a UTF-16 byte-order mark, but the bytes at offset "
                f"{at}, line {line} are not UTF-16; save it again as UTF-8."
            ) from None
    sample = raw[:65536]
    if b"\x00" in sample and _looks_utf16(sample):
        raise DataError(
            f"Data file {shown} looks like UTF-16 without a byte-order mark; save it as UTF-8 "
            "(or UTF-16 with a byte-order mark)."
        )
    controls = sum(b < 32 and b not in b"\t\n\r\f\v" for b in sample)
    if b"\x00" in raw or controls > 0.1 * max(len(sample), 1):
        raise DataError(f"Data file {shown} is not a text CSV file (it holds binary data).")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError as exc:
            raise DataError(
                f"Data file {shown} starts with a UTF-8 byte-order mark, but the "
                f"{_bad_byte(raw, exc.start + 3)} is not UTF-8; save it again as UTF-8."
            ) from None
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # Latin-1 decodes any byte, but 0x80–0x9F are control codes there: text with them is
    # Windows-1252 (curly quotes, €), which leaves five bytes undefined.
    encoding, label = (
        ("cp1252", "Windows-1252") if re.search(rb"[\x80-\x9f]", raw) else ("latin-1", "Latin-1")
    )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"Data file {shown} is not a text file gradscape can read: the "
            f"{_bad_byte(raw, exc.start)} is neither UTF-8 nor Windows-1252; save it as UTF-8."
        ) from None
    note = (
        f"{printable(p.name)} is not UTF-8 ({_bad_byte(raw, first_bad)}): read it as {label} "
        f"({'ISO-8859-1' if encoding == 'latin-1' else 'cp1252'}); save it as UTF-8 if names "
        "look wrong."
    )
    return text, encoding, [note]


def _bad_byte(raw: bytes, at: int) -> str:
    """``byte 0xff at offset 17, line 3``: where a decoding failed, as a user can find it."""
    line = raw[:at].count(b"\n") + 1
    return f"byte 0x{raw[at]:02x} at offset {at}, line {line}"


def _looks_utf16(sample: bytes) -> bool:
    """Whether NUL bytes sit in every other place, as in ASCII text saved as UTF-16."""
    n = len(sample) // 2
    nuls = sorted((sample[0 : 2 * n : 2].count(0), sample[1 : 2 * n : 2].count(0)))
    return n > 0 and nuls[1] > 0.4 * n and nuls[0] < 0.05 * n


def _lines(text: str) -> Iterator[str]:
    """The file's lines as an editor counts them (``\\n``, ``\\r\\n`` or ``\\r``), endings kept."""
    return iter(io.StringIO(text, newline=""))


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith(COMMENT)


def _split_spaces(line: str) -> str:
    """A whitespace-separated line with tabs made spaces and the ends stripped, for csv."""
    return line.replace("\t", " ").strip() + "\n"


def _sniff(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of cells, two
    or more (ties go to the more cells, then to ``,`` ``;`` tab in that order); else
    :data:`WHITESPACE` if runs of spaces do; else ``,`` (a single column). csv.Sniffer guesses
    from character frequencies and misreads small numeric files, so widths are compared."""
    lines = []
    for ln in _lines(text[:65536]):
        if ln.strip() and not _is_comment(ln):
            lines.append(ln)
            if len(lines) == _SNIFF_LINES:
                break
    best, best_score = "", (0.0, 0)
    for d in (",", ";", "\t"):
        score = _split_score(lines, d)
        if score > best_score:
            best, best_score = d, score
    if best:
        return best
    return WHITESPACE if _split_score(lines, WHITESPACE) > (0.0, 0) else ","


def _split_score(lines: list[str], delimiter: str) -> tuple[float, int]:
    """``(share of lines with the commonest width, that width)``; ``(0, 0)`` below two cells."""
    if delimiter == WHITESPACE:
        lines = [_split_spaces(ln) for ln in lines]
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=delimiter == WHITESPACE)
    try:
        widths = [len(r) for r in reader]
    except csv.Error:
        return 0.0, 0
    if not widths:
        return 0.0, 0
    width, count = Counter(widths).most_common(1)[0]
    return (count / len(widths), width) if width >= 2 else (0.0, 0)


def _records(
    p: Path, text: str, delimiter: str
) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """Non-blank, non-comment rows as ``(first line, stripped cells)``, within the row and cell
    caps, and the comment lines as ``(line, text)``."""
    name = printable(p.name)
    comments: list[tuple[int, str]] = []

    def source() -> Iterator[str]:
        # One line out for each line in, so the reader's line count stays the file's.
        for i, ln in enumerate(_lines(text), 1):
            if _is_comment(ln):
                if len(comments) < 1000:
                    comments.append((i, ln.strip()))
                yield "\n"
            else:
                yield _split_spaces(ln) if delimiter == WHITESPACE else ln

    reader = csv.reader(source(), delimiter=delimiter, skipinitialspace=delimiter == WHITESPACE)
    rows: list[tuple[int, list[str]]] = []
    cells_read = 0
    line = 0  # the last line read so far; a record starts on the next one
    try:
        for record in reader:
            start, line = line + 1, reader.line_num
            if len(record) > MAX_COLUMNS:
                raise DataError(
                    f"Row {start} of {name} has {len(record):,} cells; at most {MAX_COLUMNS:,} "
                    "columns are read (MAX_COLUMNS)."
                )
            if sum(map(len, record)) > MAX_ROW_CHARS:
                raise DataError(
                    f"Row {start} of {name} is longer than {MAX_ROW_CHARS:,} characters "
                    "(MAX_ROW_CHARS); is it a CSV file?"
                )
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
            while len(cells) > 1 and not cells[-1] and (not rows or len(cells) > len(rows[0][1])):
                cells.pop()  # a trailing separator (as spreadsheets write) adds no column
            if len(rows) > MAX_ROWS:  # the header plus MAX_ROWS data rows
                raise DataError(
                    f"{name} has more than {MAX_ROWS:,} data rows (MAX_ROWS); use a sample of them."
                )
            cells_read += len(cells)
            if cells_read > MAX_CELLS:
                raise DataError(
                    f"{name} has more than {MAX_CELLS:,} cells (MAX_CELLS); use fewer rows or "
                    "columns."
                )
            rows.append((start, cells))
    except csv.Error as exc:
        raise DataError(
            f"Row {line + 1} of {name} cannot be read as CSV: {printable(exc)}; check its quotes."
        ) from None
    return rows, comments


def _header_in_comment(
    p: Path, comments: list[tuple[int, str]], width: int, delimiter: str
) -> list[str]:
    """A note when the last comment line looks like the header (``# x,y`` as NumPy's
    ``savetxt`` writes it): names in as many cells as the data has."""
    if not comments:
        return []
    line, text = comments[-1]
    body = text.lstrip(COMMENT).strip()
    cells = (
        body.split() if delimiter == WHITESPACE else next(csv.reader([body], delimiter=delimiter))
    )
    cells = [c.strip() for c in cells]
    if len(cells) != width or not all(c and parse_number(c) is None for c in cells):
        return []
    return [
        f"line {line} ({quoted(text)}) looks like a header but starts with '#', so it was read "
        "as a comment; remove the '#' to name the columns."
    ]
