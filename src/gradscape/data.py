"""Datasets of ``(x, y)`` pairs, and the one CSV reader every verb reads files through.

:func:`read_table` is gradscape's only CSV reader (the tour's :func:`load_csv` and the training
loader :func:`gradscape.datasets.load` both use it). It refuses what it cannot read with one line
that says what and where: a missing, unreadable or empty file, a folder, a device or pipe, a file
above :data:`MAX_FILE_BYTES`, more than :data:`MAX_ROWS` rows or :data:`MAX_COLUMNS` columns, binary
data. It reads UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, and falls
back to Latin-1 with a note; it finds the delimiter (``,``, ``;`` or tab) and whether the first row
is a header. Every name or cell it echoes goes through :func:`gradscape.errors.printable`.

:func:`load_csv` then picks the two columns of a line: by name or number when given; otherwise the
first two numeric columns that are not the row number, and it says which it took and why.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, listing, printable

#: Largest CSV file the reader accepts, in bytes (128 MiB).
MAX_FILE_BYTES = 128 * 2**20
#: Most data rows the reader accepts.
MAX_ROWS = 1_000_000
#: Most columns (cells per row) the reader accepts.
MAX_COLUMNS = 10_000
#: Most cells in all (rows × columns) the reader accepts: bounds its memory.
MAX_CELLS = 20_000_000
#: Longest row, in characters.
MAX_ROW_CHARS = 1_000_000

_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
#: Header names that mark a column as the row number (compared lower-case, without ``_ -#.``).
_INDEX_NAMES = frozenset({"id", "index", "idx", "row", "rownumber", "rowid", "no", "unnamed0"})


def quoted(name: object) -> str:
    """``'name'`` with control characters escaped: how messages show a user's text."""
    return f"'{printable(name)}'"


@dataclass(frozen=True, eq=False)
class Table:
    """A CSV file read as text cells, before any column is turned into numbers.

    Attributes:
        path: the file.
        header: column names (``"column j"`` for a blank name or a file without a header).
        rows: ``(line, cells)`` per non-blank data row; ``line`` is the row's 1-based number in
            the file (the header is row 1).
        has_header: whether the first row was a header.
        encoding: ``"utf-8"``, ``"utf-8-sig"``, ``"utf-16"`` or ``"latin-1"``.
        delimiter: ``","``, ``";"`` or ``"\\t"``.
        notes: what the reader decided that a user should know (an encoding fallback).
    """

    path: Path
    header: tuple[str, ...]
    rows: list[tuple[int, list[str]]]
    has_header: bool
    encoding: str
    delimiter: str
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The file name, safe to print."""
        return printable(self.path.name)

    @property
    def width(self) -> int:
        return len(self.header)

    def label(self, j: int) -> str:
        """Column ``j``'s name, safe to print."""
        return printable(self.header[j])

    def columns_text(self) -> str:
        """``a, b, c``: every column name, safe to print (a long list is cut)."""
        names = [self.label(j) for j in range(min(self.width, 30))]
        more = f", … ({self.width} in all)" if self.width > 30 else ""
        return ", ".join(names) + more

    def cell(self, line: int, cells: list[str], j: int) -> str:
        return cells[j] if j < len(cells) else ""

    def column(self, spec: str | int, role: str) -> int:
        """The index of the column ``spec`` names: a header name or a 1-based number.

        Raises:
            DataError: no such column, a number out of range, or a name that appears twice.
        """
        if isinstance(spec, bool):
            raise DataError(f"Column for {role} must be a name or a number; got {spec!r}.")
        if isinstance(spec, int) or (
            isinstance(spec, str) and spec.strip().isdigit() and spec not in self.header
        ):
            j = int(spec) - 1
            if not 0 <= j < self.width:
                raise DataError(
                    f"Column {printable(spec)} for {role} is out of range; {self.name} has "
                    f"{self.width} column(s)."
                )
            return j
        if spec not in self.header:
            raise DataError(
                f"Column {quoted(spec)} for {role} is not in {self.name}; its columns are "
                f"{self.columns_text()}."
            )
        if self.header.count(spec) > 1:
            first = self.header.index(spec)
            again = self.header.index(spec, first + 1)
            raise DataError(
                f"Column {quoted(spec)} for {role} appears twice in {self.name} (columns "
                f"{first + 1} and {again + 1}); give its number instead."
            )
        return self.header.index(spec)

    def numeric_share(self, j: int) -> float:
        """Share of column ``j``'s non-empty cells that are numbers."""
        cells = [c[j] for _, c in self.rows if j < len(c) and c[j]]
        return sum(parse_number(c) is not None for c in cells) / max(len(cells), 1)

    def numbers(self, j: int) -> np.ndarray:
        """Column ``j`` as float64, every cell checked.

        Raises:
            DataError: an empty cell, a cell that is not a number, NaN or infinity, or a number
                beyond float64's range, with its row and column.
        """
        out = np.empty(len(self.rows))
        for i, (line, cells) in enumerate(self.rows):
            out[i] = self._number(line, j, self.cell(line, cells, j))
        return out

    def _number(self, line: int, j: int, text: str) -> float:
        where = f"Row {line}, column {quoted(self.header[j])} of {self.name}"
        if not text:
            raise DataError(f"{where} is empty.")
        v = parse_number(text)
        if v is None:
            hint = (
                " (a decimal comma? write decimals with a point)"
                if re.fullmatch(r"[-+]?\d+,\d+", text)
                else ""
            )
            raise DataError(f"{where} is not a number: {quoted(text)}{hint}.")
        if math.isnan(v) or (math.isinf(v) and "inf" in text.lower()):
            raise DataError(f"{where} is not finite: {quoted(text)}.")
        if math.isinf(v):
            raise DataError(
                f"{where} is beyond float64's range (magnitude above 1.8e308): {quoted(text)}."
            )
        if v == 0.0 and re.search(r"[1-9]", re.split(r"[eE]", text)[0]):
            raise DataError(
                f"{where} is below float64's range (nonzero, but under 4.9e-324): {quoted(text)}."
            )
        return v


def parse_number(cell: str) -> float | None:
    """``cell`` as a float, or ``None`` when it is not a number (Python's digit grouping,
    ``3_0``, is not a number in a data file)."""
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def read_table(path: str | Path) -> Table:
    """Read a CSV file as text cells: the one reader behind every verb that takes a file.

    Args:
        path: the file.

    Returns:
        A :class:`Table`.

    Raises:
        DataError: the file is missing, a folder, not a regular file, unreadable, larger than
            :data:`MAX_FILE_BYTES`, empty, binary, or has more than :data:`MAX_ROWS` rows,
            :data:`MAX_COLUMNS` columns, :data:`MAX_CELLS` cells or a row longer than
            :data:`MAX_ROW_CHARS` characters.
    """
    p = Path(path)
    raw = _read_bytes(p)
    text, encoding, notes = _decode(p, raw)
    delimiter = _sniff(text)
    rows = _records(p, text, delimiter)
    if not rows:
        raise DataError(f"Data file {quoted(p)} is empty; it needs a header and data rows.")
    first = rows[0][1]
    has_header = any(parse_number(c) is None for c in first if c)
    width = max(len(first), 1)
    if has_header:
        header = tuple(c or f"column {j + 1}" for j, c in enumerate(first))
        body = rows[1:]
    else:
        header = tuple(f"column {j + 1}" for j in range(len(first)))
        body = rows
    if not body:
        raise DataError(f"Data file {quoted(p)} has a header but no data rows.")
    for line, cells in body:
        if len(cells) > width:
            raise DataError(
                f"Row {line} of {printable(p.name)} has {len(cells)} cells but the "
                f"{'header' if has_header else 'first row'} has {width}."
            )
    return Table(
        path=p, header=header, rows=body, has_header=has_header, encoding=encoding,
        delimiter=delimiter, notes=tuple(notes),
    )  # fmt: skip


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
    """``(text, encoding, notes)``: UTF-8 (BOM or not), UTF-16 with a BOM, else Latin-1."""
    shown = quoted(p)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", [f"{printable(p.name)} was read as UTF-16."]
        except UnicodeDecodeError:
            raise DataError(f"Data file {shown} is not a text CSV file (bad UTF-16).") from None
    sample = raw[:65536]
    controls = sum(b < 32 and b not in b"\t\n\r\f\v" for b in sample)
    if b"\x00" in raw or controls > 0.1 * max(len(sample), 1):
        raise DataError(f"Data file {shown} is not a text CSV file (it holds binary data).")
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError as exc:
        note = (
            f"{printable(p.name)} is not UTF-8 (byte {exc.start + 1} is 0x{raw[exc.start]:02x}): "
            "read it as Latin-1 (ISO-8859-1); save it as UTF-8 if names look wrong."
        )
        return raw.decode("latin-1"), "latin-1", [note]


def _sniff(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent number of cells."""
    lines = [ln for ln in text[:65536].splitlines()[:100] if ln.strip()]
    best, best_score = ",", (0.0, 0)
    for d in _DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(lines, delimiter=d)]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count / len(widths), width)
        if score > best_score:
            best, best_score = d, score
    return best


def _records(p: Path, text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows as ``(row number, stripped cells)``, within the row and cell caps."""
    name = printable(p.name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    cells_read = 0
    line = 0
    try:
        for record in reader:
            line = reader.line_num
            if len(record) > MAX_COLUMNS:
                raise DataError(
                    f"Row {line} of {name} has {len(record):,} cells; at most {MAX_COLUMNS:,} "
                    "columns are read (MAX_COLUMNS)."
                )
            if sum(map(len, record)) > MAX_ROW_CHARS:
                raise DataError(
                    f"Row {line} of {name} is longer than {MAX_ROW_CHARS:,} characters "
                    "(MAX_ROW_CHARS); is it a CSV file?"
                )
            cells = [c.strip() for c in record]
            if not any(cells):
                continue
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
            rows.append((line, cells))
    except csv.Error as exc:
        raise DataError(
            f"Row {reader.line_num or line + 1} of {name} cannot be read as CSV: {printable(exc)}."
        ) from None
    return rows


# -- the line's dataset ------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Dataset:
    """Paired observations ``y ≈ f(x)``.

    Attributes:
        x: inputs, shape ``(N,)``, float64.
        y: targets, shape ``(N,)``, float64.
        name: where the data came from (file name or generator and seed).
        x_label: name of the x column.
        y_label: name of the y column.
        notes: what the loader decided that a user should know (which columns it took and why,
            an encoding it fell back to).
    """

    x: np.ndarray
    y: np.ndarray
    name: str = "data"
    x_label: str = "x"
    y_label: str = "y"
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64).reshape(-1)
        y = np.asarray(self.y, dtype=np.float64).reshape(-1)
        if x.shape != y.shape:
            raise DataError(f"x and y must have the same length; got {x.size} and {y.size}.")
        if x.size < 2:
            raise DataError(f"A line needs at least 2 data rows; got {x.size}.")
        # Names are shown on terminals and figures: keep them free of control characters.
        for attr in ("name", "x_label", "y_label"):
            object.__setattr__(self, attr, printable(getattr(self, attr)))
        object.__setattr__(self, "notes", tuple(printable(n, 400) for n in self.notes))
        for label, arr in ((self.x_label, x), (self.y_label, y)):
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise DataError(
                    f"{label} has a non-finite value ({arr[bad[0]]}) at row {bad[0] + 1}; "
                    "remove or fix that row."
                )
        if np.ptp(x) == 0:
            raise DataError(
                f"All {self.x_label} values are equal ({x[0]:g}), so no slope can be fitted; "
                "x must vary."
            )
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.x.size)


def synthetic_line(
    n: int = 50,
    *,
    slope: float = 2.0,
    intercept: float = 8.0,
    noise: float = 2.0,
    x_range: tuple[float, float] = (0.0, 10.0),
    seed: int = 0,
) -> Dataset:
    """A seeded noisy line: ``y = slope·x + intercept + noise·ε``, ``ε ~ N(0, 1)``.

    Example:
        >>> synthetic_line(n=20, seed=1).n
        20
    """
    if int(n) < 2:
        raise DataError(f"The synthetic line needs n >= 2 points; got {n}.")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(x_range[0], x_range[1], size=int(n)))
    y = slope * x + intercept + noise * rng.standard_normal(int(n))
    return Dataset(x=x, y=y, name=f"synthetic line (n={int(n)}, seed={seed})")


def is_row_number(name: str, values: np.ndarray | None) -> str | None:
    """Why a column looks like the row number (an index, not a measurement), or ``None``.

    It does when its name is ``id``, ``index``, ``row`` … or its values are ``0, 1, …, n−1`` or
    ``1, 2, …, n`` in order.
    """
    key = re.sub(r"[\s_\-#.:]", "", name.lower())
    if key in _INDEX_NAMES:
        return f"its name {quoted(name)} marks an index"
    if values is not None and values.size >= 2:
        for first in (0, 1):
            if np.array_equal(values, np.arange(first, first + values.size)):
                return f"its values are the row numbers {first}, {first + 1}, …, {first + values.size - 1}"
    return None


def load_csv(
    path: str | Path, *, x: str | int | None = None, y: str | int | None = None
) -> Dataset:
    """Load two columns of a CSV file as a :class:`Dataset`.

    The first row is a header when any of its cells is not a number. Columns are chosen by
    header name or by 1-based position. By default the first two numeric columns are used (a
    column is numeric when most of its cells are numbers), skipping a column that is the row
    number (named ``id``/``index``… or holding ``0…n−1`` / ``1…n``) when there are more than two;
    the dataset's ``notes`` say which two were taken and why.

    Args:
        path: the CSV file (read by :func:`read_table`).
        x: column for x (name or 1-based index).
        y: column for y (name or 1-based index).

    Raises:
        DataError: the file cannot be read (see :func:`read_table`); a column is unknown; a cell
            is not a number, missing, NaN, infinite or beyond float64 (row and column named);
            fewer than 2 rows; all x equal.
    """
    table = read_table(path)
    jx = table.column(x, "x") if x is not None else None
    jy = table.column(y, "y") if y is not None else None
    notes = list(table.notes)
    if jx is None or jy is None:
        jx, jy, why = _pick_columns(table, jx, jy)
        if why:
            notes.append(why)
    if len(table.rows) < 2:
        raise DataError(f"{table.name} has {len(table.rows)} data row(s); a line needs at least 2.")
    xs, ys = table.numbers(jx), table.numbers(jy)
    return Dataset(
        x=xs, y=ys, name=table.path.name, x_label=table.header[jx], y_label=table.header[jy],
        notes=tuple(notes),
    )  # fmt: skip


def _pick_columns(table: Table, jx: int | None, jy: int | None) -> tuple[int, int, str]:
    """x and y columns not given by the user, and a sentence saying which and why (or "")."""
    numeric = [j for j in range(table.width) if table.numeric_share(j) > 0.5]
    free = [j for j in numeric if j not in (jx, jy)]
    skipped: dict[int, str] = {}
    if len(numeric) > 2:
        for j in free:
            why = is_row_number(table.header[j], _try_numbers(table, j))
            if why is not None:
                skipped[j] = why
        kept = [j for j in free if j not in skipped]
        if len(kept) >= (jx is None) + (jy is None):
            free = kept
        else:  # too few columns left: use the index-like ones rather than fail
            skipped = {}
    if jx is None:
        if not free:
            raise DataError(f"{table.name} has no numeric column to use as x.")
        jx = free.pop(0)
    if jy is None:
        free = [j for j in free if j != jx]
        if not free:
            raise DataError(
                f"{table.name} needs two numeric columns (x and y); found only "
                f"{quoted(table.header[jx])}."
            )
        jy = free[0]
    if len(numeric) <= 2:
        return jx, jy, ""

    def q(j: int) -> str:
        return quoted(table.header[j])

    why = (
        f"{table.name} has {len(numeric)} numeric columns: took {q(jx)} as x and {q(jy)} as y"
        " (the first numeric columns that are not the row number)"
    )
    if skipped:
        why += "; skipped " + listing((f"{q(j)} ({w})" for j, w in skipped.items()), what="columns")
    others = [q(j) for j in numeric if j not in (jx, jy) and j not in skipped]
    if others:
        why += f"; also numeric: {listing(others, what='columns')}"
    return jx, jy, why + ". Choose others with --x and --y."


def _try_numbers(table: Table, j: int) -> np.ndarray | None:
    """Column ``j`` as numbers, or ``None`` when some cell is not one."""
    try:
        return table.numbers(j)
    except DataError:
        return None
