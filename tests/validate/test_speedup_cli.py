"""`greenlove validate --speedup` on the shipped tables: both leave-one-out cases for every
method, and the method greenlove uses within the targets of its issue (#15)."""

from __future__ import annotations

import re

from greenlove.cli import main


def test_both_cases_are_printed_and_the_used_method_meets_its_targets(capsys):
    assert main(["validate", "--speedup"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(.+?)\s{2,}(cell held out|GPU held out)\s+(\d+)\s+([\d.]+)%\s+"
                      r"([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%", out, flags=re.M)
    methods = {name.strip() for name, *_ in rows}
    for method in ("fitted model (used)", "roofline from specs, task intensity fitted",
                   "0.7/0.3 baseline (comparison only)"):
        assert {case for name, case, *_ in rows if name.strip() == method} == \
            {"cell held out", "GPU held out"}, method
    assert "published ratio, pair's other tasks of the family" in methods
    used = {case: (float(median), float(cover))
            for name, case, _n, median, _p90, _worst, cover in rows
            if name.strip() == "fitted model (used)"}
    assert used["cell held out"][0] <= 10.0          # median error, cell held out
    assert used["cell held out"][1] >= 90.0 and used["GPU held out"][1] >= 90.0   # coverage
