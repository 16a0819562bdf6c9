"""``python -m nanobragg``: the nanoBragg-compatible command line."""

from nanobragg.cli.launch import main

if __name__ == "__main__":
    main()
