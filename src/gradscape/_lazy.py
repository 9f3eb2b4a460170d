"""``lazy``: an attribute computed on first use and kept on the instance, without a shared lock.

Python 3.11's :class:`functools.cached_property` holds ONE lock per property for the whole class:
while one instance computes it (a symbolic Hessian, a compile), the same property of every other
instance waits, so one slow request stalled every other one in the web server. ``lazy`` keeps a
lock per instance and property instead: a second thread asking the same instance waits for the
first (the work is done once), other instances go ahead at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

_LOCKS = "_lazy_locks"  # the instance's {attribute: lock}, in its __dict__


class lazy(Generic[T]):
    """Like :class:`functools.cached_property` (the value is stored in the instance's
    ``__dict__``, frozen dataclasses included), with a lock per instance, not per class."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> lazy[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | lazy[T]:
        if instance is None:
            return self
        d = instance.__dict__
        if self.name in d:
            return d[self.name]  # type: ignore[no-any-return]
        # dict.setdefault is atomic: two threads get the same lock.
        lock = d.setdefault(_LOCKS, {}).setdefault(self.name, threading.RLock())
        with lock:
            if self.name not in d:
                d[self.name] = self.func(instance)
            return d[self.name]  # type: ignore[no-any-return]
