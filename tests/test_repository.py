"""The repository passes the checks hassfest and HACS run before users can install it.

hassfest and the HACS action only run on GitHub; these tests catch the same mistakes locally:
a manifest key HACS or hassfest rejects, an unsorted manifest, a requirement that differs from
what the tests ran against, a hacs.json that asks for a newer Home Assistant than we test with,
a broken translation file or a missing brand icon.
"""

from __future__ import annotations

import json
from pathlib import Path
import struct
import tomllib
import typing
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant import const as ha_const
from homeassistant.loader import Manifest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import pytest

ROOT = Path(__file__).parent.parent
DOMAIN = "smartmeter_datacollector"
INTEGRATION = ROOT / "custom_components" / DOMAIN

# HACS' hacs.json schema rejects every key not in this list (hacs/integration,
# custom_components/hacs/utils/validate.py, HACS_MANIFEST_JSON_SCHEMA, extra=PREVENT_EXTRA).
HACS_JSON_KEYS = {
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "name",
    "persistent_directory",
    "render_readme",
    "zip_release",
}
# Manifest keys HACS requires of every integration (INTEGRATION_MANIFEST_JSON_SCHEMA).
HACS_MANIFEST_REQUIRED = {
    "codeowners",
    "documentation",
    "domain",
    "issue_tracker",
    "name",
    "version",
}
# Keys Home Assistant sets itself on the loaded manifest; a manifest.json must not carry them.
LOADER_ONLY_KEYS = {"is_built_in", "overwrites_built_in"}
# Version schemes Home Assistant's loader accepts for a custom integration (loader.py).
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_object(path: Path) -> dict[str, Any]:
    data = _load_json(path)
    assert isinstance(data, dict), f"{path.name} is not a JSON object"
    return data


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _load_object(INTEGRATION / "manifest.json")


@pytest.fixture(scope="module")
def hacs_json() -> dict[str, Any]:
    return _load_object(ROOT / "hacs.json")


def _test_pins() -> dict[str, str]:
    """Map each package pinned in requirements_test.txt to its version."""
    pins: dict[str, str] = {}
    for raw in (ROOT / "requirements_test.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def test_manifest_keys_sorted_as_hassfest_wants(manifest: dict[str, Any]) -> None:
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_manifest_has_only_keys_home_assistant_knows(manifest: dict[str, Any]) -> None:
    known = set(typing.get_type_hints(Manifest)) - LOADER_ONLY_KEYS
    assert set(manifest) <= known, f"unknown manifest keys: {set(manifest) - known}"


def test_manifest_has_what_hacs_and_hassfest_require(manifest: dict[str, Any]) -> None:
    assert set(manifest) >= HACS_MANIFEST_REQUIRED
    assert manifest["domain"] == DOMAIN == INTEGRATION.name
    assert manifest["name"]
    for url_key in ("documentation", "issue_tracker"):
        assert manifest[url_key].startswith("https://"), url_key
    assert isinstance(manifest["codeowners"], list)
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_push"
    integration_types = typing.get_args(typing.get_type_hints(Manifest)["integration_type"])
    assert manifest["integration_type"] in integration_types
    # Home Assistant refuses to load a custom integration whose version it cannot parse.
    AwesomeVersion(manifest["version"], ensure_strategy=VERSION_STRATEGIES)


def test_manifest_version_matches_pyproject(manifest: dict[str, Any]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert manifest["version"] == project["version"]


def test_manifest_requirements_are_the_ones_tested(manifest: dict[str, Any]) -> None:
    pins = _test_pins()
    assert manifest["requirements"], "the decoder needs gurux-dlms and serialx"
    for line in manifest["requirements"]:
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1, line
        assert specifiers[0].operator == "==", f"{line} must be pinned with =="
        name = canonicalize_name(requirement.name)
        assert pins.get(name) == specifiers[0].version, (
            f"{line} differs from requirements_test.txt ({name}=={pins.get(name)})"
        )


def test_hacs_json_passes_the_hacs_schema(hacs_json: dict[str, Any]) -> None:
    assert set(hacs_json) <= HACS_JSON_KEYS, f"unknown keys: {set(hacs_json) - HACS_JSON_KEYS}"
    assert isinstance(hacs_json["name"], str)
    assert hacs_json["name"]
    for flag in ("content_in_root", "hide_default_branch", "render_readme", "zip_release"):
        if flag in hacs_json:
            assert isinstance(hacs_json[flag], bool), flag
    if hacs_json.get("zip_release"):
        assert hacs_json.get("filename"), "zip_release needs filename"


def test_hacs_minimum_home_assistant_is_one_we_test(hacs_json: dict[str, Any]) -> None:
    minimum = AwesomeVersion(hacs_json["homeassistant"])
    assert minimum.strategy == AwesomeVersionStrategy.CALVER
    assert minimum <= AwesomeVersion(ha_const.__version__), (
        f"hacs.json asks for {minimum}, the tests run against {ha_const.__version__}"
    )


def test_translations_are_json_objects_with_english_source() -> None:
    folder = INTEGRATION / "translations"
    if not folder.is_dir():
        pytest.skip("translations/ does not exist yet")
    assert (folder / "en.json").is_file(), "en.json is the source of every other language"
    for path in sorted(folder.glob("*.json")):
        assert isinstance(_load_json(path), dict), f"{path.name} is not a JSON object"


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which the PNG spec puts first."""
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert header[12:16] == b"IHDR", f"{path.name} has no IHDR chunk first"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_brand_icon_is_256_square_png() -> None:
    assert _png_size(INTEGRATION / "brand" / "icon.png") == (256, 256)


def test_brand_hidpi_icon_is_512_square_png() -> None:
    path = INTEGRATION / "brand" / "icon@2x.png"
    if not path.exists():
        pytest.skip("no icon@2x.png (optional)")
    assert _png_size(path) == (512, 512)
