"""The callbacks' shared arguments are checked where the callback is made, naming the argument."""

from __future__ import annotations

import pytest

from greenlove.integrations.common import CallbackOptions


@pytest.mark.parametrize(("kwargs", "error", "named"), [
    ({"site": "Berlin"}, Exception, "site"),
    ({"energy": "yes"}, Exception, "energy"),
    ({"history": 3}, Exception, "history"),
    ({"out": 3}, TypeError, "out"),
    ({"budget_s": 5}, ValueError, "budget_s"),
    ({"dry_run": True, "budget_s": 0}, ValueError, "budget_s"),
    ({"dry_run": True, "report": object()}, ValueError, "report="),
    ({"limits": 5}, TypeError, "limits"),
])
def test_a_bad_argument_fails_at_construction_naming_it(kwargs, error, named):
    with pytest.raises(error, match=named):
        CallbackOptions.check(**kwargs)


def test_good_arguments_pass(tmp_path):
    options = CallbackOptions.check(out=tmp_path, history=tmp_path / "h", dry_run=True,
                                    budget_s=30)
    assert options.out == tmp_path and options.budget_s == 30.0
