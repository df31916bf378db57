"""``python -m rnnlib``: train, evaluate and sample from a terminal (rnnlib.cli)."""

import sys

from .cli import main

sys.exit(main())
