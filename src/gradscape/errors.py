"""Exceptions raised by gradscape.

Every error a user can cause subclasses :class:`GradscapeError` and also the matching built-in
(`ValueError` or `TypeError`), so ``except ValueError`` keeps working. Messages are one line that
says what is wrong and how to fix it; the CLI prints them as ``gradscape: error: <message>``.
"""

from __future__ import annotations

import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence

#: Unicode categories never shown raw: controls (ESC, BEL, CSI …), format marks (bidi
#: overrides), line and paragraph separators. A terminal would act on them instead of showing.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: object, limit: int | None = 200, keep: str = "") -> str:
    r"""``text`` safe to echo to a terminal: every control character escaped, length capped.

    Everything a user's file or argument puts in front of a terminal (column names, file names,
    cell contents) goes through this one function, so a header such as
    ``"\x1b]0;PWNED\x07"`` is shown as the text ``\x1b]0;PWNED\x07`` instead of retitling the
    window. Printable characters, accents and other scripts are kept.

    Args:
        text: anything; it is converted with ``str``.
        limit: at most this many characters are kept (then ``…``); None keeps all.
        keep: control characters to leave as they are (the CLI's output stream keeps
            newlines and tabs).

    Example:
        >>> printable("a\x1b[31mb")
        'a\\x1b[31mb'
    """
    s = str(text)
    if limit is not None and len(s) > limit:
        return printable(s[:limit], None, keep) + "…"
    if s.isascii() and all(c in keep for c in _ASCII_CONTROL.findall(s)):
        return s  # the common case, without a look at every character
    out = []
    for ch in s:
        if ch == " " or ch in keep or unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


#: Most items :func:`listing` shows before it cuts a list.
LISTING_LIMIT = 8


def listing(
    items: Iterable[object], limit: int = LISTING_LIMIT, *, what: str = "names", sep: str = ", "
) -> str:
    """A user-sized collection as text short enough for one line: the first items, ``…``,
    the last one and the count when there are more than ``limit``; each item made
    :func:`printable`.

    Every message that names what a user gave or lacks (missing variables, unknown columns)
    goes through this one function, so 10,000 variables make a line of a few dozen characters
    instead of 150 KB.

    Args:
        items: the names (or any objects; each is converted with ``str``).
        limit: at most this many items are shown (at least 2).
        what: the plural noun the count is given in.
        sep: the separator between items.

    Example:
        >>> listing([f"x{i}" for i in range(2, 10001)], 4)
        'x2, x3, x4, …, x10000 (9,999 names)'
        >>> listing(["a", "b"])
        'a, b'
    """
    shown = [printable(s, 60) for s in items]
    limit = max(2, limit)
    if len(shown) <= limit:
        return sep.join(shown)
    return f"{sep.join([*shown[: limit - 1], '…', shown[-1]])} ({len(shown):,} {what})"


class GradscapeError(Exception):
    """Base class of every error gradscape raises on purpose."""


class InputError(GradscapeError, ValueError):
    """A value given to gradscape is not acceptable (bad range, bad learning rate, ...)."""


class DataError(InputError):
    """A dataset cannot be used: missing or empty file, a non-numeric cell, too few rows, ..."""


class ParameterError(GradscapeError, TypeError):
    """Parameters do not match an objective's names or shape."""


class NumericalError(GradscapeError, ValueError):
    """A computation produced NaN or infinity where a finite number was needed."""


class ExpressionError(InputError):
    """An expression cannot be read: the message, then the text with a caret under the spot.

    Attributes:
        message: what is wrong, one line.
        text: the expression as given.
        start, end: the span of ``text`` the caret marks.
    """

    def __init__(self, message: str, text: str = "", start: int = 0, end: int | None = None):
        self.message = message
        self.text = text
        self.start = max(0, min(start, len(text)))
        self.end = max(self.start + 1, end if end is not None else self.start + 1)
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.text.strip():
            return self.message
        line = self.text.replace("\n", " ").replace("\t", " ").replace("\r", " ")
        lo, hi = 0, len(line)
        width = 70
        if hi > width:  # show a window around the spot
            lo = max(0, min(self.start - width // 2, hi - width))
            hi = min(hi, lo + width)
        shown = ("…" if lo > 0 else "") + line[lo:hi] + ("…" if hi < len(line) else "")
        pad = self.start - lo + (1 if lo > 0 else 0)
        marks = max(1, min(self.end, hi + 1) - self.start)
        return f"{self.message}\n  {shown}\n  {' ' * pad}{'^' * marks}"


def whole_number(
    value: object,
    what: str,
    lo: int = 1,
    hi: int | None = None,
    cap: str = "",
    *,
    none_ok: bool = False,
) -> int:
    """``value`` as an int in ``[lo, hi]``, or an :class:`InputError` naming the range (and the cap's
    name, e.g. ``"MAX_STEPS"``). ``True``/``False`` and floats such as ``3.0`` are refused: a count
    is written as a whole number.

    >>> whole_number(3, "steps")
    3
    >>> whole_number(0, "steps")
    Traceback (most recent call last):
    ...
    gradscape.errors.InputError: steps must be a whole number >= 1; got 0.
    >>> whole_number(7, "grid", 3, 5, "MAX_GRID")
    Traceback (most recent call last):
    ...
    gradscape.errors.InputError: grid must be a whole number from 3 to 5 (MAX_GRID); got 7.
    """

    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        n = int(value)
        if lo <= n and (hi is None or n <= hi):
            return n
    span = f">= {lo}" if hi is None else f"from {lo} to {hi:,}" + (f" ({cap})" if cap else "")
    tail = " (or None)" if none_ok else ""
    raise InputError(f"{what} must be a whole number {span}{tail}; got {value!r}.")


def check_known(names: Iterable[str], known: Sequence[str], flag: str, owner: str) -> None:
    """Raise :class:`InputError` when a name in ``names`` is not one of ``known``, the variables
    of ``owner`` (a signature such as ``f(x, y)``); ``flag`` says where the names came from.

    >>> check_known(["x", "z"], ["x", "y"], "--range", "f(x, y)")
    Traceback (most recent call last):
    ...
    gradscape.errors.InputError: --range: z is not a variable of f(x, y); its variables are x, y.
    """
    unknown = [n for n in names if n not in known]
    if unknown:
        what = "is not a variable" if len(unknown) == 1 else "are not variables"
        raise InputError(
            f"{flag}: {listing(unknown)} {what} of {owner}; its variables are {listing(known)}."
        )
