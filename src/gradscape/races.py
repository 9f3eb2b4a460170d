"""A fair race between optimizers: the same tuning budget over the learning rate, the same starts.

Each optimizer tries the same number of learning rates, log-spaced around its own default, on one
seeded set of starts (the tuning set); the rate with the highest success rate (then the fewest
steps) is kept and judged on a second, separate set of starts (the test set), so one lucky rate on
one lucky start cannot win. Success: the run reached the global minimum, its value within
``tol·max(1, |f*|)`` of ``f*`` at some step. Reported per optimizer: the learning rate chosen,
the success rate, the median number of steps the successful runs took to get there, and the
median final gap ``f − f*``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .critical import _box, _check_count, box_dict, multistart
from .errors import InputError
from .objectives import Objective
from .optimizers import NAMES, optimizer
from .results import Result
from .runs import _batch_lr, minimize_many

#: Learning rates tried per optimizer, as multiples of its default (log-spaced).
SPAN = (1e-2, 1e1)


@dataclass(frozen=True, eq=False)
class Race(Result):
    """The outcome of :func:`race`.

    Attributes:
        names: variables; ``lo``, ``hi``: the box.
        optimizers: in the order raced.
        lrs: per optimizer, the learning rates tried (empty for L-BFGS, which sets its own).
        tune_success: per optimizer, the success rate on the tuning starts for each rate tried.
        lr: the rate chosen per optimizer (``None`` for L-BFGS).
        success: success rate on the test starts; ``median_steps``: of the successful runs
            (NaN when none); ``median_gap``: median final ``f − f*`` over the test starts.
        minimum: ``f*``; ``minimum_source``: where it came from.
        starts, budget, max_steps, tol, seed: the rules.
    """

    names: tuple[str, ...]
    lo: np.ndarray
    hi: np.ndarray
    optimizers: tuple[str, ...]
    lrs: tuple[tuple[float, ...], ...]
    tune_success: tuple[tuple[float, ...], ...]
    lr: tuple[float | None, ...]
    success: np.ndarray
    median_steps: np.ndarray
    median_gap: np.ndarray
    minimum: float
    minimum_source: str
    starts: int
    budget: int
    max_steps: int
    tol: float
    seed: int

    def summary(self) -> dict[str, Any]:
        return {
            "variables": list(self.names),
            "box": box_dict(self.names, self.lo, self.hi),
            "minimum": self.minimum,
            "minimum_source": self.minimum_source,
            "rules": {
                "starts_tuning": self.starts,
                "starts_test": self.starts,
                "learning_rates_tried": self.budget,
                "max_steps": self.max_steps,
                "success_tol": self.tol,
                "seed": self.seed,
            },
            "results": [
                {
                    "optimizer": name,
                    "lr": lr,
                    "success_rate": float(s),
                    "median_steps": None if math.isnan(m) else float(m),
                    "median_gap": float(g),
                    "tuning": [
                        {"lr": a, "success_rate": b} for a, b in zip(lrs, tune, strict=True)
                    ],
                }
                for name, lr, s, m, g, lrs, tune in zip(
                    self.optimizers,
                    self.lr,
                    self.success,
                    self.median_steps,
                    self.median_gap,
                    self.lrs,
                    self.tune_success,
                    strict=True,
                )
            ],
        }


def _score(batch: Any, fmin: float) -> tuple[float, float, float]:
    ok = batch.hit >= 0
    steps = float(np.median(batch.hit[ok])) if ok.any() else math.nan
    gaps = np.where(np.isfinite(batch.values), batch.values - fmin, np.inf)
    return float(ok.mean()), steps, float(np.median(gaps))


@with_x64
def race(
    obj: Objective,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    *,
    optimizers: Sequence[str] = NAMES,
    starts: int = 32,
    budget: int = 6,
    max_steps: int = 1000,
    gtol: float = 1e-8,
    tol: float = 1e-6,
    minimum: float | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Race:
    """Race optimizers fairly (see the module docstring).

    Args:
        ranges: the box the starts are drawn from (default: the objective's ranges).
        optimizers: names from the family.
        starts: starts in each of the tuning and test sets (seeded, uniform in the box).
        budget: learning rates tried per optimizer, log-spaced from 1/100 to 10 times its
            default (gd, momentum, nesterov: ``1/|λ|max`` over the starts).
        tol: success when the final value is within ``tol·max(1, |f*|)`` of ``f*``.
        minimum: ``f*`` (default: a built-in function's published minimum, else the best
            found by a multistart of 2,500 Newton descents).
    """
    from .functions import lookup

    lo, hi = _box(obj, ranges)
    starts = _check_count("starts", starts)
    budget = _check_count("learning rates", budget)
    names = [optimizer(m).name for m in optimizers]
    if len(set(names)) != len(names) or not names:
        raise InputError("Race distinct optimizers, at least one.")
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol > 0):
        raise InputError(f"tol must be a number > 0; got {tol!r}.")
    if minimum is None:
        f = lookup(obj.label) if obj.expression is not None else None
        if f is not None and f.minimum is not None and f.variables == obj.names:
            minimum, source = float(f.minimum), f"published minimum of {f.name}"
        else:
            ms = multistart(
                obj, dict(zip(obj.names, zip(lo, hi, strict=True), strict=True)), starts=2500
            )
            if not len(ms.values):
                raise InputError("No minimum found in the box to race to; give minimum=.")
            minimum, source = float(ms.values[0]), "lowest of a 2,500-start Newton multistart"
    else:
        source = "given"
    target = minimum + tol * max(1.0, abs(minimum))
    rng = np.random.default_rng(seed)
    tune = rng.uniform(lo, hi, size=(starts, lo.size))
    test = rng.uniform(lo, hi, size=(starts, lo.size))
    rows: dict[str, list[Any]] = {k: [] for k in ("lrs", "tune", "lr", "s", "m", "g")}
    for i, name in enumerate(names):
        opt = optimizer(name)
        if name == "lbfgs":
            grid: list[float | None] = [None]
        else:
            default, _ = _batch_lr(opt, obj, tune) if opt.lr is None else (opt.lr, "")
            factors = np.geomspace(*SPAN, budget) if budget > 1 else np.array([1.0])
            grid = [float(default * f) for f in factors]
            if name == "newton":  # a full Newton step is the largest that makes sense
                grid = [float(g) for g in np.geomspace(1e-2, 1.0, budget)] if budget > 1 else [1.0]
        scores = []
        for lr in grid:
            b = minimize_many(obj, tune, name, lr=lr, max_steps=max_steps, gtol=gtol, target=target)
            scores.append(_score(b, minimum))
        # most successes, then fewest steps to succeed, then the smallest final gap
        best = max(
            range(len(grid)),
            key=lambda j: (scores[j][0], -np.nan_to_num(scores[j][1], nan=np.inf), -scores[j][2]),
        )
        chosen = grid[best]
        b = minimize_many(obj, test, name, lr=chosen, max_steps=max_steps, gtol=gtol, target=target)
        s, m, g = _score(b, minimum)
        rows["lrs"].append(tuple(x for x in grid if x is not None))
        rows["tune"].append(tuple(sc[0] for sc in scores) if grid != [None] else ())
        rows["lr"].append(chosen)
        rows["s"].append(s)
        rows["m"].append(m)
        rows["g"].append(g)
        if progress is not None:
            progress(i + 1, len(names))
    return Race(
        names=obj.names,
        lo=lo,
        hi=hi,
        optimizers=tuple(names),
        lrs=tuple(rows["lrs"]),
        tune_success=tuple(rows["tune"]),
        lr=tuple(rows["lr"]),
        success=np.array(rows["s"]),
        median_steps=np.array(rows["m"]),
        median_gap=np.array(rows["g"]),
        minimum=minimum,
        minimum_source=source,
        starts=starts,
        budget=budget,
        max_steps=max_steps,
        tol=tol,
        seed=seed,
    )
