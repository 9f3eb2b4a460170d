"""Exceptions raised by gradscape.

Every error a user can cause subclasses :class:`GradscapeError` and also the matching built-in
(`ValueError` or `TypeError`), so ``except ValueError`` keeps working. Messages are one line that
says what is wrong and how to fix it; the CLI prints them as ``gradscape: error: <message>``.
"""

from __future__ import annotations


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
