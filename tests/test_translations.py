"""Every language says everything English says, with the same placeholders."""

from __future__ import annotations

import json
from pathlib import Path
import string
from typing import Any

import pytest

FOLDER = (
    Path(__file__).resolve().parents[1]
    / "custom_components"
    / "smartmeter_datacollector"
    / "translations"
)
LANGUAGES = ("de", "fr", "it")


def _strings(node: Any, path: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        found: dict[str, str] = {}
        for key, value in node.items():
            found.update(_strings(value, f"{path}.{key}" if path else key))
        return found
    return {path: node}


def _load(language: str) -> dict[str, str]:
    return _strings(json.loads((FOLDER / f"{language}.json").read_text(encoding="utf-8")))


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_has_every_english_string_and_no_other(language: str) -> None:
    assert sorted(_load(language)) == sorted(_load("en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_fills_the_same_placeholders(language: str) -> None:
    english = _load("en")
    wrong = {
        key: text
        for key, text in _load(language).items()
        if key in english and _placeholders(text) != _placeholders(english[key])
    }
    assert not wrong


# Texts that read the same in every language: a code plus placeholders.
SAME_EVERYWHERE = {"OBIS", ""}
SAME_NAMES = ("selector.profile.options.",)


def _literal(text: str) -> str:
    return "".join(literal for literal, _, _, _ in string.Formatter().parse(text)).strip()


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_is_translated_not_copied(language: str) -> None:
    english = _load("en")
    copied = [
        key
        for key, text in _load(language).items()
        if text == english.get(key)
        and _literal(text) not in SAME_EVERYWHERE
        and not _literal(text).isdigit()
        # Meter models are product names: "Landis+Gyr E450 (CII / M-Bus, 2400 8E1)" everywhere.
        and not key.startswith(SAME_NAMES)
    ]
    assert not copied
