"""Datasets for training: built-in (shipped offline) or a CSV file, split and standardised.

Built-in: scikit-learn's bundled ``digits``, ``breast_cancer``, ``diabetes``, ``iris`` and
``wine`` (no download), and generated ``moons``, ``circles``, ``spirals`` and ``line`` (a noisy
line). A split is seeded; for classes it is stratified; standardisation is fitted on the training
rows only and applied to all three parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError, InputError, printable
from .results import Result

BUILTIN = (
    "digits",
    "breast_cancer",
    "diabetes",
    "iris",
    "wine",
    "moons",
    "circles",
    "spirals",
    "line",
)


@dataclass(frozen=True, eq=False)
class Split(Result):
    """Train, validation and test parts of a dataset.

    Attributes:
        name: the dataset.
        task: ``"classification"`` (integer labels ``0 … k-1``) or ``"regression"``.
        x_train, y_train, x_val, y_val, x_test, y_test: the parts (features float32).
        features: feature names; ``classes``: class names (classification).
        mean, scale: the standardisation fitted on the training rows (identity when off).
        seed: the seed of the split.
        source, target: what :func:`load` was given, so the split can be made again.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    seed: int
    source: str = ""
    target: str | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Classes for classification, 1 for regression."""
        return len(self.classes) if self.task == "classification" else 1

    def describe(self) -> str:
        kind = f"{len(self.classes)} classes" if self.task == "classification" else "regression"
        return (
            f"{self.name}: {self.n_features} features, {kind}; {len(self.x_train)} train, "
            f"{len(self.x_val)} validation, {len(self.x_test)} test rows"
        )


def _spirals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = n // 2
    t = np.sqrt(rng.uniform(0, 1, k)) * 3 * np.pi
    arm = np.column_stack([t * np.cos(t), t * np.sin(t)]) / (3 * np.pi)
    x = np.vstack([arm, -arm]) + rng.normal(0, 0.03, (2 * k, 2))
    return x, np.repeat([0, 1], k)


def _builtin(
    name: str, seed: int
) -> tuple[np.ndarray, np.ndarray, str, tuple[str, ...], tuple[str, ...]]:
    """``(x, y, task, features, classes)``."""
    from sklearn import datasets as sk

    loaders = {
        "digits": sk.load_digits, "breast_cancer": sk.load_breast_cancer,
        "diabetes": sk.load_diabetes, "iris": sk.load_iris, "wine": sk.load_wine,
    }  # fmt: skip
    if name in loaders:
        d = loaders[name]()
        feats = tuple(str(f) for f in getattr(d, "feature_names", range(d.data.shape[1])))
        if name == "diabetes":
            return d.data, d.target.astype(float), "regression", feats, ()
        classes = tuple(str(c) for c in getattr(d, "target_names", np.unique(d.target)))
        return d.data, d.target, "classification", feats, classes
    if name == "moons":
        x, y = sk.make_moons(n_samples=1000, noise=0.2, random_state=seed)
    elif name == "circles":
        x, y = sk.make_circles(n_samples=1000, noise=0.1, factor=0.5, random_state=seed)
    elif name == "spirals":
        x, y = _spirals(1000, seed)
    else:  # line
        rng = np.random.default_rng(seed)
        x = rng.uniform(0, 10, (200, 1))
        return x, 2.0 * x[:, 0] + 8.0 + rng.normal(0, 2.0, 200), "regression", ("x",), ()
    return x, y, "classification", ("x1", "x2"), ("0", "1")


def _from_csv(
    path: Path, target: str | None
) -> tuple[np.ndarray, np.ndarray, str, tuple[str, ...], tuple[str, ...]]:
    """Features and target of a CSV file, read by gradscape's one reader
    (:func:`gradscape.data.read_table`: caps, encodings, delimiters, row and column in every
    error, names safe to print)."""
    from .data import quoted, read_table

    table = read_table(path)
    if target is None:
        raise DataError(
            f"Say which column of {table.name} to predict: --target COLUMN (one of "
            f"{table.columns_text()})."
        )
    ti = table.column(target, "the target")
    feature_columns = [j for j in range(table.width) if j != ti]
    if not feature_columns:
        raise DataError(
            f"{table.name} has only the target column {quoted(table.header[ti])}; training needs at "
            "least one feature column beside it."
        )
    for line, cells in table.rows:
        if len(cells) != table.width:
            raise DataError(
                f"Row {line} of {table.name} has {len(cells)} cells; the header has {table.width}."
            )
    x = np.column_stack([table.numbers(j) for j in feature_columns])
    labels = [cells[ti] for _, cells in table.rows]
    feats = [table.label(j) for j in feature_columns]
    try:
        y = np.array([float(v) for v in labels])
        numeric = True
    except ValueError:
        numeric = False
    if numeric and not np.all(y == np.round(y)):
        return x, y, "regression", tuple(feats), ()
    names = sorted(set(labels), key=lambda v: (float(v), v) if numeric else (0.0, v))
    if len(names) > max(20, len(labels) // 10) and numeric:
        return x, y, "regression", tuple(feats), ()
    index = {v: i for i, v in enumerate(names)}
    classes = tuple(printable(v) for v in names)  # shown on terminals: no control characters
    return x, np.array([index[v] for v in labels]), "classification", tuple(feats), classes


def load(
    source: str | Path,
    *,
    target: str | None = None,
    val: float = 0.2,
    test: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
) -> Split:
    """A dataset, split into train / validation / test and standardised on train.

    Args:
        source: a built-in name (:data:`BUILTIN`) or a CSV path.
        target: the CSV column to predict (integer or text labels: classification; other
            numbers: regression).
        val, test: shares of the rows for validation and test.
        seed: seeds the split (and generated data).
        standardize: subtract the training mean and divide by the training standard deviation.

    Raises:
        DataError: missing file or target column, non-numeric features, a class with too few
            rows to appear in every part.
    """
    from sklearn.model_selection import train_test_split

    for what, v in (("val", val), ("test", test)):
        if not (isinstance(v, int | float) and 0 < v < 1):
            raise InputError(f"{what} must be a share between 0 and 1; got {v!r}.")
    if val + test >= 0.9:
        raise InputError(f"val + test must leave at least 10% for training; got {val + test:g}.")
    name = str(source)
    if name in BUILTIN:
        x, y, task, feats, classes = _builtin(name, seed)
    elif name.endswith(".csv") or Path(name).exists():
        x, y, task, feats, classes = _from_csv(Path(name), target)
        name = Path(name).stem
    else:
        raise DataError(
            f"Unknown dataset {name!r}; the built-in ones are {', '.join(BUILTIN)}, or give a CSV file."
        )
    n = len(y)
    if n < 10:
        raise DataError(f"{name} has {n} rows; at least 10 are needed to split it three ways.")
    strat = None
    if task == "classification":
        counts = np.bincount(y.astype(int), minlength=len(classes))
        need = max(3, math.ceil(1 / min(val, test)))
        low = int(np.argmin(counts))
        if counts[low] < need:
            raise DataError(
                f"class {classes[low]!r} of {name} has {int(counts[low])} rows; each class needs "
                f"at least {need} to appear in train, validation and test."
            )
        strat = y
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test, random_state=seed, stratify=strat
    )
    strat_rest = y_rest if task == "classification" else None
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val / (1 - test), random_state=seed + 1, stratify=strat_rest
    )
    mean = x_train.mean(axis=0) if standardize else np.zeros(x.shape[1])
    scale = x_train.std(axis=0) if standardize else np.ones(x.shape[1])
    scale = np.where(scale > 0, scale, 1.0)
    f = lambda a: ((a - mean) / scale).astype(np.float32)  # noqa: E731
    ytype = np.int32 if task == "classification" else np.float32
    return Split(
        name=name, task=task,
        x_train=f(x_train), y_train=y_train.astype(ytype), x_val=f(x_val), y_val=y_val.astype(ytype),
        x_test=f(x_test), y_test=y_test.astype(ytype), features=feats, classes=classes,
        mean=mean, scale=scale, seed=seed, target=target,
        source=str(source) if str(source) in BUILTIN else str(Path(source).resolve()),
    )  # fmt: skip
