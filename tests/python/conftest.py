"""pytest setup: the analysis package on the path, and a builder of small synthetic result
sets (the raw JSON a run would write, with only the keys the analysis reads)."""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
sys.path.insert(0, HERE)

from lab import Lab  # noqa: E402


@pytest.fixture
def lab():
    return Lab()
