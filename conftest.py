"""Doctests in ``src`` run with ``gs`` (gradscape) and ``np`` (NumPy) already imported, the way
the README writes them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradscape as gs


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, Any]) -> None:
    doctest_namespace.update(gs=gs, np=np)
