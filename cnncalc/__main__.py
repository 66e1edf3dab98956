"""``python -m cnncalc``."""

from .entry import main

main()
