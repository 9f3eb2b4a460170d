"""The NIST StRD nonlinear regression problems that ship with gradscape, with certified values.

NIST's Statistical Reference Datasets (public domain) give, for each problem, the model as text,
two starting points, certified parameters and their standard deviations, the residual sum of
squares and the data. The files in ``fitting/nist/`` are as NIST publishes them; this module is
their one reader. NIST writes each model in its own notation (``exp[-b1*x]``, ``arctan``), so
the models are written here once in gradscape's expression language, by hand, and the reader
checks that they name the same parameters as the file.

Example:
    >>> p = problem("Misra1a")
    >>> p.model, p.starts[0], p.n
    ('y = b1*(1 - exp(-b2*x))', {'b1': 500.0, 'b2': 0.0001}, 14)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, listing

_TWO_PI = "2*pi*x"

#: Each problem's model in gradscape's expression language.
MODELS: dict[str, str] = {
    "Misra1a": "y = b1*(1 - exp(-b2*x))",
    "Chwirut2": "y = exp(-b1*x)/(b2 + b3*x)",
    "Chwirut1": "y = exp(-b1*x)/(b2 + b3*x)",
    "Lanczos3": "y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Gauss1": "y = b1*exp(-b2*x) + b3*exp(-(x - b4)^2/b5^2) + b6*exp(-(x - b7)^2/b8^2)",
    "Gauss2": "y = b1*exp(-b2*x) + b3*exp(-(x - b4)^2/b5^2) + b6*exp(-(x - b7)^2/b8^2)",
    "DanWood": "y = b1*x^b2",
    "Misra1b": "y = b1*(1 - (1 + b2*x/2)^(-2))",
    "Kirby2": "y = (b1 + b2*x + b3*x^2)/(1 + b4*x + b5*x^2)",
    "Hahn1": "y = (b1 + b2*x + b3*x^2 + b4*x^3)/(1 + b5*x + b6*x^2 + b7*x^3)",
    "Nelson": "log(y) = b1 - b2*x1*exp(-b3*x2)",
    "MGH17": "y = b1 + b2*exp(-x*b4) + b3*exp(-x*b5)",
    "Lanczos1": "y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Lanczos2": "y = b1*exp(-b2*x) + b3*exp(-b4*x) + b5*exp(-b6*x)",
    "Gauss3": "y = b1*exp(-b2*x) + b3*exp(-(x - b4)^2/b5^2) + b6*exp(-(x - b7)^2/b8^2)",
    "Misra1c": "y = b1*(1 - (1 + 2*b2*x)^(-1/2))",
    "Misra1d": "y = b1*b2*x/(1 + b2*x)",
    "Roszman1": "y = b1 - b2*x - atan(b3/(x - b4))/pi",
    "ENSO": (
        f"y = b1 + b2*cos({_TWO_PI}/12) + b3*sin({_TWO_PI}/12)"
        f" + b5*cos({_TWO_PI}/b4) + b6*sin({_TWO_PI}/b4)"
        f" + b8*cos({_TWO_PI}/b7) + b9*sin({_TWO_PI}/b7)"
    ),
    "MGH09": "y = b1*(x^2 + x*b2)/(x^2 + x*b3 + b4)",
    "MGH10": "y = b1*exp(b2/(x + b3))",
}

#: NIST's level of difficulty for each problem.
DIFFICULTY: dict[str, str] = {
    **dict.fromkeys(["Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2"], "lower"),
    **dict.fromkeys(["DanWood", "Misra1b"], "lower"),
    **dict.fromkeys(
        ["Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3"], "average"
    ),
    **dict.fromkeys(["Misra1c", "Misra1d", "Roszman1", "ENSO"], "average"),
    **dict.fromkeys(["MGH09", "MGH10"], "higher"),
}

NAMES: tuple[str, ...] = tuple(MODELS)


@dataclass(frozen=True)
class Problem:
    """One NIST StRD problem as published.

    Attributes:
        name: e.g. ``"Misra1a"``.
        model: the model in gradscape's expression language.
        difficulty: NIST's level: ``"lower"``, ``"average"`` or ``"higher"``.
        data: column name → values, shape ``(n,)`` each (``y`` and ``x`` or ``x1, x2``).
        texts: the same cells as written in the file (exact decimals).
        starts: NIST's two starting points, parameter → value.
        certified: the certified parameter values.
        certified_se: their certified standard deviations.
        certified_sse: the certified residual sum of squares.
    """

    name: str
    model: str
    difficulty: str
    data: dict[str, np.ndarray]
    texts: dict[str, tuple[str, ...]]
    starts: tuple[dict[str, float], dict[str, float]]
    certified: dict[str, float]
    certified_se: dict[str, float]
    certified_sse: float

    @property
    def n(self) -> int:
        """Number of observations."""
        return len(next(iter(self.data.values())))

    def table(self) -> Any:
        """The data as a :class:`gradscape.tables.Table` of NIST's own cells, as if read from a
        file: :func:`gradscape.fit` then computes with the decimals as written."""
        from ..tables import WHITESPACE, Dialect, Table

        cols = list(self.texts)
        rows = [
            (i + 1, list(r)) for i, r in enumerate(zip(*(self.texts[c] for c in cols), strict=True))
        ]
        dialect = Dialect("ascii", WHITESPACE, True, "NIST's column names")
        return Table(path=Path(f"{self.name}.dat"), header=tuple(cols), rows=rows, dialect=dialect)

    def write_csv(self, path: str | Path) -> Path:
        """Write the data as a CSV file with a header, every cell as NIST wrote it."""
        cols = list(self.texts)
        lines = [",".join(cols)]
        lines += [",".join(row) for row in zip(*(self.texts[c] for c in cols), strict=True)]
        p = Path(path)
        p.write_text("\n".join(lines) + "\n", encoding="ascii")
        return p


_PARAM = re.compile(r"^\s*(b\d+)\s*=\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


@cache
def problem(name: str) -> Problem:
    """The NIST problem ``name`` (one of :data:`NAMES`), read from its published file.

    Raises:
        InputError: an unknown name (the known ones listed).
    """
    if name not in MODELS:
        raise InputError(f"No NIST problem {name!r}; the problems are {listing(NAMES, 30)}.")
    text = resources.files(__package__).joinpath(f"nist/{name}.dat").read_text("ascii")
    lines = text.splitlines()
    starts: tuple[dict[str, float], dict[str, float]] = ({}, {})
    certified: dict[str, float] = {}
    se: dict[str, float] = {}
    sse = float("nan")
    data_at = -1
    for i, line in enumerate(lines):
        m = _PARAM.match(line)
        if m:
            b = m.group(1)
            starts[0][b], starts[1][b] = float(m.group(2)), float(m.group(3))
            certified[b], se[b] = float(m.group(4)), float(m.group(5))
        elif line.startswith("Residual Sum of Squares:"):
            sse = float(line.split(":")[1])
        elif line.startswith("Data:") and "Response" not in line:
            data_at = i
    columns = lines[data_at].split(":")[1].split()
    cells = [ln.split() for ln in lines[data_at + 1 :] if ln.strip()]
    texts = {c: tuple(row[j] for row in cells) for j, c in enumerate(columns)}
    data = {c: np.array([float(v) for v in texts[c]]) for c in columns}
    return Problem(
        name=name,
        model=MODELS[name],
        difficulty=DIFFICULTY[name],
        data=data,
        texts=texts,
        starts=starts,
        certified=certified,
        certified_se=se,
        certified_sse=sse,
    )


def digits(got: float, certified: float) -> float:
    """Correct significant digits, ``-log10(|got − certified| / |certified|)``, capped at 15
    (an exact match) and 0 for anything not finite."""
    if not np.isfinite(got):
        return 0.0
    if got == certified:
        return 15.0
    return float(min(15.0, max(0.0, -np.log10(abs(got - certified) / abs(certified)))))
