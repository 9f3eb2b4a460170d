"""``python -m gradscape.cli``."""

from . import run

run()
