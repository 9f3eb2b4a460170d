"""Shared reference problems for the tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

import gradscape as gs

# Deterministic property tests: the same examples on every run and machine, no example database.
settings.register_profile("gradscape", derandomize=True, database=None, print_blob=True)
settings.load_profile("gradscape")


def unscaled_line(n: int = 200, seed: int = 3) -> gs.Dataset:
    """x in the hundreds: a badly conditioned SSE bowl (κ ~ 1e5)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(100.0, 200.0, n)
    return gs.Dataset(x=x, y=3.0 * x - 40.0 + rng.normal(0.0, 15.0, n), name="unscaled")


def year_line(seed: int = 4) -> gs.Dataset:
    """x = calendar years: κ ~ 1e11, beyond plain GD on (m, c)."""
    rng = np.random.default_rng(seed)
    x = np.arange(1980.0, 2021.0)
    return gs.Dataset(x=x, y=0.02 * (x - 1980) + 14.0 + rng.normal(0, 0.1, x.size), name="years")


@pytest.fixture
def line() -> gs.Dataset:
    return gs.synthetic_line(n=40, seed=7)


@pytest.fixture
def sse(line: gs.Dataset) -> gs.Objective:
    return gs.sse_objective(line)


def polyfit(data: gs.Dataset) -> tuple[float, float]:
    """NumPy's least-squares line: the independent reference for (m, c)."""
    m, c = np.polyfit(data.x, data.y, 1)
    return float(m), float(c)
