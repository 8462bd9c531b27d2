"""code.json's figures: pmccabe's output parsed, lines counted, the figures of a design."""

import shutil

import pytest

from tvtbench import code_size

# pmccabe's complexity mode (modified, traditional, statements, first line, lines, where)
COMPLEXITY = """1\t1\t1\t20\t4\tsrv/a.c(20): on_accept
5\t7\t12\t26\t30\tsrv/a.c(26): on_readable
3\t3\t5\t60\t9\tsrv/b.c(60): conn_close
"""
NCSL = """   CSL PCT  NCSL PCT  TOTAL  FILENAME
     7  13    45  87     52  srv/a.c
     3  10    27  90     30  srv/b.c
    10  12    72  88     82  (total files: 2)
"""


def test_complexity_is_the_traditional_mccabe_number():
    fns = code_size.parse_complexity(COMPLEXITY + "garbage line\n")
    assert [(c, f) for c, _, _, f in fns] == [(1, "on_accept"), (7, "on_readable"),
                                              (3, "conn_close")]


def test_ncsl_per_file_without_the_total():
    assert code_size.parse_ncsl(NCSL) == {"srv/a.c": 45, "srv/b.c": 27}


def test_figures_of_a_design(tmp_path):
    rs = tmp_path / "x.rs"
    rs.write_text("// a comment\n\nfn main() {\n    /* one\n       two */\n    go();\n}\n")
    f = code_size.figures(["srv/a.c", "srv/b.c", str(rs)],
                          code_size.parse_complexity(COMPLEXITY),
                          code_size.parse_ncsl(NCSL))
    assert f["lines"] == 45 + 27 + 3 and f["functions"] == 3
    assert f["ccn_mean"] == pytest.approx(11 / 3, abs=0.01) and f["ccn_max"] == 7
    assert f["ccn_max_at"] == "a.c:on_readable" and f["why"] is None


def test_no_complexity_says_why(tmp_path):
    go = tmp_path / "m.go"
    go.write_text("package main\n// x\nfunc main() {}\n")
    f = code_size.figures([str(go)], why="pmccabe reads C and C++ only")
    assert f["lines"] == 2 and f["ccn_max"] is None and "C and C++" in f["why"]


@pytest.mark.skipif(shutil.which("pmccabe") is None, reason="pmccabe is not installed")
def test_this_tree_is_measured():
    doc = code_size.measure(code_size_root())
    d = doc["designs"]
    assert doc["tool"].startswith("pmccabe")
    assert d["thread"]["lines"] > 100 and d["thread"]["ccn_max"] >= 1
    assert "C:common" in d and d["async"]["dirs"] == ["async_impl"]


def code_size_root():
    import os
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
