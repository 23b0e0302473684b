"""A person sets up a simulated meter in Home Assistant's web interface and sees it work.

Real processes end to end: the simulator writes E450 frames to a pty, Home Assistant (started
like script/develop starts it) reads them, and headless Chromium clicks through the same dialogs
a user does. Waits are generous; nothing here asserts how long anything took.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import shutil
import socket
import tempfile
import time
from typing import TYPE_CHECKING

from e2e_pages import (
    CHROMIUM,
    fill_meter_form,
    log_in,
    open_meter_form,
    screenshot_dialog,
    sensor_state,
)
from e2e_stack import METER_KEY, REPO_ROOT, WRONG_KEY, start_simulator, wait_for_link
from playwright.sync_api import expect
import pytest

from custom_components.smartmeter_datacollector.dlms import PROFILES

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason=f"{CHROMIUM} not found: install Debian's chromium (script/test does)",
    ),
]

TRANSLATIONS = json.loads(
    (REPO_ROOT / "custom_components/smartmeter_datacollector/translations/en.json").read_text()
)
METER_TYPE = TRANSLATIONS["selector"]["profile"]["options"]["lge450"]
# What the README's screenshot shows in the port field (not the test's temporary pty path).
SCREENSHOT_PORT = "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A10KXYZ-if00-port0"
# Listening in the flow, a setup retry after the pty changed hands, the first push: all fit.
DEVICE_TIMEOUT_S = 180.0
DEVICE_TIMEOUT_MS = DEVICE_TIMEOUT_S * 1000
# For anything the frontend shows on its own (Playwright's expect() waits 5 s by default).
EXPECT_TIMEOUT_MS = 60_000
# Live power is written once a minute by default (sensor update policy), or at once on a jump.
NEXT_PUSH_TIMEOUT_S = 150.0
POWER = re.compile(r"\d[\d,]* W")
ENERGY = re.compile(r"\d[\d,]*(\.\d+)? kWh")
VOLUME = re.compile(r"\d[\d,]*(\.\d+)? m³")
# The simulated E450 names itself after its logical device name (LGZ + digits).
METER_DEVICE = re.compile(r"^Landis\+Gyr LGZ\d+$")
# Its gas meter on M-Bus channel 1 is a device of its own, via the meter (entity.py).
SUB_METER_DEVICE = re.compile(r"^Landis\+Gyr LGZ\d+ M-Bus 1$")


def _listening_text(port: Path) -> re.Pattern[str]:
    """The flow's progress message for port, whatever listening window it states."""
    template = re.escape(TRANSLATIONS["config"]["progress"]["listen"])
    return re.compile(
        template.replace(re.escape("{port}"), re.escape(str(port))).replace(
            re.escape("{seconds}"), r"\d+"
        )
    )


def _wait_for_state(
    page: Page,
    name: str,
    pattern: re.Pattern[str],
    *,
    unlike: str | None = None,
    timeout_s: float = DEVICE_TIMEOUT_S,
) -> str:
    """Poll the device page until the sensor shows a value matching pattern (other than unlike)."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = sensor_state(page, name)
        if state is not None and pattern.fullmatch(state) and state != unlike:
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{name} still shows {state!r} after {timeout_s:g} s")
        page.wait_for_timeout(250)


def test_add_meter_in_the_browser_shows_live_values(
    page: Page, home_assistant: str, meters: dict[str, Path], screenshots: Path
) -> None:
    """The README's walkthrough: add the meter, open its device, watch the power change."""
    log_in(page, home_assistant)
    dialog = open_meter_form(page)
    # The README shows the form as a user fills it: only the port, a stable by-id name.
    fill_meter_form(dialog, None, SCREENSHOT_PORT)
    screenshot_dialog(page, screenshots / "config-form.png")
    fill_meter_form(dialog, METER_TYPE, str(meters["plain"]))
    dialog.get_by_role("button", name="Submit").click()

    # The "Listening to the meter..." progress lasts until the next push (up to 2 s here), too
    # short to check without a race; the wrong-key test sees it for the whole window. The entry
    # is named after the id the meter itself sent.
    created = dialog.get_by_text(re.compile(r"Created configuration for Landis\+Gyr LGZ\d+"))
    expect(created).to_be_visible(timeout=DEVICE_TIMEOUT_MS)
    dialog.get_by_role("button", name="Finish").click()
    # Two devices: the electricity meter and the gas meter on its M-Bus channel.
    devices = page.get_by_role("link", name="2 devices").first
    devices.wait_for(timeout=DEVICE_TIMEOUT_MS)
    # Onboarding's location step was skipped as in script/develop: no integration failed.
    expect(page.get_by_text("Failed to set up")).to_have_count(0)
    expect(page.get_by_text("Google Translate", exact=False)).to_have_count(0)
    devices.click()
    # The device list is a table: each device's name is its row's header.
    expect(page.get_by_role("rowheader", name=SUB_METER_DEVICE)).to_be_visible(
        timeout=EXPECT_TIMEOUT_MS
    )
    page.get_by_role("rowheader", name=METER_DEVICE).click()
    expect(page.get_by_text("E450", exact=True)).to_be_visible(timeout=EXPECT_TIMEOUT_MS)

    power = _wait_for_state(page, "Power import", POWER)
    _wait_for_state(page, "Energy import", ENERGY)
    # Day and night tariff totals are enabled from the start (issue 9: the Energy picker).
    for tariff in ("1", "2"):
        _wait_for_state(page, f"Energy import tariff {tariff}", ENERGY)
        _wait_for_state(page, f"Energy export tariff {tariff}", ENERGY)
    page.screenshot(path=screenshots / "device-page.png")

    # Live: a later push changes the power without reloading the page.
    _wait_for_state(page, "Power import", POWER, unlike=power, timeout_s=NEXT_PUSH_TIMEOUT_S)

    # The gas meter's own page: its total in m³ (a gas device class needs a volume unit).
    page.go_back()
    page.get_by_role("rowheader", name=SUB_METER_DEVICE).click()
    _wait_for_state(page, "Meter reading", VOLUME)


def test_wrong_key_shows_the_decryption_error(
    page: Page, home_assistant: str, meters: dict[str, Path]
) -> None:
    """An encrypted meter and a mistyped key: the form comes back saying the key is wrong."""
    assert WRONG_KEY != METER_KEY
    log_in(page, home_assistant)
    dialog = open_meter_form(page)
    fill_meter_form(dialog, METER_TYPE, str(meters["ciphered"]), key=WRONG_KEY)
    dialog.get_by_role("button", name="Submit").click()

    # No reading can come: the progress stays up for the whole listening window.
    listening = dialog.get_by_text(_listening_text(meters["ciphered"]))
    expect(listening).to_be_visible(timeout=EXPECT_TIMEOUT_MS)
    error = TRANSLATIONS["config"]["error"]["invalid_key"]
    expect(dialog.get_by_text(error, exact=True)).to_be_visible(timeout=DEVICE_TIMEOUT_MS)
    # The form keeps what was typed, so only the key needs fixing.
    key_field = dialog.get_by_label("Encryption key")
    expect(key_field).to_have_value(WRONG_KEY, timeout=EXPECT_TIMEOUT_MS)


# The bound for an instant failure: the error is on screen within 2 s of Submit.
INSTANT_ERROR_S = 2.0
# Detection tries four push settings (about 11 s each) and a readout before it gives up.
DETECT_TIMEOUT_MS = 120_000


def _refused_socket() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"socket://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.usefixtures("socket_enabled")  # to find a free local port for the refused socket
@pytest.mark.parametrize("port", ["/dev/ttyNOPE", None], ids=["nonexistent", "refused_socket"])
def test_a_port_that_cannot_open_is_named_at_once(
    page: Page, home_assistant: str, port: str | None
) -> None:
    """No spinner for a dead port: the form comes back with the reason within 2 s."""
    port = port or _refused_socket()
    log_in(page, home_assistant)
    dialog = open_meter_form(page)
    fill_meter_form(dialog, None, port)
    error = dialog.get_by_text(re.compile(rf"{re.escape(port)} cannot be opened"))

    started = time.monotonic()
    dialog.get_by_role("button", name="Submit").click()
    error.wait_for(timeout=INSTANT_ERROR_S * 1000)
    print(f"{port}: error shown {time.monotonic() - started:.2f} s after Submit")


# (profile, seed, encrypted): every profile plain, and encrypted where the meter can encrypt.
PROFILES_IN_FORM = (
    "lge450",
    "lge570",
    "lge360",
    "iskraam550",
    "kamstrup_han",
    "kaifa_mbus",
    "siemens_td3511",
    "generic",
)
# The TD-3511 answers in IEC 62056-21 text, which has no ciphering.
CAN_ENCRYPT = ("lge450", "lge570", "lge360", "iskraam550", "kamstrup_han", "kaifa_mbus", "generic")
DETECTED = [(profile, 11 + i, False) for i, profile in enumerate(PROFILES_IN_FORM)] + [
    (profile, 31 + i, True) for i, profile in enumerate(CAN_ENCRYPT)
]


@pytest.mark.parametrize(
    "case", DETECTED, ids=[f"{p}-{'encrypted' if e else 'plain'}" for p, _, e in DETECTED]
)
def test_only_the_port_is_needed(
    page: Page, home_assistant: str, logs: Path, case: tuple[str, int, bool]
) -> None:
    """Detection finds type, line settings and meter id; the key is asked only if encrypted."""
    profile, seed, encrypted = case
    folder = Path(tempfile.mkdtemp(prefix="smartmeter-e2e-"))
    link = folder / "ttyAUTO"
    key = METER_KEY if encrypted else None
    # The simulator starts while the browser logs in; its port is needed only for the form.
    simulator = start_simulator(
        link,
        logs / f"simulator-{profile}.log",
        profile,
        seed=seed,
        key=key,
        line_check=True,
        wait=False,
    )
    try:
        log_in(page, home_assistant)
        dialog = open_meter_form(page)
        wait_for_link(simulator, link)
        fill_meter_form(dialog, None, str(link))
        started = time.monotonic()
        dialog.get_by_role("button", name="Submit").click()
        # The progress names the line setting it tries; a meter found within a second may already
        # have moved the dialog on to the next step before the browser drew the progress.
        keys_title = TRANSLATIONS["config"]["step"]["keys"]["title"]
        found = TRANSLATIONS["config"]["step"]["confirm"]["title"]
        next_step = dialog.get_by_text(keys_title if encrypted else found)
        trying = dialog.get_by_text(re.compile(r"trying \d+ \d[NEO]\d"))
        expect(trying.or_(next_step).first).to_be_visible(timeout=EXPECT_TIMEOUT_MS)
        if encrypted:
            # Typed as soon as the form shows: nothing redraws it once it is shown (flow_progress).
            expect(dialog.get_by_text(keys_title)).to_be_visible(timeout=DETECT_TIMEOUT_MS)
            dialog.get_by_label("Encryption key").fill(METER_KEY)
            dialog.get_by_role("button", name="Submit").click()
        expected = PROFILES[profile]
        expect(dialog.get_by_text(found)).to_be_visible(timeout=DETECT_TIMEOUT_MS)
        print(f"{profile}: detected {time.monotonic() - started:.1f} s after Submit")
        settings = str(expected.serial)
        expect(dialog.get_by_text(re.compile(re.escape(f"at {settings}")))).to_be_visible()
        expect(dialog.get_by_text(re.compile(re.escape(expected.model)))).to_be_visible()
        dialog.get_by_role("button", name="Submit").click()
        expect(dialog.get_by_text(re.compile(r"Created configuration for"))).to_be_visible(
            timeout=EXPECT_TIMEOUT_MS
        )
        dialog.get_by_role("button", name="Finish").click()
    finally:
        simulator.stop()
        shutil.rmtree(folder, ignore_errors=True)
