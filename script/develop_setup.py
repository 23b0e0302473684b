"""Make a freshly started development Home Assistant usable: the part of script/develop in Python.

Through Home Assistant's own interfaces only, as a person in the browser would:
1. wait until the HTTP server answers,
2. finish onboarding with the demo user (onboarding API), or log in as it on later runs,
3. add the simulated meter through the integration's real config flow (REST flow API),
4. point the Energy dashboard at the meter's import and export totals (websocket energy prefs).
What was set up is remembered in .dev/develop-state.json so a rerun with the same simulated
meter keeps its entry (and history); another profile or key replaces it.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict, dataclass
import json
import os
from pathlib import Path
import re
import sys
import time
from typing import Any

import aiohttp

DOMAIN = "smartmeter_datacollector"
DEMO_NAME = "Demo"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105  (documented demo account of a local dev server)
ONBOARDING_STEPS = ("user", "core_config", "analytics", "integration")
# Onboarding's location step (core_config) adds Met.no, Radio Browser, Google Translate and a
# shopping list; under --skip-pip offline the first three fail and greet a newcomer with red
# cards. The location comes from configuration.yaml, so that step (and analytics) are marked
# done before the first start; onboard() still creates the user and finishes the rest.
PREMARKED_STEPS = ("core_config", "analytics")
START_TIMEOUT_S = 600.0  # first start on a busy machine installs nothing but is still slow
FLOW_TIMEOUT_S = 90.0
ENTITY_TIMEOUT_S = 180.0
# OBIS keys of the grid import and export totals, any B channel (L+G send 1-1:, others 1-0:).
IMPORT_TOTAL = re.compile(r"_1-\d+:1\.8\.0$")
EXPORT_TOTAL = re.compile(r"_1-\d+:2\.8\.0$")


class SetupError(Exception):
    """Something the person running script/develop has to look at."""


@dataclass(frozen=True, slots=True)
class Meter:
    """The simulated meter the entry is for."""

    profile: str
    port: str
    key: str | None
    auth_key: str | None


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


class HomeAssistant:
    """Just enough of Home Assistant's HTTP and websocket API."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.token: str | None = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def request(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        async with self.session.request(
            method, f"{self.url}{path}", json=payload, headers=self._headers()
        ) as response:
            body = await response.text()
            try:
                return response.status, json.loads(body) if body else None
            except json.JSONDecodeError:
                return response.status, body

    async def call(self, method: str, path: str, payload: Any = None) -> Any:
        status, body = await self.request(method, path, payload)
        if status >= 400:
            raise SetupError(f"{method} {path} answered {status}: {body}")
        return body

    async def wait_until_up(self, hass_pid: int | None) -> list[dict[str, Any]]:
        """Return the onboarding steps once the HTTP server answers."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if hass_pid is not None and not _alive(hass_pid):
                raise SetupError("Home Assistant exited during startup (see its log)")
            try:
                status, steps = await self.request("GET", "/api/onboarding")
                if status == 200:
                    return list(steps)
                if status == 404:  # Home Assistant drops the onboarding API once it is done
                    return [{"step": step, "done": True} for step in ONBOARDING_STEPS]
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"Home Assistant did not answer on {self.url}")
            await asyncio.sleep(1)

    async def _exchange(self, code: str) -> None:
        async with self.session.post(
            f"{self.url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        ) as response:
            if response.status != 200:
                raise SetupError(f"token exchange failed: {await response.text()}")
            self.token = (await response.json())["access_token"]

    async def onboard(self, steps: list[dict[str, Any]]) -> None:
        """Finish every open onboarding step; log in as the demo user."""
        done = {s["step"] for s in steps if s["done"]}
        if "user" not in done:
            say(f"Onboarding: creating the user {DEMO_USER!r}")
            result = await self.call(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": DEMO_NAME,
                    "username": DEMO_USER,
                    "password": DEMO_PASSWORD,
                    "language": "en",
                },
            )
            await self._exchange(result["auth_code"])
        else:
            await self.login()
        if "core_config" not in done:
            await self.call("POST", "/api/onboarding/core_config")
        if "analytics" not in done:
            await self.call("POST", "/api/onboarding/analytics")
        if "integration" not in done:
            await self.call(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
            )
        say("Onboarding complete")

    async def login(self) -> None:
        """Log in through the login flow, as the login page does."""
        flow = await self.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/?auth_callback=1",
            },
        )
        result = await self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": DEMO_USER, "password": DEMO_PASSWORD},
        )
        if result.get("type") != "create_entry":
            raise SetupError(
                f"cannot log in as {DEMO_USER!r} ({result.get('errors')}); "
                "delete .dev/config to start over"
            )
        await self._exchange(result["result"])

    async def entries(self) -> list[dict[str, Any]]:
        return list(await self.call("GET", f"/api/config/config_entries/entry?domain={DOMAIN}"))

    async def add_meter(self, meter: Meter) -> str:
        """Run the integration's config flow; return the new entry id."""
        before = {e["entry_id"] for e in await self.entries()}
        flow = await self.call("POST", "/api/config/config_entries/flow", {"handler": DOMAIN})
        if flow.get("type") != "form":
            raise SetupError(f"the config flow did not show its form: {flow}")
        form = {
            "profile": meter.profile,
            "port": meter.port,
            "advanced": {"auth_key": meter.auth_key} if meter.auth_key else {},
        }
        if meter.key:
            form["key"] = meter.key
        say(f"Config flow: {meter.profile} on {meter.port}")
        result = await self.call("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", form)
        deadline = time.monotonic() + FLOW_TIMEOUT_S
        while result.get("type") == "progress":
            if time.monotonic() > deadline:
                raise SetupError("the config flow kept listening without an answer")
            await asyncio.sleep(1)
            status, result = await self.request(
                "GET", f"/api/config/config_entries/flow/{flow['flow_id']}"
            )
            if status == 404:  # the flow finished in the background: it created the entry
                result = {"type": "create_entry"}
        if result.get("type") == "form":
            raise SetupError(f"the config flow reported {result.get('errors')}")
        if result.get("type") != "create_entry":
            raise SetupError(f"the config flow ended with {result}")
        created = [e for e in await self.entries() if e["entry_id"] not in before]
        if not created:
            raise SetupError("the config flow finished but no entry exists")
        say(f"Added {created[0]['title']!r}")
        return str(created[0]["entry_id"])


class Websocket:
    """Commands over /api/websocket, one at a time."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 1

    @classmethod
    async def connect(cls, hass: HomeAssistant) -> Websocket:
        ws = await hass.session.ws_connect(f"{hass.url}/api/websocket")
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": hass.token})
        if (await ws.receive_json()).get("type") != "auth_ok":
            raise SetupError("websocket authentication failed")
        return cls(ws)

    async def command(self, message: dict[str, Any]) -> Any:
        message_id, self.next_id = self.next_id, self.next_id + 1
        await self.ws.send_json({"id": message_id, **message})
        while True:
            reply = await self.ws.receive_json()
            if reply.get("id") == message_id and reply.get("type") == "result":
                if not reply.get("success"):
                    raise SetupError(f"{message['type']} failed: {reply.get('error')}")
                return reply.get("result")


async def energy_entities(ws: Websocket, entry_id: str) -> tuple[str, str | None]:
    """Entity ids of the meter's import and export totals, once the first readings made them."""
    deadline = time.monotonic() + ENTITY_TIMEOUT_S
    while True:
        entities = [
            e
            for e in await ws.command({"type": "config/entity_registry/list"})
            if e.get("config_entry_id") == entry_id
        ]
        imports = [e["entity_id"] for e in entities if IMPORT_TOTAL.search(e["unique_id"])]
        exports = [e["entity_id"] for e in entities if EXPORT_TOTAL.search(e["unique_id"])]
        if imports and (exports or time.monotonic() > deadline):
            return imports[0], exports[0] if exports else None
        if time.monotonic() > deadline:
            raise SetupError("the meter's energy import total never appeared")
        await asyncio.sleep(2)


async def configure_energy(ws: Websocket, imported: str, exported: str | None) -> None:
    """The Energy dashboard's grid source: import from, export to the grid."""
    price = {"entity_energy_price": None, "number_energy_price": None}
    await ws.command(
        {
            "type": "energy/save_prefs",
            "energy_sources": [
                {
                    "type": "grid",
                    "flow_from": [{"stat_energy_from": imported, "stat_cost": None, **price}],
                    "flow_to": (
                        [{"stat_energy_to": exported, "stat_compensation": None, **price}]
                        if exported
                        else []
                    ),
                    "cost_adjustment_day": 0,
                }
            ],
        }
    )
    say(f"Energy dashboard: import {imported}, export {exported or '(none)'}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def setup(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """Bring Home Assistant to the demo state; return what to remember for the next run."""
    meter = Meter(args.profile, args.port, args.key or None, args.auth_key or None)
    async with aiohttp.ClientSession() as session:
        hass = HomeAssistant(session, args.url)
        steps = await hass.wait_until_up(args.hass_pid)
        await hass.onboard(steps)
        existing = {e["entry_id"]: e for e in await hass.entries()}
        entry_id = state.get("entry_id")
        if state.get("meter") == asdict(meter) and entry_id in existing:
            say(f"Keeping {existing[entry_id]['title']!r} from the last run")
        else:
            for old in existing:
                say(f"Removing the entry of the previous simulated meter ({old})")
                await hass.call("DELETE", f"/api/config/config_entries/entry/{old}")
            entry_id = await hass.add_meter(meter)
        state = {"meter": asdict(meter), "entry_id": entry_id}
        ws = await Websocket.connect(hass)
        try:
            imported, exported = await energy_entities(ws, entry_id)
            await configure_energy(ws, imported, exported)
        finally:
            await ws.ws.close()
    return state


def premark_onboarding(config: Path) -> None:
    """Mark PREMARKED_STEPS done in a configuration Home Assistant has not onboarded yet.

    Home Assistant reads .storage/onboarding at start; a file that exists is left alone, so a
    configuration onboarded the ordinary way keeps its history.
    """
    storage = config / ".storage" / "onboarding"
    if storage.exists():
        return
    storage.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "version": 4,
        "minor_version": 1,
        "key": "onboarding",
        "data": {"done": list(PREMARKED_STEPS)},
    }
    storage.write_text(json.dumps(document) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument(
        "--premark-onboarding",
        type=Path,
        metavar="CONFIG",
        help="before the first start: mark the location steps done in CONFIG, then exit",
    )
    parser.add_argument("--profile")
    parser.add_argument("--port", help="serial port path of the simulated meter")
    parser.add_argument("--key")
    parser.add_argument("--auth-key")
    parser.add_argument("--state", type=Path)
    parser.add_argument("--hass-pid", type=int, help="give up when this process exits")
    args = parser.parse_args()
    if args.premark_onboarding is not None:
        premark_onboarding(args.premark_onboarding)
        return 0
    if args.profile is None or args.port is None or args.state is None:
        parser.error("--profile, --port and --state are required")
    state_file: Path = args.state
    state = json.loads(state_file.read_text()) if state_file.is_file() else {}
    try:
        state = asyncio.run(setup(args, state))
    except SetupError as err:
        say(f"ERROR: {err}")
        return 1
    except KeyboardInterrupt:
        return 130
    state_file.write_text(json.dumps(state, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
