"""``python -m b2bclient``: the ``b2bclient`` command."""

from b2bclient.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
