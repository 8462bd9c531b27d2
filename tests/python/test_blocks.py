"""The verdict blocks: the Rust pair gets its own, the third C design its column."""

import pytest
from helpers import RUST_BLOCK, rows
from scenarios import rust_pair, typical, with_uring

from tvtbench.claims import all_blocks
from tvtbench.rules import HOLDS, NOT_MEASURABLE


def test_rust_block_only_when_both_sides_ran():
    assert [b.key for b, _ in all_blocks(typical().results())] == ["C"]
    assert [b.key for b, _ in all_blocks(rust_pair().results())] == ["C", "Rust"]


def test_rust_block_uses_the_rust_designs_and_microbenchmarks():
    r = rows(rust_pair(), RUST_BLOCK)
    assert r["C3"].verdict.task_label == "tokio-multi"
    assert r["C3"].verdict.thread_label == "rust-threads"
    assert r["C3"].verdict.ratio == pytest.approx(70000 / 18000)
    assert r["C5"].verdict.ratio == pytest.approx(20000 / 200)
    assert r["C5"].verdict.outcome == HOLDS
    # no Rust switch microbenchmark in this scenario and no C figures borrowed
    assert "S" not in r["C2"].verdict.r
    assert r["C6"].verdict.ratio == pytest.approx(450 / 600)


def test_uring_gets_its_own_verdict_beside_async():
    r = rows(with_uring())
    c3 = r["C3"]
    assert c3.verdict.task_label == "async"
    assert "uring" in c3.others
    assert c3.others["uring"].ratio == pytest.approx(90000 / 20000)


def test_a_block_without_its_task_side():
    from lab import Lab, grid
    from tvtbench.blocks import C_BLOCK
    lab = Lab()
    grid(lab, ["thread"])
    r = rows(lab, C_BLOCK)
    assert r["C3"].verdict.outcome == NOT_MEASURABLE
