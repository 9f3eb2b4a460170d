"""Datasets for training: built-in (shipped offline) or a CSV file, split and standardised.

Built-in: scikit-learn's bundled ``digits``, ``breast_cancer``, ``diabetes``, ``iris`` and
``wine`` (no download), and generated ``moons``, ``circles``, ``spirals`` and ``line`` (a noisy
line). A file is read by :func:`gradscape.tables.read_table`, the reader the tour uses too. A split is seeded; for classes it is stratified; standardisation is fitted on the training
rows only and applied to all three parts.

The split seed (which rows go where, and the generated data) is separate from the seed of a
network's initial weights, so two runs that differ only in their initialisation see the same
rows: :meth:`Split.fingerprint` names the data a run saw. Whether the target is a class label or a
number is decided here, said in :attr:`Split.task_reason`, and can be forced with ``task=``. Data
that cannot be trained on (a NaN or infinite target, one class, no feature column) is refused.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import datasets as sk
from sklearn.model_selection import train_test_split

from ..errors import DataError, InputError, printable
from ..results import Result
from ..tables import quoted, read_table

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
TASKS = ("classification", "regression")
#: File endings read as a data file even when the file is missing (so the error says so).
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
#: Seeds are whole numbers in [0, 2**32): what NumPy's and scikit-learn's generators accept.
SEED_LIMIT = 2**32
#: Most classes a numeric target may be forced into with ``task="classification"``.
MAX_CLASSES = 1000
_MISSING = {"", "nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}


def check_seed(seed: object, what: str = "seed") -> int:
    """``seed`` as an int, or an :class:`InputError` naming the range ``0 … 2**32 - 1``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise InputError(f"{what} must be a whole number from 0 to {SEED_LIMIT - 1}; got {seed!r}.")
    if not 0 <= int(seed) < SEED_LIMIT:
        raise InputError(f"{what} must be a whole number from 0 to {SEED_LIMIT - 1}; got {seed}.")
    return int(seed)


@dataclass(frozen=True, eq=False)
class Split(Result):
    """Train, validation and test parts of a dataset.

    Attributes:
        name: the dataset.
        task: ``"classification"`` (integer labels ``0 … k-1``) or ``"regression"``.
        x_train, y_train, x_val, y_val, x_test, y_test: the parts (features float32).
        features: feature names; ``classes``: class names (classification).
        mean, scale: the standardisation fitted on the training rows (identity when off).
        seed: the seed of the split (and of generated data), not of any network's weights.
        source, target: what :func:`load` was given, so the split can be made again;
            ``val``, ``test``, ``standardize`` likewise.
        task_reason: why the target was read as classes or as numbers.
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
    val: float = 0.2
    test: float = 0.2
    standardize: bool = True
    task_reason: str = ""

    def fingerprint(self) -> str:
        """A short hash of the rows in each part (features and targets): two runs trained on the
        same data split have the same fingerprint."""
        h = hashlib.sha256()
        for part in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
            a = np.ascontiguousarray(getattr(self, part))
            h.update(f"{part}{a.shape}{a.dtype.str}".encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

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
            f"{len(self.x_val)} validation, {len(self.x_test)} test rows (split seed {self.seed})"
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
    """Features and target of a data file, read by gradscape's one reader
    (:func:`gradscape.tables.read_table`: caps, encodings, separators, comments, row and column
    in every error, names safe to print). Every column but the target is a feature."""
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
    labels = table.texts(ti)
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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _class_name(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _auto_reason(y: np.ndarray, task: str, classes: tuple[str, ...], what: str) -> str:
    """Why the reader took the target as classes or as numbers."""
    if task == "classification":
        if all(_is_number(c) for c in classes):
            return (
                f"{what} holds {len(classes)} distinct whole numbers, read as classes "
                "; --task regression or task='regression' fits them as numbers"
            )
        return f"{what} holds text labels: {len(classes)} classes"
    finite = y[np.isfinite(y)]
    if finite.size and np.all(finite == np.round(finite)):
        return (
            f"{what} holds {np.unique(finite).size} distinct whole numbers, too many for classes: "
            "read as numbers; --task classification reads them as classes"
        )
    return f"{what} holds numbers that are not whole: read as numbers"


def _choose_task(
    y: np.ndarray,
    task: str,
    classes: tuple[str, ...],
    requested: str | None,
    what: str,
    builtin: bool,
) -> tuple[np.ndarray, str, tuple[str, ...], str]:
    """The target as classes or numbers: the reader's choice, or the one ``requested``, with the
    reason in words. Returns ``(y, task, classes, reason)``."""
    if requested is None:
        reason = f"a built-in {task} dataset" if builtin else _auto_reason(y, task, classes, what)
        return y, task, classes, reason
    if requested not in TASKS:
        raise InputError(f"task must be classification or regression; got {requested!r}.")
    if requested == task:
        return y, task, classes, "as asked"
    if requested == "regression":
        if not all(_is_number(c) for c in classes):
            shown = ", ".join(repr(c) for c in classes[:4]) + (", ..." if len(classes) > 4 else "")
            raise InputError(
                f"{what} holds text labels ({shown}), not numbers; it cannot be a regression "
                "target."
            )
        values = np.array([float(c) for c in classes])
        return values[np.asarray(y, int)], "regression", (), "as asked"
    if not np.all(np.isfinite(y)):  # left as numbers for the check that names the rows
        return y, "regression", (), "as asked"
    values = np.unique(y)
    if values.size > MAX_CLASSES:
        raise InputError(
            f"{what} holds {values.size} distinct values; as classes it may have at most "
            f"{MAX_CLASSES} (MAX_CLASSES). Fit it as numbers (task regression) or bin it first."
        )
    names = tuple(_class_name(v) for v in values)
    return np.searchsorted(values, y), "classification", names, "as asked"


def _check_trainable(
    x: np.ndarray, y: np.ndarray, task: str, classes: tuple[str, ...], name: str, what: str
) -> None:
    """Refuse data no model can be trained on, with what to do about it."""
    n = len(y)
    if x.ndim != 2 or x.shape[1] == 0:
        raise DataError(
            f"{name} has no feature column, only the target{what.removeprefix('target')}; "
            "add the columns to predict it from."
        )
    if not np.all(np.isfinite(x)):
        raise DataError(f"{name} has NaN or infinite feature values; clean them first.")
    if task == "regression":
        bad = np.flatnonzero(~np.isfinite(np.asarray(y, np.float64)))
        if bad.size:
            raise DataError(
                f"{bad.size} of {n} rows of {name} have a NaN or infinite {what} (the first is "
                f"data row {bad[0] + 1}); remove or fill those rows."
            )
        if n and np.ptp(y) == 0:
            raise DataError(
                f"The {what} of {name} is {float(y[0]):g} in every row; there is nothing to learn."
            )
        return
    missing = [c for c in classes if c.strip().lower() in _MISSING]
    if missing:
        rows = int(np.isin(y, [classes.index(c) for c in missing]).sum())
        raise DataError(
            f"{rows} of {n} rows of {name} have a missing or non-finite {what} ({missing[0]!r}); "
            "remove or fill those rows."
        )
    seen = np.unique(np.asarray(y, int))
    if len(classes) < 2 or seen.size < 2:
        shown = f" ({classes[int(seen[0])]!r})" if seen.size and 0 <= seen[0] < len(classes) else ""
        raise DataError(
            f"The {what} of {name} has one class{shown}; classification needs at least two."
        )


def load(
    source: str | Path,
    *,
    target: str | None = None,
    val: float = 0.2,
    test: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    task: str | None = None,
) -> Split:
    """A dataset, split into train / validation / test and standardised on train.

    Args:
        source: a built-in name (:data:`BUILTIN`) or a CSV path.
        target: the CSV column to predict (integer or text labels: classification; other
            numbers: regression). A built-in dataset has its own target: naming one is refused.
        val, test: shares of the rows for validation and test.
        seed: the split seed: which rows go to which part (and the generated data of
            ``moons``, ``circles``, ``spirals``, ``line``); a network's initial weights have
            their own seed (``train(seed=...)``). A whole number in ``[0, 2**32)``.
        standardize: subtract the training mean and divide by the training standard deviation.
        task: ``"classification"`` or ``"regression"`` to override the choice made from the
            target's values (said in :attr:`Split.task_reason`).

    Raises:
        DataError: missing file or target column, non-numeric features, no feature column, a
            NaN or infinite target, one class only, a constant numeric target, a class with too
            few rows to appear in every part.
        InputError: bad shares, seed or task; a target with a built-in dataset.
    """

    seed = check_seed(seed, "The split seed")
    for share, v in (("val", val), ("test", test)):
        if isinstance(v, bool) or not (isinstance(v, int | float) and 0 < v < 1):
            raise InputError(f"{share} must be a share between 0 and 1; got {v!r}.")
    if val + test >= 0.9:
        raise InputError(f"val + test must leave at least 10% for training; got {val + test:g}.")
    if task is not None and task not in TASKS:
        raise InputError(f"task must be classification or regression; got {task!r}.")
    name = str(source)
    builtin = name in BUILTIN
    if builtin:
        if target is not None:
            raise InputError(
                f"{name} is a built-in dataset with its own target; target "
                f"{printable(target, 60)!r} names a CSV file's column: drop it, or give a CSV file."
            )
        x, y, auto, feats, classes = _builtin(name, seed)
    elif Path(name).suffix.lower() in DATA_SUFFIXES or Path(name).exists():
        x, y, auto, feats, classes = _from_csv(Path(name), target)
        name = Path(name).stem
    else:
        raise DataError(
            f"Unknown dataset {name!r}; the built-in ones are {', '.join(BUILTIN)}, or give a CSV file."
        )
    what = f"target {target!r}" if target is not None else "target"
    y, task, classes, reason = _choose_task(np.asarray(y), auto, classes, task, what, builtin)
    x = np.asarray(x, np.float64)
    _check_trainable(x, y, task, classes, name, what)
    n = len(y)
    if n < 10:
        raise DataError(f"{name} has {n} rows; at least 10 are needed to split it three ways.")
    strat = None
    if task == "classification":
        counts = np.bincount(y.astype(int), minlength=len(classes))
        need = max(3, math.ceil(1 / min(val, test)))
        low = int(np.argmin(counts))
        if counts[low] < need:
            rows = f"{int(counts[low])} row{'s' if counts[low] != 1 else ''}"
            raise DataError(
                f"class {classes[low]!r} of {name} has {rows}; each class needs at least {need} "
                f"to appear in train, validation and test (task classification: {reason})."
            )
        strat = y
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test, random_state=seed, stratify=strat
    )
    strat_rest = y_rest if task == "classification" else None
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val / (1 - test), random_state=(seed + 1) % SEED_LIMIT,
        stratify=strat_rest,
    )  # fmt: skip
    mean = x_train.mean(axis=0) if standardize else np.zeros(x.shape[1])
    scale = x_train.std(axis=0) if standardize else np.ones(x.shape[1])
    scale = np.where(scale > 0, scale, 1.0)

    def f(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / scale).astype(np.float32)

    ytype = np.int32 if task == "classification" else np.float32
    return Split(
        name=name, task=task,
        x_train=f(x_train), y_train=y_train.astype(ytype), x_val=f(x_val), y_val=y_val.astype(ytype),
        x_test=f(x_test), y_test=y_test.astype(ytype), features=feats, classes=classes,
        mean=mean, scale=scale, seed=seed, target=target,
        source=str(source) if builtin else str(Path(source).resolve()),
        val=float(val), test=float(test), standardize=bool(standardize), task_reason=reason,
    )  # fmt: skip
