"""Broken, hostile and newer files: greenlove.load and the CLI say what is wrong, never a
traceback; what comes from a file is shown as text, never as terminal control or markup."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import greenlove
from greenlove.cli import main
from greenlove.errors import GreenloveError, SchemaError

GOLDEN = Path(__file__).parent.parent / "golden" / "report_schema1.json"


def golden() -> dict:
    return json.loads(GOLDEN.read_text())


def write(tmp_path, data, name="r.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_a_folder_a_binary_file_and_deep_nesting_are_schema_errors_naming_the_file(tmp_path):
    with pytest.raises(SchemaError, match="is a folder"):
        greenlove.load(tmp_path)
    binary = tmp_path / "blob.json"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 64)
    with pytest.raises(SchemaError, match="blob.json is not a text file"):
        greenlove.load(binary)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SchemaError, match="deep.json"):
        greenlove.load(deep)


@pytest.mark.parametrize(("key", "value", "words"), [
    ("clouds", "x", "`clouds` must be a list of dicts"),
    ("warnings", "a string", "`warnings` must be a list of strs"),
    ("environment", [1], "`environment` must be an object"),
    ("assumptions", {"drift_rel": 3}, "`assumptions.drift_rel` must be an object"),
    ("plan", "p", "`plan` must be an object"),
])
def test_a_section_of_the_wrong_shape_is_named(tmp_path, key, value, words):
    data = golden()
    data[key] = value
    with pytest.raises(SchemaError, match=words.replace("(", r"\(")):
        greenlove.load(write(tmp_path, data))


def test_a_null_comparison_reads_as_none_and_the_page_renders(tmp_path):
    data = golden()
    data["comparison"] = None
    report = greenlove.load(write(tmp_path, data))
    assert report.comparison == {}
    assert main(["show", str(write(tmp_path, data))]) == 0


def test_fields_a_newer_greenlove_adds_are_ignored_everywhere(tmp_path):
    data = golden()
    data["plan"]["accumulation_steps"] = 4
    data["benchmark"]["fit"]["new_statistic"] = 0.5
    data["prediction"]["time_s"]["median"] = 1.0
    data["brand_new_section"] = {"x": 1}
    report = greenlove.load(write(tmp_path, data))
    assert report.plan.epochs == golden()["plan"]["epochs"]
    assert report.extra["brand_new_section"] == {"x": 1}


def test_the_cli_says_error_and_exits_2_instead_of_a_traceback(tmp_path, capsys):
    data = golden()
    data["clouds"] = "x"
    assert main(["show", str(write(tmp_path, data))]) == 2
    assert main(["show", str(tmp_path)]) == 2
    blob = tmp_path / "blob.json"
    blob.write_bytes(b"\x00\xff" * 10)
    assert main(["report", str(blob)]) == 2
    err = capsys.readouterr().err
    assert err.count("greenlove: error:") == 3 and "Traceback" not in err
    assert "blob.json" in err


def test_report_refuses_to_overwrite_its_own_input(tmp_path, capsys):
    page = tmp_path / "data.html"
    page.write_text(json.dumps(golden()))
    assert main(["report", str(page)]) == 2
    assert "overwrite its input" in capsys.readouterr().err
    assert json.loads(page.read_text())["schema_version"] == 1


def test_an_unwritable_output_folder_is_an_error_not_a_traceback(tmp_path, capsys):
    source = write(tmp_path, golden())
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", str(source), "-o", str(blocker / "out.html")]) == 2
    assert "greenlove: error:" in capsys.readouterr().err


def test_terminal_escapes_and_markup_from_a_file_reach_the_screen_as_text(tmp_path, capsys):
    data = golden()
    data["warnings"] = ["\x1b[2J\x1b]0;pwned\x07 clear screen", "[blink]markup[/blink]"]
    if data.get("measurement"):
        data["measurement"]["devices"][0]["name"] = "GPU \x1b[31mred\x1b[0m [bold]x[/bold]"
    for full in ([], ["--full"]):
        assert main(["show", str(write(tmp_path, data)), *full]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out
        assert "[blink]markup[/blink]" in out


def test_a_warning_that_is_a_string_is_not_shown_one_character_per_line(tmp_path):
    data = golden()
    data["warnings"] = "a string"
    with pytest.raises(SchemaError):
        greenlove.load(write(tmp_path, data))


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=12,
)


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:3]):
            yield from _paths(v, (*prefix, i))


_GOLDEN_PATHS = [p for p in _paths(golden()) if p][:4000]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_GOLDEN_PATHS), value=_JSON, drop=st.booleans())
def test_mutated_files_load_or_raise_a_greenlove_error_and_show_never_tracebacks(
        tmp_path_factory, path, value, drop):
    data = copy.deepcopy(golden())
    node = data
    for key in path[:-1]:
        node = node[key]
    if drop and isinstance(node, dict):
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    file = tmp_path_factory.mktemp("m") / "m.json"
    file.write_text(json.dumps(data))
    try:
        greenlove.load(file)
    except GreenloveError as error:
        assert str(error)
    code = main(["show", str(file)])
    assert code in (0, 2)
    assert main(["show", str(file), "--full"]) in (0, 2)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_are_a_schema_error(tmp_path_factory, blob):
    file = tmp_path_factory.mktemp("b") / "b.json"
    file.write_bytes(blob)
    try:
        greenlove.load(file)
    except SchemaError as error:
        assert str(error)
