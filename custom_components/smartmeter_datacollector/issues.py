"""Repair issue ids: what the coordinator raises and the repair flows fix, in one place."""

from __future__ import annotations

from typing import Final

# The meter has sent nothing for NO_DATA_ISSUE_AFTER seconds: check the port.
ISSUE_NO_DATA: Final = "no_data"
# Messages in a row failed decryption: the operator changed the keys.
ISSUE_DECRYPTION: Final = "decryption_failed"
# The external MQTT broker has been unreachable for a while.
ISSUE_BROKER_UNREACHABLE: Final = "mqtt_broker_unreachable"


def issue_id(kind: str, entry_id: str) -> str:
    """Repair issue id for one entry (two meters can both be silent)."""
    return f"{kind}_{entry_id}"
