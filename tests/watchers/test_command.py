"""The shared command line's help: argparse's layout, without what argparse imports for it."""

from __future__ import annotations

import argparse

import pytest

from watchers.afk.__main__ import COMMAND as AFK
from watchers.command import terminal_columns
from watchers.window.__main__ import COMMAND as WINDOW


@pytest.mark.parametrize("columns", [50, 120])
def test_help_is_laid_out_as_argparse_would_for_the_terminal_width(
        columns: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    for command in (AFK, WINDOW):
        ours = command.parser()
        stock = command.parser()
        stock.formatter_class = argparse.HelpFormatter  # measures the terminal with shutil
        assert ours.format_help() == stock.format_help()


def test_an_unusable_columns_value_falls_back_to_the_terminal_or_80(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "wide")
    assert terminal_columns() > 0
    monkeypatch.setenv("COLUMNS", "-3")
    assert terminal_columns() > 0
