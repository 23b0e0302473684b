"""The stack for browser tests: simulated meters, Home Assistant as a process, headless Chromium.

Meters and Home Assistant are module-scoped, so all browser tests share one start; every
fixture stops what it started however the test ended.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import tempfile
from typing import TYPE_CHECKING

from e2e_pages import CHROMIUM, CHROMIUM_ARGS
from e2e_stack import (
    METER_KEY,
    REPO_ROOT,
    Process,
    free_port,
    onboard,
    start_home_assistant,
    start_simulator,
    write_config,
)
from playwright.sync_api import Error as PlaywrightError, sync_playwright
import pytest
import pytest_socket  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from playwright.sync_api import Page, ViewportSize

# What the README shows; rewritten only on request, since every run shows other values.
SCREENSHOTS_ENV = "E2E_UPDATE_SCREENSHOTS"
README_IMAGES = REPO_ROOT / "docs" / "images"
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# Playwright's per-action default; Home Assistant's frontend is slow on a loaded 2-core machine.
ACTION_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace the suite-wide fixture: Home Assistant runs as its own process here."""


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Configuration and logs; pytest keeps the folder of recent runs for a look after a failure."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def meters(logs: Path) -> Iterator[dict[str, Path]]:
    """Two simulated L+G E450 on ptys: "plain" sends clear text, "ciphered" uses METER_KEY.

    The ports live in a short folder of their own: their path shows in a README screenshot.
    """
    ports = Path(tempfile.mkdtemp(prefix="smartmeter-e2e-"))
    started: list[Process] = []
    try:
        plain = ports / "ttySM0"
        started.append(start_simulator(plain, logs / "simulator-plain.log", "lge450", seed=1))
        ciphered = ports / "ttySM1"
        started.append(
            start_simulator(
                ciphered, logs / "simulator-ciphered.log", "lge450", seed=2, key=METER_KEY
            )
        )
        yield {"plain": plain, "ciphered": ciphered}
    finally:
        for process in started:
            process.stop()
        shutil.rmtree(ports, ignore_errors=True)


@pytest.fixture(scope="module")
def home_assistant(logs: Path, meters: dict[str, Path]) -> Iterator[str]:
    """Home Assistant with this integration, onboarded with the demo user; yields its URL."""
    # pytest-homeassistant-custom-component blocks sockets for every test; this one talks to a
    # real server on 127.0.0.1. The block is set again before each test, so this lasts for the
    # module's setup only.
    pytest_socket.enable_socket()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    write_config(logs / "config", port)
    hass = start_home_assistant(logs / "config", logs / "hass.log")
    try:
        onboard(url, hass)
        print(f"Home Assistant at {url}, log {hass.log}")
        yield url
        if not hass.running():
            pytest.fail(f"Home Assistant exited during the tests:\n{hass.tail()}")
    finally:
        hass.stop()


@pytest.fixture
def page(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """A new Chromium, not logged in; a failed test leaves failure.png in its tmp_path.

    Per test, not per module: the sync API marks its event loop as running in this thread
    between calls, and the Home Assistant test plugin's own loop fixtures cannot run then.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(ACTION_TIMEOUT_MS)
            tab = context.new_page()
            yield tab
            report = request.node.stash.get(_CALL_REPORT, None)
            if report is not None and report.failed:
                _save_failure(tab, tmp_path / "failure.png")
        finally:
            browser.close()


def _save_failure(tab: Page, path: Path) -> None:
    try:
        tab.screenshot(path=path, full_page=True)
    except PlaywrightError as err:
        print(f"no screenshot of the failed test: {err}")
    else:
        print(f"screenshot of the failed test: {path}")


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the README screenshots go: docs/images with E2E_UPDATE_SCREENSHOTS=1, else tmp."""
    if os.environ.get(SCREENSHOTS_ENV) == "1":
        README_IMAGES.mkdir(parents=True, exist_ok=True)
        return README_IMAGES
    return tmp_path


_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the test call's outcome where the page fixture's teardown can see it."""
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report
