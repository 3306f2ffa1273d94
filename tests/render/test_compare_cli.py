"""`greenlove report A B ...`: the comparison page and the terminal's answer; one file keeps the
single page; an input that would be overwritten or a missing file is an error naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greenlove.cli import main
from greenlove.render.format import duration

GOLDEN = Path(__file__).parents[1] / "golden" / "report_schema1.json"


def _write(path: Path, *, time_scale: float = 1.0, batch_size: int | None = None) -> Path:
    """The golden (schema 1) report, its predicted time scaled (and its batch size changed)."""
    data = json.loads(GOLDEN.read_text())
    data["prediction"]["time_s"] = {k: v * time_scale if k != "confidence" else v
                                    for k, v in data["prediction"]["time_s"].items()}
    if batch_size is not None:
        data["plan"]["batch_size"] = batch_size
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = _write(tmp_path / "a.json")
    b = _write(tmp_path / "b.json", time_scale=0.5, batch_size=20)
    return a, b


def _golden_time_s() -> float:
    return json.loads(GOLDEN.read_text())["prediction"]["time_s"]["point"]


def test_two_files_write_compare_html_and_say_the_answer(pair, tmp_path, capsys) -> None:
    a, b = pair
    assert main(["report", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    page = tmp_path / "compare.html"                          # the default, in the current folder
    assert page.is_file() and f"wrote {Path('compare.html')}" in out
    t = _golden_time_s()
    answer = f"b.json is 50% faster than a.json: {duration(t / 2)} instead of {duration(t)}"
    assert answer in " ".join(out.split())
    assert "a.json" in out and "b.json" in out
    assert "-50% vs a.json" in out and "energy not measured" in out
    html = page.read_text()
    assert answer in html and 'id="compare-table"' in html
    assert not (tmp_path / "a.html").exists()                 # no single pages on the side


def test_output_option_and_three_files(pair, tmp_path, capsys) -> None:
    a, b = pair
    c = _write(tmp_path / "c.json", time_scale=1.25)
    out_page = tmp_path / "pages" / "mine.html"
    assert main(["report", str(a), str(b), str(c), "-o", str(out_page)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "c.json is 25% slower than a.json" in text
    assert "+25% vs a.json" in text
    assert out_page.is_file() and not (tmp_path / "compare.html").exists()


def test_same_names_in_two_folders_are_told_apart(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "before" / "greenlove.json")
    _write(tmp_path / "after" / "greenlove.json", time_scale=0.5)
    assert main(["report", "before/greenlove.json", "after/greenlove.json"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "after/greenlove.json is 50% faster than before/greenlove.json" in text


def test_one_file_keeps_the_single_page(pair, tmp_path, capsys) -> None:
    a, _ = pair
    assert main(["report", str(a)]) == 0
    page = tmp_path / "a.html"
    assert f"wrote {page}" in capsys.readouterr().out
    html = page.read_text()
    assert 'id="evidence"' in html and 'id="compare-table"' not in html
    assert not (tmp_path / "compare.html").exists()


def test_an_input_that_would_be_overwritten_is_refused(pair, capsys) -> None:
    a, b = pair
    before = b.read_text()
    assert main(["report", str(a), str(b), "-o", str(b)]) == 2
    err = capsys.readouterr().err
    assert "would overwrite its input" in err and str(b) in err
    assert b.read_text() == before


def test_a_missing_file_is_an_error_naming_it(pair, tmp_path, capsys) -> None:
    a, _ = pair
    missing = tmp_path / "nowhere.json"
    assert main(["report", str(a), str(missing)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("greenlove: error:") and "nowhere.json" in err
    assert not (tmp_path / "compare.html").exists()


def test_an_unreadable_file_is_an_error_naming_it(pair, tmp_path, capsys) -> None:
    a, _ = pair
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main(["report", str(a), str(broken)]) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "not valid JSON" in err
    assert not (tmp_path / "compare.html").exists()


def test_a_section_the_comparison_cannot_read_names_its_file(pair, tmp_path, capsys) -> None:
    a, _ = pair
    data = json.loads(GOLDEN.read_text())
    data["comparison"] = {"local": {"device": "not an object"}}
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(data))
    assert main(["report", str(a), str(odd)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "odd.json holds a section greenlove cannot show" in err


def test_help_names_the_comparison(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "two or more: compared side by side" in text and "compare.html" in text
