"""The demo's site flags and the clouds table's provider filter."""

from __future__ import annotations

import pytest

from greenlove.cli import build_parser, main


def test_every_option_of_every_command_has_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest == "help" or action.help == "==SUPPRESS==":
                continue
            assert action.help, f"greenlove {name} {action.option_strings or action.dest}"


def test_demo_takes_a_zone_and_a_price():
    args = build_parser().parse_args(["demo", "--zone", "DE", "--price", "0.30"])
    assert args.zone == "DE" and args.price == 0.30
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--price", "0"])


def test_clouds_match_the_provider_by_prefix_whatever_the_case(capsys):
    assert main(["clouds", "--provider", "CRUS"]) == 0
    out = capsys.readouterr().out
    assert "Crusoe" in out
    assert main(["clouds", "--provider", "no-such-cloud"]) == 2
    assert "matches no provider; known:" in capsys.readouterr().err
