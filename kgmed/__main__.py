"""``python -m kgmed``: the ``kgmed`` command."""

import sys

from kgmed.cli import main

if __name__ == "__main__":
    sys.exit(main())
