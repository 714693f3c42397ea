"""Fixtures for the dashboard tests: one real server loaded with the synthetic week (shared
by the module; tests that change data restore it), Debian's Chromium driven by Playwright,
and a page that records console errors and saves screenshots to artifacts/dashboard/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from aw_server.serve import Server
from tests.aw_server.dashboard import fixture
from tests.conftest import make_server

CHROMIUM = Path("/usr/bin/chromium")
# Chromium refuses to run as root without --no-sandbox; the rest keeps it off the network.
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "dashboard"



@dataclass
class Loaded:
    server: Server
    data: fixture.Fixture

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="package")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    base = tmp_path_factory.mktemp("dashboard")
    with pytest.MonkeyPatch.context() as mp:  # never the user's real folders
        mp.setenv("AW_BASE_DIR", str(base))
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            mp.setenv(var, str(base / var.lower()))
        server = make_server(base)
        try:
            data = fixture.build()
            fixture.load(server.url, data)
            yield Loaded(server, data)
        finally:
            server.stop()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    # Imported here: the test modules skip (with a reason) before any fixture runs when
    # Chromium or the playwright package is missing.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Any) -> Iterator[Any]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield chromium
    chromium.close()


@dataclass
class Tab:
    """A page plus everything it logged; `shot()` saves a full-page screenshot artefact."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)

    def open(self, fragment: str) -> None:
        self.page.goto(f"{self.base}/{fragment}")

    def wait_complete(self, timeout_ms: int = 20_000) -> None:
        self.page.wait_for_selector(".view[data-state=complete]", timeout=timeout_ms)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # else the sticky header lands mid-page
        self.page.screenshot(path=str(path), full_page=True)
        return path


def new_tab(browser: Any, base: str, **context_args: Any) -> Tab:
    args: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, "timezone_id": "UTC",
                            "locale": "en-US", "accept_downloads": True, **context_args}
    page = browser.new_context(**args).new_page()
    tab = Tab(page, base)
    page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: tab.errors.append(str(e)))
    return tab


@contextmanager
def open_tab(browser: Any, base: str) -> Iterator[Tab]:
    """A tab on `base` for one test; the test fails if the page logged a console error."""
    t = new_tab(browser, base)
    try:
        yield t
    finally:
        t.page.context.close()
    assert t.errors == [], f"console errors: {t.errors}"


@pytest.fixture
def tab(browser: Any, loaded: Loaded) -> Iterator[Tab]:
    with open_tab(browser, loaded.url) as t:
        yield t

