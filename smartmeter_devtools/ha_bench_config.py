"""The Home Assistant config folders `ha_bench` runs: the cases, configuration.yaml, the entries.

Each case gets its own folder with a configuration (recorder on, HTTP on loopback only) and a
stored config entry written before Home Assistant starts, so no config flow runs in the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from pathlib import Path
import re
from typing import Any

DOMAIN = "smartmeter_datacollector"
# What the simulator's --link and the entries' port point at, inside each config folder.
PORT_LINK = "ttyBENCH"


@dataclass(frozen=True, slots=True)
class CaseSpec:
    """One Home Assistant to run: which integration and with what options."""

    name: str
    kind: str  # "idle", "ours", "dsmr" or "floor" (ha_bench_floor instead of Home Assistant)
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    # The integration from --baseline-root (an older checkout) instead of --integration-root.
    baseline: bool = False
    # Seconds between pushes; with usb_latency the simulator hands each push over in pieces at
    # the line speed (an E450's 2400 Bd through a USB adapter), which takes most of 5 s.
    interval: float = 1.0
    usb_latency: float = 0.0
    # False: the entry adds its sensors disabled (the reading and decoding path alone).
    sensors: bool = True


CASES: dict[str, CaseSpec] = {
    spec.name: spec
    for spec in (
        CaseSpec("idle", "idle", note="recorder, no meter"),
        CaseSpec("default", "ours", note="options as a new entry has them"),
        CaseSpec("floor", "floor", note="the integration's serialx read and decoder, no HA"),
        CaseSpec(
            "no_sensors",
            "ours",
            note="sensors disabled: reading, decoding, coordinator",
            sensors=False,
        ),
        CaseSpec("every_push", "ours", {"min_interval": 0}, "min_interval 0"),
        CaseSpec("min10", "ours", {"min_interval": 10}, "min_interval 10 s"),
        CaseSpec("base_default", "ours", note="--baseline-root, its defaults", baseline=True),
        CaseSpec("base_min10", "ours", {"min_interval": 10}, "--baseline-root", baseline=True),
        CaseSpec(
            "usb",
            "ours",
            note="2400 Bd in 16 ms USB pieces, every 5 s",
            interval=5.0,
            usb_latency=0.016,
        ),
        CaseSpec(
            "base_usb",
            "ours",
            note="--baseline-root, 2400 Bd in 16 ms USB pieces, every 5 s",
            baseline=True,
            interval=5.0,
            usb_latency=0.016,
        ),
        CaseSpec("dsmr_default", "dsmr", note="time_between_update 30 s (default)"),
        CaseSpec("dsmr_0", "dsmr", {"time_between_update": 0}, "time_between_update 0"),
    )
}


def configuration(time_zone: str, http_port: int) -> str:
    """configuration.yaml of one case: the recorder on SQLite, quiet logs."""
    # Home Assistant always starts its HTTP server: one port each, loopback only.
    return f"""homeassistant:
  name: bench
  time_zone: {time_zone}
  unit_system: metric
  currency: CHF
  country: CH
  latitude: 47.3769
  longitude: 8.5417
  elevation: 408
http:
  server_host: 127.0.0.1
  server_port: {http_port}
recorder:
logger:
  default: warning
"""


def config_flow_version(integration_root: Path) -> int:
    """The entry version the checkout's config flow writes (an older checkout may differ)."""
    source = (integration_root / "custom_components" / DOMAIN / "config_flow.py").read_text()
    match = re.search(r"^\s+VERSION = (\d+)", source, re.MULTILINE)
    return int(match.group(1)) if match else 1


def entry(spec: CaseSpec, port: Path, integration_root: Path) -> dict[str, Any]:
    """A stored config entry (storage minor version 1: Home Assistant fills in the rest)."""
    if spec.kind == "ours":
        return {
            "entry_id": f"bench{spec.name}",
            "version": config_flow_version(integration_root),
            "domain": DOMAIN,
            "title": f"Bench {spec.name}",
            "data": {"profile": "lge450", "port": str(port)},
            "options": spec.options,
            "source": "user",
            "unique_id": f"LGZbench{spec.name}",
            "pref_disable_new_entities": not spec.sensors,
        }
    return {
        "entry_id": f"bench{spec.name}",
        "version": 1,
        "domain": "dsmr",
        "title": str(port),
        "data": {
            "port": str(port),
            "dsmr_version": "5",
            "protocol": "dsmr_protocol",
            "serial_id": "E0044007131650617",
            "serial_id_gas": "G0039001652050216",
        },
        "options": spec.options,
        "source": "user",
        "unique_id": "E0044007131650617",
    }


def prepare(
    spec: CaseSpec, base: Path, integration_root: Path, time_zone: str, http_port: int
) -> Path:
    """Write the case's config folder under `base`; return it."""
    config = base / spec.name
    (config / ".storage").mkdir(parents=True)
    (config / "configuration.yaml").write_text(configuration(time_zone, http_port))
    (config / "custom_components").symlink_to(integration_root / "custom_components")
    entries = (
        [entry(spec, config / PORT_LINK, integration_root)] if spec.kind in {"ours", "dsmr"} else []
    )
    (config / ".storage" / "core.config_entries").write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 1,
                "key": "core.config_entries",
                "data": {"entries": entries},
            }
        )
    )
    return config
