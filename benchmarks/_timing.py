"""Timing shared by the benchmarks: one call timed, and medians of functions taking turns."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the seconds it took."""
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def medians(fns: list[Callable[[], Any]], repeats: int) -> list[float]:
    """Median seconds of each function over ``repeats`` rounds, the functions taking turns in
    each round (so a busy spell on the machine falls on all of them alike)."""
    secs: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for f, s in zip(fns, secs, strict=True):
            s.append(timed(f)[1])
    return [statistics.median(s) for s in secs]
