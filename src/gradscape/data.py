"""Datasets of ``(x, y)`` pairs: a seeded synthetic line and a careful CSV loader.

Every way a file can be unusable gets one line that says what and where: a missing or empty
file, a non-numeric or missing cell (with its row and column), NaN or infinity, fewer than two
rows, or an x column whose values are all equal (no slope can be fitted).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError


@dataclass(frozen=True, eq=False)
class Dataset:
    """Paired observations ``y ≈ f(x)``.

    Attributes:
        x: inputs, shape ``(N,)``, float64.
        y: targets, shape ``(N,)``, float64.
        name: where the data came from (file name or generator and seed).
        x_label: name of the x column.
        y_label: name of the y column.
    """

    x: np.ndarray
    y: np.ndarray
    name: str = "data"
    x_label: str = "x"
    y_label: str = "y"

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float64).reshape(-1)
        y = np.asarray(self.y, dtype=np.float64).reshape(-1)
        if x.shape != y.shape:
            raise DataError(f"x and y must have the same length; got {x.size} and {y.size}.")
        if x.size < 2:
            raise DataError(f"A line needs at least 2 data rows; got {x.size}.")
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


def _parse_number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def load_csv(
    path: str | Path, *, x: str | int | None = None, y: str | int | None = None
) -> Dataset:
    """Load two columns of a CSV file as a :class:`Dataset`.

    The first row is a header when any of its cells is not a number. Columns are chosen by
    header name or by 1-based position; by default the first two numeric columns are used (a
    column is numeric when most of its cells are numbers).

    Args:
        path: the CSV file.
        x: column for x (name or 1-based index).
        y: column for y (name or 1-based index).

    Raises:
        DataError: the file is missing, empty or not text; a column is unknown; a cell is not a
            number, missing, NaN or infinite (row and column named); fewer than 2 rows; all x equal.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"Data file {str(p)!r} does not exist; check the path.")
    if p.is_dir():
        raise DataError(f"Data path {str(p)!r} is a folder; give a CSV file.")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"Data file {str(p)!r} is not a UTF-8 text CSV file.") from None
    if "\x00" in text:
        raise DataError(f"Data file {str(p)!r} is not a text CSV file (it holds binary data).")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = [
        (i + 1, [c.strip() for c in r])
        for i, r in enumerate(csv.reader(text.splitlines(), dialect))
        if any(c.strip() for c in r)
    ]
    if not rows:
        raise DataError(f"Data file {str(p)!r} is empty; it needs a header and data rows.")

    first = rows[0][1]
    has_header = any(_parse_number(c) is None for c in first if c)
    if has_header:
        header = [c or f"column {j + 1}" for j, c in enumerate(first)]
        body = rows[1:]
    else:
        header = [f"column {j + 1}" for j in range(len(first))]
        body = rows
    if not body:
        raise DataError(f"Data file {str(p)!r} has a header but no data rows.")
    width = len(header)
    for line, cells in body:
        if len(cells) > width:
            raise DataError(
                f"Row {line} of {p.name} has {len(cells)} cells but the header has {width}."
            )

    def numeric_share(j: int) -> float:
        cells = [c[j] for _, c in body if j < len(c) and c[j]]
        return sum(_parse_number(c) is not None for c in cells) / max(len(cells), 1)

    def resolve(spec: str | int | None, role: str) -> int | None:
        if spec is None:
            return None
        if isinstance(spec, int) or (
            isinstance(spec, str) and spec.isdigit() and spec not in header
        ):
            j = int(spec) - 1
            if not 0 <= j < width:
                raise DataError(
                    f"Column {spec} for {role} is out of range; {p.name} has {width} column(s)."
                )
            return j
        if spec not in header:
            raise DataError(
                f"Column {spec!r} for {role} is not in {p.name}; its columns are "
                f"{', '.join(header)}."
            )
        return header.index(spec)

    jx, jy = resolve(x, "x"), resolve(y, "y")
    if jx is None or jy is None:
        numeric = [j for j in range(width) if numeric_share(j) > 0.5 and j not in (jx, jy)]
        if jx is None:
            if not numeric:
                raise DataError(f"{p.name} has no numeric column to use as x.")
            jx = numeric.pop(0)
        if jy is None:
            numeric = [j for j in numeric if j != jx]
            if not numeric:
                raise DataError(
                    f"{p.name} needs two numeric columns (x and y); found only {header[jx]!r}."
                )
            jy = numeric[0]

    xs: list[float] = []
    ys: list[float] = []
    for line, cells in body:
        pair = []
        for j in (jx, jy):
            cell = cells[j] if j < len(cells) else ""
            if not cell:
                raise DataError(f"Row {line}, column {header[j]!r} of {p.name} is empty.")
            v = _parse_number(cell)
            if v is None:
                raise DataError(
                    f"Row {line}, column {header[j]!r} of {p.name} is not a number: {cell!r}."
                )
            if not math.isfinite(v):
                raise DataError(
                    f"Row {line}, column {header[j]!r} of {p.name} is not finite: {cell!r}."
                )
            pair.append(v)
        xs.append(pair[0])
        ys.append(pair[1])
    if len(xs) < 2:
        raise DataError(f"{p.name} has {len(xs)} data row(s); a line needs at least 2.")
    return Dataset(
        x=np.array(xs), y=np.array(ys), name=p.name, x_label=header[jx], y_label=header[jy]
    )
