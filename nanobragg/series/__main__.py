"""``python -m nanobragg.series``: the ``nanobragg-series`` command."""

import sys

from nanobragg.series.run import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
