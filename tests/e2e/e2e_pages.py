"""What a person does in Home Assistant's web interface, as Playwright steps.

Locators use what the person sees (roles, labels, texts) wherever they reach, so a frontend
update that keeps the interface the same keeps these working. Element names appear only where
the shadow DOM leaves no other handle: the dialogs' host elements (a dialog's content is slotted,
so role queries from the dialog role find nothing), the sensor rows and the dialog's surface.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Locator, Page

DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105  (script/develop's documented demo account)
INTEGRATION = "Smart Meter Data Collector"
DIALOG_SCREENSHOT_RIM = 16  # pixels
# Debian's chromium, flags for a container: no sandbox (root), no GPU, nothing that phones home.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def log_in(page: Page, url: str) -> None:
    """Log in on the login page and wait for the default dashboard."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(DEMO_USER)
    page.get_by_role("textbox", name="Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/lovelace/"))


def open_meter_form(page: Page) -> Locator:
    """Settings > Devices & services > Add integration > ours; return the flow dialog."""
    page.get_by_role("option", name="Settings", exact=True).first.click()
    page.get_by_text("Devices & services").first.click()
    page.wait_for_url(re.compile(r"/config/integrations"))
    page.get_by_role("button", name="Add integration").click()
    brands = page.locator("dialog-add-integration")
    brands.get_by_role("textbox", name="Search for a brand name").fill(INTEGRATION)
    brands.get_by_text(INTEGRATION, exact=True).click()
    dialog = page.locator("dialog-data-entry-flow")
    dialog.get_by_role("button", name="Submit").wait_for()
    return dialog


def fill_meter_form(
    dialog: Locator, meter_type: str | None, port: str, key: str | None = None
) -> None:
    """Type the port path, pick the meter type (None: leave "Detect automatically"), the key."""
    # The port field proposes the machine's serial ports; a typed path is a custom value, which
    # the field keeps once its proposal list is closed without picking an entry. A click on the
    # dialog's title then takes the focus away, as a person would, and closes the list. Only the
    # port's own clear button, and only when it has something to clear: the optional meter type
    # has one too, and clearing it would drop "Detect automatically".
    port_field = dialog.get_by_role("combobox", name="Serial port")
    clear = dialog.locator("ha-combo-box").get_by_role("button", name="Clear")
    if clear.count():
        clear.first.click()
    port_field.press_sequentially(port)
    port_field.press("Escape")
    dialog.get_by_role("heading", level=2).click()
    if meter_type is not None:
        dialog.get_by_role("combobox", name="Meter type").click()
        dialog.page.get_by_role("option", name=meter_type, exact=True).click()
    if key is not None:
        # A password field: no textbox role, so it is found by its label.
        dialog.get_by_label("Encryption key").fill(key)


def screenshot_dialog(page: Page, path: Path) -> None:
    """Save the open dialog on a plain grey rim: rounded corners, none of the page behind."""
    box = page.locator(".mdc-dialog__surface").bounding_box()
    if box is None:
        raise AssertionError("no dialog is open")
    rim = DIALOG_SCREENSHOT_RIM
    page.screenshot(
        path=path,
        # Custom properties reach into the dialog's shadow root; an opaque scrim hides the page.
        style="html { --mdc-dialog-scrim-color: #9e9e9e !important; }",
        clip={
            "x": box["x"] - rim,
            "y": box["y"] - rim,
            "width": box["width"] + 2 * rim,
            "height": box["height"] + 2 * rim,
        },
    )


def sensor_state(page: Page, name: str) -> str | None:
    """The state the device page shows for the sensor called name (e.g. "431 W"), if any yet.

    Read from the row's accessibility text, name then state as a screen reader says them;
    the state sits in nested shadow roots with no label of its own to locate it by. None while
    the row is still being drawn (it is empty then, e.g. right after a state change).
    """
    row = page.locator("hui-sensor-entity-row").filter(has=page.get_by_text(name, exact=True))
    # first: while the card redraws, the old and the new row may both be there for a moment.
    text = " ".join(row.first.aria_snapshot().split())
    match = re.fullmatch(rf"- text: {re.escape(name)} (.+)", text)
    return match.group(1) if match else None
