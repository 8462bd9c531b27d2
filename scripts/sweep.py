#!/usr/bin/env python3
"""The sweep behind `make bench` (scripts/bench.sh runs it): the package scripts/tvtbench
does the work (profiles: the plan; sweep: the runner); this file is the command.

    scripts/sweep.py --profile smoke|quick|full --out DIR [--bin DIR] [--estimate]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tvtbench.cli import sweep_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(sweep_main())
