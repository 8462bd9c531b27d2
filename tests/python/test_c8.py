"""C8: file waits, per mechanism, against a thread per connection."""

import pytest
from helpers import rows
from scenarios import files, files_no_overlap, typical

from tvtbench.rules import HOLDS, NOT_HERE, PARTLY


def test_io_uring_decides_and_the_row_names_it():
    row = rows(files())["C8"]
    v = row.verdict
    assert v.task_label == "async-uring" and v.outcome == HOLDS
    assert v.ratio == pytest.approx(52000 / 50000)
    assert "with io_uring" in v.text()


def test_the_pool_is_threads_after_all():
    o = rows(files())["C8"].others["async-pool"]
    assert o.ratio == pytest.approx(0.9) and o.outcome == PARTLY
    assert "threads after all" in o.note and "4 threads" in o.how


def test_reading_in_the_loop_does_not_hold():
    o = rows(files())["C8"].others["async-loop"]
    assert o.outcome == NOT_HERE and o.ratio == pytest.approx(0.48)


def test_no_overlap_at_the_device_is_not_the_claim():
    v = rows(files_no_overlap())["C8"].verdict
    assert v.ratio == pytest.approx(1.0) and v.outcome == PARTLY and "overlap" in v.note


def test_no_file_runs_no_row():
    assert "C8" not in rows(typical())


def test_c3_has_a_file_row_on_the_default_mode():
    r = rows(files())
    assert r["C3 file"].verdict.task_label == "async-pool"
