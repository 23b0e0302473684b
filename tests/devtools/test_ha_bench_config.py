"""The bench's config folders: what Home Assistant will load, checked with its own readers."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.components.dsmr.const import (
    CONF_DSMR_VERSION,
    CONF_SERIAL_ID,
    CONF_SERIAL_ID_GAS,
    CONF_TIME_BETWEEN_UPDATE,
    DSMR_PROTOCOL,
)
from homeassistant.const import CONF_PORT, CONF_PROTOCOL
from homeassistant.util.yaml import load_yaml_dict

from custom_components.smartmeter_datacollector.config_flow import SmartMeterConfigFlow
from custom_components.smartmeter_datacollector.const import (
    CONF_MIN_INTERVAL,
    CONF_PROFILE,
    DOMAIN,
)
from smartmeter_devtools.ha_bench_config import CASES, config_flow_version, prepare

REPO = Path(__file__).parents[2]


def _entries(config: Path) -> list[dict[str, object]]:
    stored = json.loads((config / ".storage" / "core.config_entries").read_text())
    assert stored["key"] == "core.config_entries"
    entries: list[dict[str, object]] = stored["data"]["entries"]
    return entries


def test_idle_case_has_the_recorder_and_no_entry(tmp_path: Path) -> None:
    """The idle case: recorder on, HTTP on loopback at its own port, nothing configured."""
    config = prepare(CASES["idle"], tmp_path, REPO, "Europe/Zurich", 18999)

    yaml = load_yaml_dict(config / "configuration.yaml")
    assert "recorder" in yaml
    assert yaml["http"] == {"server_host": "127.0.0.1", "server_port": 18999}
    assert yaml["homeassistant"]["time_zone"] == "Europe/Zurich"
    assert (config / "custom_components").resolve() == REPO / "custom_components"
    assert _entries(config) == []


def test_our_case_is_an_entry_our_integration_loads(tmp_path: Path) -> None:
    """Our entry has the config flow's version, the port link and the case's options."""
    config = prepare(CASES["min10"], tmp_path, REPO, "UTC", 18998)

    (entry,) = _entries(config)
    assert entry["domain"] == DOMAIN
    assert entry["version"] == SmartMeterConfigFlow.VERSION
    assert entry["data"] == {CONF_PROFILE: "lge450", CONF_PORT: str(config / "ttyBENCH")}
    assert entry["options"] == {CONF_MIN_INTERVAL: 10}
    assert entry["pref_disable_new_entities"] is False


def test_the_case_without_sensors_adds_them_disabled(tmp_path: Path) -> None:
    """no_sensors: the same entry, but Home Assistant registers its new sensors disabled."""
    config = prepare(CASES["no_sensors"], tmp_path, REPO, "UTC", 18996)

    (entry,) = _entries(config)
    assert entry["domain"] == DOMAIN
    assert entry["options"] == {}
    assert entry["pref_disable_new_entities"] is True


def test_the_floor_case_configures_no_home_assistant(tmp_path: Path) -> None:
    """The floor runs the integration's read and decoder alone: no entry for anything."""
    config = prepare(CASES["floor"], tmp_path, REPO, "UTC", 18995)

    assert _entries(config) == []
    assert (config / "custom_components").resolve() == REPO / "custom_components"


def test_dsmr_case_uses_core_dsmr_keys(tmp_path: Path) -> None:
    """The dsmr entry carries the keys core dsmr reads, for a DSMR 5 meter on the same link."""
    config = prepare(CASES["dsmr_0"], tmp_path, REPO, "UTC", 18997)

    (entry,) = _entries(config)
    assert entry["domain"] == "dsmr"
    data = entry["data"]
    assert isinstance(data, dict)
    assert data[CONF_PORT] == str(config / "ttyBENCH")
    assert data[CONF_DSMR_VERSION] == "5"
    assert data[CONF_PROTOCOL] == DSMR_PROTOCOL
    assert {CONF_SERIAL_ID, CONF_SERIAL_ID_GAS} <= data.keys()
    assert entry["options"] == {CONF_TIME_BETWEEN_UPDATE: 0}


def test_an_old_checkout_without_a_version_gets_version_1(tmp_path: Path) -> None:
    """A baseline checkout whose config flow predates VERSION is stored as version 1."""
    flow = tmp_path / "custom_components" / DOMAIN / "config_flow.py"
    flow.parent.mkdir(parents=True)
    flow.write_text("class Flow:\n    pass\n")
    assert config_flow_version(tmp_path) == 1

    flow.write_text("class Flow:\n    VERSION = 3\n")
    assert config_flow_version(tmp_path) == 3
