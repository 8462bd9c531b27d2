"""REPORT.md on a synthetic folder: verdict rows, the reference section, rules' text."""

import os

from lab import Lab
from scenarios import typical

from tvtbench.claims import CLAIMS
from tvtbench.report import write_report
from tvtbench.results import Results


def report(tmp_path, lab, ref_lab=None):
    out = lab.write(str(tmp_path / "run"))
    ref = ref_lab.write(str(tmp_path / "ref")) if ref_lab else str(tmp_path / "none")
    write_report(Results.load(out), ref)
    with open(os.path.join(out, "REPORT.md")) as f:
        return f.read()


def test_every_claim_has_a_row_and_its_rule(tmp_path):
    text = report(tmp_path, typical())
    for m in CLAIMS:
        assert f"\n| **{m.CID}** " in text
        assert m.RULE in text  # the rule printed is the text beside the code


def test_reference_section_compares_verdicts_and_environments(tmp_path):
    ref = typical()
    ref.env["cores"] = 16
    ref.meta["profile"] = "full"
    text = report(tmp_path, typical(), ref)
    sec = text[text.index("## This run beside the reference"):]
    sec = sec[:sec.index("\n## ", 5)]
    assert "verdicts are the same as the reference's" in sec
    assert "| C | C3 |" in sec and "| yes |" in sec
    assert "| cores | 2 | 16 |" in sec
    assert "| profile | quick | full |" in sec


def test_a_changed_verdict_is_marked(tmp_path):
    ref = typical()
    for doc in ref.docs.values():
        if doc["name"] == "thread":
            doc["client"]["rps"] = 79000.0
    text = report(tmp_path, typical(), ref)
    line = [x for x in text.splitlines() if x.startswith("| C | C3 |")][0]
    assert "**no**" in line


def test_no_reference(tmp_path):
    text = report(tmp_path, typical())
    assert "No reference run to compare with" in text


def test_one_run_is_said(tmp_path):
    assert "(one run)" in report(tmp_path, typical())


def test_failures_are_listed_not_averaged(tmp_path):
    lab = typical()
    lab.run("thread", 20000, 0, status="failed", failure="the server crashed")
    text = report(tmp_path, lab)
    assert "the server crashed" in text[text.index("## Failures"):]


def test_empty_folder_still_reports(tmp_path):
    text = report(tmp_path, Lab())
    assert "**not measurable**" in text


def test_readme_tables_are_spliced_between_markers(tmp_path):
    from tvtbench.report import README_BEGIN, README_END, readme_tables, splice_readme
    res = typical().results(out=str(tmp_path))
    text = f"intro\n{README_BEGIN}\nold table\n{README_END}\nrest\n"
    new = splice_readme(text, readme_tables(res))
    assert "old table" not in new and new.startswith("intro\n") and new.endswith("rest\n")
    assert "| **C4** " in new and "**The C servers" in new
    import pytest
    with pytest.raises(ValueError):
        splice_readme("no markers", "x")
