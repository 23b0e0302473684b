"""The shared real captures (../shared/vectors), read at run time; no Home Assistant needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import json
from pathlib import Path
from typing import Any

import pytest

VECTORS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors").resolve()
NO_VECTORS = f"shared capture vectors not found at {VECTORS} (they are not part of the repository)"


@dataclass(frozen=True)
class Capture:
    """One capture: its frames as on the wire and the sidecar's expectations."""

    name: str
    frames: tuple[bytes, ...]
    meta: dict[str, Any]

    @property
    def data(self) -> bytes:
        """The byte stream as the meter sent it."""
        return b"".join(self.frames)

    @property
    def profile(self) -> str:
        """The meter type a user would pick."""
        return str(self.meta["profile"])

    @property
    def expected_timestamp(self) -> datetime | None:
        """The sidecar's timestamp as a datetime (naive when the meter gave no offset)."""
        text = self.meta["timestamp"]
        return datetime.fromisoformat(text) if text else None


def load(name: str) -> Capture:
    """Read one capture; skip the calling test when the shared folder is absent."""
    if not VECTORS.is_dir():
        pytest.skip(NO_VECTORS)
    lines = (VECTORS / f"{name}.hex").read_text(encoding="ascii").split()
    meta = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))
    return Capture(name, tuple(bytes.fromhex(line) for line in lines), meta)


def names(**where: Any) -> list[Any]:
    """Parametrize over captures whose sidecar fields equal `where` (one skip when absent)."""
    if not VECTORS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_VECTORS), id="no-vectors")]
    selected = []
    for sidecar in sorted(VECTORS.glob("*.json")):
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if all(meta.get(field) == value for field, value in where.items()):
            selected.append(pytest.param(meta["name"], id=meta["name"]))
    return selected
