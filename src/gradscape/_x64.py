"""Scoped float64: analytic functions and small problems are computed in double precision.

JAX defaults to float32. Rather than flip the global flag behind the user's back, every engine
entry point runs inside :func:`x64`, and results leave as NumPy float64 arrays.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def x64() -> Iterator[None]:
    """Run the enclosed JAX code with 64-bit floats enabled."""
    import jax

    with jax.enable_x64(True):
        yield


def with_x64(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator: run ``fn`` inside :func:`x64`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with x64():
            return fn(*args, **kwargs)

    return wrapper
