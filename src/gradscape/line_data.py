"""Datasets of ``(x, y)`` pairs: a seeded synthetic line, or two columns of a data file.

:func:`load_csv` reads the file through gradscape's one reader, :func:`gradscape.tables.read_table`
(encodings, separators, header, comments, caps, row and column in every error), then picks the two
columns of a line: by name or number when given; otherwise the first two numeric columns that are
not the row number, and it says which it took and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, listing, printable, whole_number
from .tables import MAX_ROWS, Table, decimal_comma, quoted, read_table

#: Header names that mark a column as the row number (compared lower-case, without ``_ -#.``).
_INDEX_NAMES = frozenset({"id", "index", "idx", "row", "rownumber", "rowid", "no", "unnamed0"})


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
            an encoding it fell back to), in words that name no command-line flag.
        columns_guessed: the loader chose x and y itself among more than two numeric columns
            (each view says in its own words how to choose others: the CLI's ``--x``/``--y``,
            the page's column menus).
        columns: the file's header as written (empty for generated data), to choose from.
    """

    x: np.ndarray
    y: np.ndarray
    name: str = "data"
    x_label: str = "x"
    y_label: str = "y"
    notes: tuple[str, ...] = field(default=())
    columns_guessed: bool = False
    columns: tuple[str, ...] = field(default=())

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

    def write_csv(self, path: str | Path) -> Path:
        """Write ``x_label, y_label`` and the rows as CSV (17 significant digits: read back, the
        numbers are the same floats), e.g. to fit a model of one's own to the tour's data."""
        from ._files import atomic_path

        p = Path(path)
        table = np.column_stack([self.x, self.y])
        with atomic_path(p) as tmp:
            np.savetxt(tmp, table, fmt="%.17g", delimiter=",", comments="",
                       header=f"{_csv_name(self.x_label)},{_csv_name(self.y_label)}")  # fmt: skip
        return p


def _csv_name(name: str) -> str:
    """A header cell: quoted when it holds a comma or a quote."""
    return '"' + name.replace('"', '""') + '"' if ("," in name or '"' in name) else name


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
    n = whole_number(n, "The synthetic line's n (points)", 2, MAX_ROWS, "MAX_ROWS")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(x_range[0], x_range[1], size=n))
    y = slope * x + intercept + noise * rng.standard_normal(n)
    return Dataset(x=x, y=y, name=f"synthetic line (n={n}, seed={seed})")


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
    """Load two columns of a CSV or whitespace-separated file as a :class:`Dataset`.

    The file is read by :func:`gradscape.tables.read_table`, which decides whether the first row
    is a header (and notes when it is not). Columns are chosen by header name or by 1-based
    position. By default the first two numeric columns are used (a
    column is numeric when most of its cells are numbers), skipping a column that is the row
    number (named ``id``/``index``… or holding ``0…n−1`` / ``1…n``) when there are more than two;
    the dataset's ``notes`` say which two were taken and why.

    Args:
        path: the data file.
        x: column for x (name or 1-based index).
        y: column for y (name or 1-based index).

    Raises:
        DataError: the file cannot be read (see :func:`gradscape.tables.read_table`); a column
            is unknown; a cell
            is not a number, missing, NaN, infinite or beyond float64 (row and column named);
            fewer than 2 rows; all x equal.
    """
    table = read_table(path)
    jx = table.column(x, "x") if x is not None else None
    jy = table.column(y, "y") if y is not None else None
    notes = list(table.notes)
    guessed = False
    if jx is None or jy is None:
        jx, jy, why = _pick_columns(table, jx, jy)
        if why:
            notes.append(why)
            guessed = True
    if jx == jy:
        raise DataError(
            f"x and y are the same column ({quoted(table.header[jx])}) of {table.name}; "
            "pick two different columns for x and y."
        )
    if len(table.rows) < 2:
        raise DataError(f"{table.name} has {len(table.rows)} data row(s); a line needs at least 2.")
    xs, ys = table.numbers(jx), table.numbers(jy)
    return Dataset(
        x=xs, y=ys, name=table.path.name, x_label=table.header[jx], y_label=table.header[jy],
        notes=tuple(notes), columns_guessed=guessed, columns=tuple(table.header),
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
            comma = any(decimal_comma(cell) for _, cells in table.rows[:20] for cell in cells)
            hint = " (decimal commas? write decimals with a point, e.g. 1.5)" if comma else ""
            raise DataError(f"{table.name} has no numeric column to use as x{hint}.")
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
    return jx, jy, why + "."


def _try_numbers(table: Table, j: int) -> np.ndarray | None:
    """Column ``j`` as numbers, or ``None`` when some cell is not one."""
    try:
        return table.numbers(j)
    except DataError:
        return None
