"""A fair race between optimizers: the same tuning budget over the learning rate, the same starts.

Each optimizer tries the same number of learning rates (``budget``) on one seeded set of starts
(the tuning set): first about two thirds of them (at least three) log-spaced around its own
default, then the rest where the first ones point: beyond the edge of the range when the best
rate sits on it (so the range ends up holding the best rate inside it), else between the best
rate and its better neighbour (a budget of up to 3 is all first round: nothing is widened; a
budget of 1 runs the default rate only). The rate with the highest success rate (then the fewest steps,
then the smallest median final gap, a diverged start's gap counted as infinite) is kept and
judged on a second, separate set of starts (the test set), so one lucky rate on one lucky start
cannot win. When the best rate is still at an edge of all the rates tried, the race says so.
Success: the run reached the global minimum at some step, its gap ``f − f*`` within ``tol`` times
the median gap at the tuning starts (the share of the way down it has left): relative, so that
``c·f + d`` races like ``f`` for any scale ``c`` and offset ``d`` (an absolute target counted every
start of ``1e-9·rastrigin`` a success before its first step, and no run of ``1e9·rosenbrock``). Reported per optimizer: the learning rate chosen, the success rate, the median number
of steps the successful runs took to get there, how many test starts diverged, and the median
final gap ``f − f*`` over the others (a diverged start has no final value, so an infinite gap
would say nothing but "more than half diverged").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._x64 import with_x64
from .batches import (
    _batch_lr,
    check_memory,
    check_time_limit,
    duration,
    minimize_many,
    seconds_per_step,
)
from .box_search import box_dict, check_starts, search_box
from .engine import DIVERGED, batch_value_and_grad, default_gtol
from .errors import InputError, whole_number
from .executors import ChunkStore
from .multistarts import multistart
from .objectives import Objective
from .optimizers import NAMES, optimizer
from .results import Result, finite, integers, need, shaped, within
from .sources import objective

#: Learning rates of the first round per optimizer, as multiples of its default (log-spaced).
SPAN = (1e-2, 1e1)
#: Most tuning runs (learning rates × starts) per optimizer.
MAX_RUNS = 1_000_000


@dataclass(frozen=True, eq=False)
class Race(Result):
    """The outcome of :func:`race`.

    Attributes:
        names: variables; ``lo``, ``hi``: the box.
        optimizers: in the order raced.
        lrs: per optimizer, the learning rates tried, ascending (empty for L-BFGS, which sets
            its own).
        tune_success: per optimizer, the success rate on the tuning starts for each rate tried.
        lr: the rate chosen per optimizer (``None`` for L-BFGS).
        edge: per optimizer, ``"largest"`` or ``"smallest"`` when the chosen rate is at that
            edge of the rates tried (a rate beyond it might do better), else ``None``.
        search: per optimizer, how its rates were placed: ``"default"`` (a budget of 1: its
            default rate only), ``"one round"`` (every rate log-spaced in the first round),
            ``"widened up"`` / ``"widened down"`` (the rest beyond the edge the best sat on),
            ``"refined"`` (the rest around the best) or ``"line search"`` (L-BFGS).
        success: success rate on the test starts; ``median_steps``: of the successful runs
            (NaN when none); ``diverged``: test starts that diverged; ``median_gap``: median
            final ``f − f*`` over the test starts that did not diverge (NaN when all did).
        minimum: ``f*``; ``minimum_source``: where it came from.
        starts, budget, max_steps, tol, seed: the rules; ``success_gap``: the gap ``f − f*``
            that counts as reached (``tol`` times the median gap at the tuning starts).
        function, formula: the function raced on (its signature ``f(x, y)`` and formula), so a
            saved result says what it is of.
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
    diverged: np.ndarray | None = None
    edge: tuple[str | None, ...] = ()
    success_gap: float = math.nan
    search: tuple[str, ...] = ()
    function: str = ""
    formula: str | None = None

    def check(self) -> None:
        """Its fields agree (see :meth:`gradscape.results.Result.check`): per optimizer its
        rates, tuning and test outcomes; rates of success from 0 to 1; the box's sides."""
        k, d = len(self.optimizers), len(self.names)
        need(k >= 1, "optimizers is empty")
        for name in ("success", "median_steps", "median_gap"):
            shaped(name, getattr(self, name), k)
        within("success", self.success, 0, 1)
        steps = self.median_steps[~np.isnan(self.median_steps)]
        within("median_steps", steps, 0, self.max_steps)
        need(not np.any(np.isinf(self.median_gap)), "median_gap holds infinite values")
        need(np.array_equal(self.success > 0, ~np.isnan(self.median_steps)),
             "median_steps is not given exactly where some start succeeded")  # fmt: skip
        need(math.isfinite(self.minimum), f"minimum is {self.minimum}, not a number")
        need(math.isfinite(self.tol) and self.tol > 0, f"tol is {self.tol}, not a number > 0")
        need(math.isnan(self.success_gap) or self.success_gap >= 0,
             f"success_gap is {self.success_gap}, below 0")  # fmt: skip
        need(all(v is None or (math.isfinite(v) and v > 0) for v in self.lr),
             "lr holds a learning rate that is not a number > 0")  # fmt: skip
        if self.diverged is not None:
            shaped("diverged", self.diverged, k)
            integers("diverged", self.diverged)
            within("diverged", self.diverged, 0, self.starts)
        for name in ("lrs", "tune_success", "lr"):
            n = len(getattr(self, name))
            need(n == k, f"{name} has {n} entries for {k} optimizers")
        for i, (tried, tune) in enumerate(zip(self.lrs, self.tune_success, strict=True)):
            need(len(tried) == len(tune), f"tune_success[{i}] has {len(tune)} entries for "
                 f"{len(tried)} learning rates")  # fmt: skip
            within(f"tune_success[{i}]", tune, 0, 1)
            finite(f"lrs[{i}]", np.asarray(tried, np.float64))
        for name in ("edge", "search"):
            n = len(getattr(self, name))
            need(n in (0, k), f"{name} has {n} entries for {k} optimizers")
        shaped("lo", self.lo, d)
        shaped("hi", self.hi, d)
        finite("lo", self.lo)
        finite("hi", self.hi)
        need(np.all(self.lo < self.hi), "lo is not below hi")
        for name in ("starts", "budget", "max_steps"):
            need(getattr(self, name) >= 1, f"{name} is {getattr(self, name)}, below 1")

    def tuning_rule(self) -> str:
        """How each optimizer's learning rate was chosen and judged, in words true for this
        budget (nothing is widened by a budget of up to 3, nothing tuned by a budget of 1)."""
        starts = f"{self.starts:,} tuning start{'s' * (self.starts != 1)}"
        judged = f"judged on {self.starts:,} other start{'s' * (self.starts != 1)}"
        if self.optimizers == ("lbfgs",):
            return f"L-BFGS sets its own steps by line search (nothing to tune); {judged}"
        if self.budget == 1:
            return (
                f"each optimizer: its default learning rate only (a budget of 1 tunes nothing), "
                f"{judged}"
            )
        first = _first_count(self.budget)
        rule = (
            f"each optimizer: {self.budget} learning rates tried on {starts}, log-spaced from "
            "1/100 to 10 times its default"
            + (" (newton: 0.01 to 1)" if "newton" in self.optimizers else "")
        )
        if first == self.budget:  # every rate in the first round: nothing left to widen
            rule += ", all in one round (a budget of 4 or more widens the range past an edge)"
        else:
            rule += (
                f": {first} first, then {self.budget - first} more beyond the edge the best sat "
                "on, else around the best"
            )
        return f"{rule}; the best {judged}"

    def warnings(self) -> list[str]:
        """What a reader of the results must know: a chosen rate at the edge of the rates
        tried, an optimizer that no rate made succeed, test starts that diverged."""
        out = []
        for i, name in enumerate(self.optimizers):
            tried, tune = self.lrs[i], self.tune_success[i]
            side = self.edge[i] if i < len(self.edge) else None
            if tried and max(tune) == 0:
                which = (
                    f"its one learning rate, {tried[0]:.3g}, reached f* from no tuning start"
                    if len(tried) == 1
                    else f"no learning rate tried ({tried[0]:.3g} to {tried[-1]:.3g}) reached "
                    "f* from any tuning start"
                )
                out.append(f"{name}: {which} within {self.max_steps} steps")
            elif side is not None:
                beyond = "larger" if side == "largest" else "smaller"
                how = self.search[i] if i < len(self.search) else ""
                why = (
                    "even after widening the range"
                    if how.startswith("widened")
                    else f"and the budget of {self.budget} left no rate to widen the range"
                )
                out.append(
                    f"{name}: the best learning rate, {self.lr[i]:.3g}, is the {side} of the "
                    f"{len(tried)} tried ({tried[0]:.3g} to {tried[-1]:.3g}) {why}; a {beyond} "
                    "one might do better"
                )
            if self.diverged is not None and self.diverged[i]:
                out.append(
                    f"{name}: {self.diverged[i]} of {self.starts} test starts diverged at lr "
                    f"{self.lr[i]:.3g}; the median final gap is over the other "
                    f"{self.starts - self.diverged[i]}"
                )
        return out

    def summary(self) -> dict[str, Any]:
        diverged = self.diverged if self.diverged is not None else np.zeros(len(self.optimizers))
        edge = self.edge or (None,) * len(self.optimizers)
        search = self.search or (None,) * len(self.optimizers)
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
                "success_gap": self.success_gap,
                "seed": self.seed,
                "tuning": self.tuning_rule(),
            },
            "results": [
                {
                    "optimizer": name,
                    "lr": lr,
                    "lr_at_edge": side,
                    "lr_search": how,
                    "success_rate": float(s),
                    "median_steps": None if math.isnan(m) else float(m),
                    "diverged": int(d),
                    "median_gap": None if math.isnan(g) else float(g),
                    "median_gap_over": self.starts - int(d),
                    "tuning": [
                        {"lr": a, "success_rate": b} for a, b in zip(lrs, tune, strict=True)
                    ],
                }
                for name, lr, side, how, s, m, d, g, lrs, tune in zip(
                    self.optimizers, self.lr, edge, search, self.success, self.median_steps,
                    diverged, self.median_gap, self.lrs, self.tune_success, strict=True,
                )
            ],
            "warnings": self.warnings(),
        }  # fmt: skip


@dataclass(frozen=True)
class _Score:
    """One learning rate on one set of starts."""

    success: float
    steps: float  # median steps of the successful runs (NaN: none)
    diverged: int
    gap: float  # median final gap over the starts that did not diverge (NaN: all did)
    gap_all: float  # median final gap over all starts, a diverged one's gap infinite

    def key(self) -> tuple[float, float, float, int]:
        """Larger is better: most successes, then fewest steps, then the smallest median gap
        (a few diverged starts move the median little, most of them make it infinite), then
        fewest diverged."""
        return (
            self.success,
            -self.steps if math.isfinite(self.steps) else -math.inf,
            -self.gap_all,
            -self.diverged,
        )


def _scores(batch: Any, fmin: float, groups: int) -> list[_Score]:
    """Scores of ``groups`` equal consecutive groups of the batch's starts (one per rate)."""
    out = []
    for hit, values, status in zip(
        np.split(batch.hit, groups), np.split(batch.values, groups),
        np.split(batch.status, groups), strict=True,
    ):  # fmt: skip
        ok = hit >= 0
        alive = (status != DIVERGED) & np.isfinite(values)
        out.append(
            _Score(
                success=float(ok.mean()),
                steps=float(np.median(hit[ok])) if ok.any() else math.nan,
                diverged=int(np.sum(~alive)),
                gap=float(np.median(values[alive] - fmin)) if alive.any() else math.nan,
                gap_all=float(np.median(np.where(alive, values - fmin, np.inf))),
            )
        )
    return out


def _first_rates(name: str, default: float, count: int) -> tuple[list[float], float]:
    """The first round of rates and the ratio between neighbours (to step beyond an edge)."""
    lo, hi = (1e-2, 1.0) if name == "newton" else (default * SPAN[0], default * SPAN[1])
    if name == "newton":  # a full Newton step is the natural top; the widening may pass it
        default = 1.0
    if count == 1:
        return [default], 10.0
    return [float(r) for r in np.geomspace(lo, hi, count)], (hi / lo) ** (1 / (count - 1))


def _first_count(budget: int) -> int:
    """Rates in the first round: about two thirds of the budget, at least three (all of a
    budget of up to 3, which leaves none to widen or refine the range)."""
    return min(budget, max(3, budget - budget // 3))


def _more_rates(tried: dict[float, _Score], ratio: float, count: int) -> tuple[list[float], str]:
    """The rest of the budget, placed by the first round: beyond the edge when the best rate
    sits on it (stepping on by the first round's ratio), else around the best rate (between
    it and its neighbours, the better neighbour's side first). Returns the rates and which
    (``"widened up"``, ``"widened down"`` or ``"refined"``)."""
    rates = sorted(tried)
    best = max(rates, key=lambda r: tried[r].key())
    i = rates.index(best)
    if i == len(rates) - 1:
        return [best * ratio**j for j in range(1, count + 1)], "widened up"
    if i == 0:
        return [best / ratio**j for j in range(1, count + 1)], "widened down"
    toward = 1 if tried[rates[i + 1]].key() > tried[rates[i - 1]].key() else -1
    half = -(-count // 2) + 1
    return [
        best * ratio ** ((toward if j % 2 else -toward) * (-(-j // 2)) / half)
        for j in range(1, count + 1)
    ], "refined"


def success_gap(obj: Objective, starts: np.ndarray, minimum: float, tol: float) -> float:
    """``tol`` times the median gap ``f − f*`` over the starts (those with a finite value)."""
    values, _ = batch_value_and_grad(obj, starts)
    gaps = values[np.isfinite(values)] - minimum
    return tol * max(float(np.median(gaps)), 0.0) if gaps.size else 0.0


def _check_price(
    obj: Objective, plans: Sequence[tuple[str, list[float | None], float]], tune: np.ndarray,
    budget: int, starts: int, max_steps: int, gtol: float | None, target: float, limit: float,
) -> None:  # fmt: skip
    """Refuse a race whose worst case (every run to its step budget) passes ``limit`` seconds,
    priced by timing each optimizer's first round for a few steps (compiled once, for the
    round itself)."""
    total, runs = 0.0, 0
    for name, rates, _ in plans:
        rows = np.tile(tune, (len(rates), 1))
        lr = None if rates == [None] else np.repeat(np.asarray(rates, dtype=float), len(tune))
        per = seconds_per_step(obj, rows, name, lr=lr, max_steps=max_steps, gtol=gtol,
                               target=target)  # fmt: skip
        count = starts * (1 if rates == [None] else budget + 1)  # tuning and test runs
        total += count * max_steps * per
        runs += count
    if total > limit:
        raise InputError(
            f"This race could take up to {duration(total)}: {runs:,} descents ({len(plans)} "
            f"optimizers, {budget} learning rates and a test each, {starts} starts) of up to "
            f"{max_steps:,} steps, at {total / (runs * max_steps) * 1e6:.3g} µs per start and "
            f"step (measured); the cap is {duration(limit)} (time_limit, default "
            "gradscape.batches.TIME_LIMIT): race fewer optimizers, learning rates, starts or steps."
        )


@with_x64
def race(
    obj: Objective | str | Callable[..., Any],
    ranges: Mapping[str, tuple[float, float]] | None = None,
    *,
    optimizers: Sequence[str] = NAMES,
    starts: int = 32,
    budget: int = 6,
    max_steps: int = 1000,
    gtol: float | None = None,
    tol: float = 1e-8,
    minimum: float | None = None,
    seed: int = 0,
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    executor: Any = None,
    store: ChunkStore | None = None,
) -> Race:
    """Race optimizers fairly (see the module docstring).

    Args:
        ranges: the box the starts are drawn from (default: the objective's ranges).
        optimizers: names from the family.
        starts: starts in each of the tuning and test sets (seeded, uniform in the box).
        budget: learning rates tried per optimizer: about two thirds log-spaced from 1/100 to 10
            times its default (gd, momentum, nesterov: ``1/|λ|max`` over the starts; newton:
            1/100 to 1), the rest beyond the edge the best one sits on, or around it.
        tol: success when ``f − f*`` falls to ``tol`` times its median at the tuning starts
            (:func:`success_gap`: a gap of 1e-7 to 1e-4 on the built-in functions' boxes).
        minimum: ``f*`` (default: a built-in function's published minimum, else the best
            found by a multistart of 2,500 Newton descents).
        time_limit: cap on the race's projected seconds (default
            :data:`gradscape.batches.TIME_LIMIT`).
        progress: called as ``progress(descents done, descents in all)`` between segments.
        executor, store: run each round's descents as tasks on a Dask cluster and/or keep
            each finished chunk in a :class:`~gradscape.executors.ChunkStore` (see
            :func:`gradscape.batches.minimize_many`); the race is the same as in process.

    Raises:
        InputError: bad settings; more than :data:`MAX_RUNS` tuning runs per optimizer; results
            or projected time over their caps.
    """
    obj = objective(obj)

    lo, hi = search_box(obj, ranges)
    starts = check_starts(starts)
    budget = whole_number(budget, "learning rates")  # MAX_RUNS caps budget × starts below
    names = [optimizer(m).name for m in optimizers]
    if len(set(names)) != len(names) or not names:
        raise InputError("Race distinct optimizers, at least one.")
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol > 0):
        raise InputError(f"tol must be a number > 0; got {tol!r}.")
    first = _first_count(budget)  # the rest widen or refine the range
    if first * starts > MAX_RUNS:
        raise InputError(
            f"A race's first round runs {first:,} learning rates × {starts:,} starts = "
            f"{first * starts:,} descents per optimizer; the cap is {MAX_RUNS:,} "
            "(gradscape.races.MAX_RUNS): lower the budget or the starts."
        )
    check_memory("A race round", first * starts, obj.n)
    limit = check_time_limit(time_limit)
    began = time.perf_counter()
    if minimum is None:
        f = obj.function
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
    rng = np.random.default_rng(seed)
    tune = rng.uniform(lo, hi, size=(starts, lo.size))
    test = rng.uniform(lo, hi, size=(starts, lo.size))
    if gtol is None:  # one tolerance for every optimizer, set from both sets of starts
        gtol = default_gtol(obj, np.vstack([tune, test]))
    gap = success_gap(obj, tune, minimum, tol)
    target = minimum + gap

    def run(points: np.ndarray, name: str, rates: Sequence[float | None]) -> list[_Score]:
        """Every rate from every point, in one batch (rows grouped by rate)."""
        left = limit - (time.perf_counter() - began)
        if left <= 0:
            raise InputError(
                f"The race has run for its cap of {duration(limit)} (time_limit) before "
                "finishing; race fewer optimizers, starts, learning rates or steps."
            )
        rows = np.tile(points, (len(rates), 1))
        lr = None if rates[0] is None else np.repeat(np.asarray(rates, dtype=float), len(points))
        before = done[0]

        def report(k: int, _: int) -> None:
            if progress is not None:
                progress(before + k, total)

        b = minimize_many(obj, rows, name, lr=lr, max_steps=max_steps, gtol=gtol,
                          target=target, time_limit=left, progress=report, executor=executor,
                          store=store)  # fmt: skip
        done[0] += len(rows)
        return _scores(b, minimum, len(rates))

    # the first round of rates of each optimizer, and the price of the race before it runs
    plans: list[tuple[str, list[float | None], float]] = []
    for name in names:
        if name == "lbfgs":  # its line search sets every step: nothing to tune
            plans.append((name, [None], 0.0))
            continue
        opt = optimizer(name)
        default, _ = _batch_lr(opt, obj, tune) if opt.lr is None else (opt.lr, "")
        rates, ratio = _first_rates(name, float(default or 1.0), first)
        plans.append((name, [*rates], ratio))
    _check_price(obj, plans, tune, budget, starts, max_steps, gtol, target, limit)
    total = sum(starts * (1 if r == [None] else budget + 1) for _, r, _ in plans)
    done = [0]  # descents finished, for the progress report

    rows_out: dict[str, list[Any]] = {
        k: [] for k in ("lrs", "tune", "lr", "edge", "test", "search")
    }
    for name, round_one, ratio in plans:
        if round_one == [None]:
            rows_out["lrs"].append(())
            rows_out["tune"].append(())
            rows_out["lr"].append(None)
            rows_out["edge"].append(None)
            rows_out["search"].append("line search")
            rows_out["test"].append(run(test, name, [None])[0])
        else:
            tried = {r: sc for r, sc in zip(round_one, run(tune, name, round_one), strict=True)
                     if r is not None}  # fmt: skip
            how = "default" if budget == 1 else "one round"
            if budget > first:
                more, how = _more_rates(tried, ratio, budget - first)
                tried.update(zip(more, run(tune, name, list(more)), strict=True))
            order = sorted(tried)
            chosen = max(order, key=lambda r: tried[r].key())
            edge = None
            if len(order) > 1 and chosen in (order[0], order[-1]):
                edge = "largest" if chosen == order[-1] else "smallest"
            rows_out["lrs"].append(tuple(order))
            rows_out["tune"].append(tuple(tried[r].success for r in order))
            rows_out["lr"].append(chosen)
            rows_out["edge"].append(edge)
            rows_out["search"].append(how)
            rows_out["test"].append(run(test, name, [chosen])[0])
    scores = rows_out["test"]
    return Race(
        names=obj.names,
        lo=lo,
        hi=hi,
        optimizers=tuple(names),
        lrs=tuple(rows_out["lrs"]),
        tune_success=tuple(rows_out["tune"]),
        lr=tuple(rows_out["lr"]),
        success=np.array([sc.success for sc in scores]),
        median_steps=np.array([sc.steps for sc in scores]),
        median_gap=np.array([sc.gap for sc in scores]),
        minimum=minimum,
        minimum_source=source,
        starts=starts,
        budget=budget,
        max_steps=max_steps,
        tol=tol,
        success_gap=gap,
        seed=seed,
        diverged=np.array([sc.diverged for sc in scores], dtype=np.int64),
        edge=tuple(rows_out["edge"]),
        search=tuple(rows_out["search"]),
        function=obj.signature(),
        formula=obj.formula,
    )
