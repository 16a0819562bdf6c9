"""``python -m nanobragg.series``: the ``nanobragg-series`` command, through the console
launcher (:mod:`nanobragg.cli.launch`) like the installed script."""

from nanobragg.cli.launch import launch


def _entry():
    from nanobragg.series.run import main

    return main


if __name__ == "__main__":  # pragma: no cover
    launch("nanobragg-series", _entry)
