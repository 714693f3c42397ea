"""Displays opened with a narrowed extension list, on a real Xvfb (which offers many)."""

from __future__ import annotations

import platform

import pytest
from Xlib import display as xdisplay
from Xlib import ext

from tests.watchers.xsession import XSession
from watchers.x11display import open_display

pytestmark = pytest.mark.x11

SCREEN_SAVER = "MIT-SCREEN-SAVER"


def test_a_display_opened_without_extensions_still_speaks_the_core_protocol(
        xsession: XSession) -> None:
    display = open_display(xsession.display, ())
    try:
        assert display.extensions == []
        assert not display.has_extension(SCREEN_SAVER)
        root = display.screen().root
        assert display.get_atom("_NET_ACTIVE_WINDOW") > 0
        assert root.get_geometry().width == 1280
    finally:
        display.close()


def test_only_the_named_extension_is_loaded_and_it_works(xsession: XSession) -> None:
    display = open_display(xsession.display, [SCREEN_SAVER])
    try:
        assert display.extensions == [SCREEN_SAVER]
        assert display.screen().root.screensaver_query_info().idle >= 0
    finally:
        display.close()


def test_a_display_opened_afterwards_gets_every_extension_again(xsession: XSession) -> None:
    every = list(ext.__extensions__)
    open_display(xsession.display, ()).close()
    assert ext.__extensions__ == every
    full = xdisplay.Display(xsession.display)
    try:
        assert {SCREEN_SAVER, "XTEST", "RANDR"} <= set(full.extensions)
    finally:
        full.close()


def test_an_extension_the_server_lacks_is_simply_absent(xsession: XSession) -> None:
    display = open_display(xsession.display, ["NV-CONTROL"])
    try:
        assert not display.has_extension("NV-CONTROL")
    finally:
        display.close()


def test_the_processor_type_is_answered_without_running_uname(xsession: XSession) -> None:
    open_display(xsession.display, ()).close()
    assert "processor" in vars(platform.uname())
    assert isinstance(platform.uname().processor, str)
