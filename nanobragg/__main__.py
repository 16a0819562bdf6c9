"""``python -m nanobragg``: the nanoBragg-compatible command line."""

import sys

from nanobragg.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
