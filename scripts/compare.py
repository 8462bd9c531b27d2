#!/usr/bin/env python3
"""Arithmetic and JSON for scripts/compare.sh (`make compare`); the shell script runs
things. The package scripts/tvtbench does the work (compare_stats, compare_text,
compare_cli); `scripts/compare.py --help` lists the subcommands."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tvtbench.compare_cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv))
