"""summary.csv: one row per run, a capacity curve's steps after its run."""

import csv

from scenarios import capacity, typical

from tvtbench.summary import SUMMARY_COLS, write_summary


def read(tmp_path, lab):
    out = str(tmp_path)
    write_summary(lab.results(out=out))
    with open(tmp_path / "summary.csv") as f:
        return list(csv.DictReader(f))


def test_one_row_per_run(tmp_path):
    lab = typical()
    rows = read(tmp_path, lab)
    assert len(rows) == len(lab.docs)
    assert list(rows[0]) == SUMMARY_COLS


def test_capacity_steps_and_capacity_columns(tmp_path):
    lab = capacity()
    rows = read(tmp_path, lab)
    steps = [r for r in rows if r["kind"] == "capacity-step"]
    runs = [r for r in rows if r["kind"] == "capacity"]
    assert len(runs) == 2 and len(steps) == 6
    assert {r["capacity_rps"] for r in runs} == {"60000", "20000"}
    assert steps[0]["offered_rps"] and steps[0]["mode"] == "open"
    assert len(rows) - len(steps) == len(lab.docs)
