#!/usr/bin/env python3
"""From a results folder's raw data to summary.csv, the plots' data files and REPORT.md.

    scripts/report.py data DIR     summary.csv, hol.csv, DIR/plots/data/* (what gnuplot reads)
    scripts/report.py report DIR   DIR/REPORT.md: environment, verdicts, plots, failures
    scripts/report.py readme DIR README.md   the README's verdict tables, from DIR

The work is done by the package scripts/tvtbench (its cli module); this file is the
command. Python 3 standard library only."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tvtbench.cli import report_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(report_main())
