"""``python -m gradscape.cli``."""

import sys

from . import main

sys.exit(main())
