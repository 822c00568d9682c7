"""``python -m relulab.torch SCRIPT [ARGS...]``: the same as ``relulab run-torch SCRIPT [ARGS...]``."""
import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
