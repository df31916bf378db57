"""``python -m rnnlib``: train, evaluate and sample from a terminal (rnnlib.cli)."""

import sys

try:
    from .cli import main  # NumPy and the rest: about a second, in which Ctrl-C is likely
except KeyboardInterrupt:
    print("rnnlib: stopped by Ctrl-C while starting; nothing was changed", file=sys.stderr)
    sys.exit(130)  # the shell's status for Ctrl-C, as rnnlib.cli gives

sys.exit(main())
