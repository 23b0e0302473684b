"""Logging every reading in the seed tool's logger format (protocol-notes §7.5).

Users grep these lines or ship them to a log pipeline as they did with the seed's `logger` sink;
one record per reading: a header with meter id and UTC time, then one line per value.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from .mqtt_format import SourceTracker, log_text, seed_values, utc_time

if TYPE_CHECKING:
    from ..dlms.models import Reading

# The name the README documents for users' logger configuration; it outlived the move to publish/.
READINGS_LOGGER = logging.getLogger(f"{LOGGER.name}.readings")


class ReadingLogPublisher:
    """Writes each reading to the readings logger at INFO."""

    def __init__(self, *, profile: str, meter_id_fallback: str) -> None:
        self._profile = profile
        self._sources = SourceTracker(meter_id_fallback)
        self._logged = 0
        self._set_level = False

    @property
    def stats(self) -> dict[str, Any]:
        """How many readings were logged."""
        return {"logged": self._logged}

    async def async_start(self) -> None:
        """Make INFO visible unless the user configured this logger's level themselves."""
        # Home Assistant logs WARNING by default; turning the option on must show the lines.
        if READINGS_LOGGER.level == logging.NOTSET:
            READINGS_LOGGER.setLevel(logging.INFO)
            self._set_level = True

    async def async_stop(self) -> None:
        """Give the logger level back."""
        if self._set_level:
            READINGS_LOGGER.setLevel(logging.NOTSET)
            self._set_level = False

    @callback
    def publish(self, reading: Reading) -> None:
        """Log the reading (once its meter id is known, as the seed does)."""
        if not READINGS_LOGGER.isEnabledFor(logging.INFO):
            return
        for source, item in self._sources.resolve(reading):
            when = utc_time(item.timestamp, dt_util.get_default_time_zone(), dt_util.utcnow())
            READINGS_LOGGER.info("%s", log_text(source, seed_values(item, self._profile), when))
            self._logged += 1
