"""An entity registry file as Home Assistant stores it, for tests of what reads one from disk."""

from __future__ import annotations

import json
from pathlib import Path


def write_entity_registry(config: Path, entities: list[tuple[str, str, str | None]]) -> None:
    """Write `.storage/core.entity_registry` under config: (platform, entity id, disabled_by)."""
    (config / ".storage").mkdir(exist_ok=True)
    (config / ".storage" / "core.entity_registry").write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 16,
                "key": "core.entity_registry",
                "data": {
                    "entities": [
                        {"platform": platform, "entity_id": entity_id, "disabled_by": disabled}
                        for platform, entity_id, disabled in entities
                    ],
                    "deleted_entities": [],
                },
            }
        )
    )
