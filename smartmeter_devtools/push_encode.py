"""Encode a meter's pushes from snapshots, with the Reading a correct decoder must produce."""

from __future__ import annotations

from dataclasses import dataclass
import math
import random
from types import MappingProxyType
from typing import TYPE_CHECKING

from ._decoder import LLC_SERVER_TO_CLIENT, PROFILES, Measurement, Reading
from .apdu_encode import data_notification, gbt_blocks, glo_ciphering
from .axdr_encode import (
    Array,
    AxdrValue,
    CosemDateTime,
    Enum,
    Int8,
    OctetString,
    Structure,
    UInt16,
    VisibleString,
    obis,
)
from .framing_encode import (
    CONTROL_UI_FINAL,
    hdlc_frame,
    hdlc_frames_per_block,
    hdlc_segmented,
    mbus_frames,
)
from .meter_model import LAYOUTS, Clock, MBus, MeterObject, Reg, Text, unit_of

if TYPE_CHECKING:
    from datetime import tzinfo

    from .load_model import Snapshot


@dataclass(frozen=True, slots=True)
class EncodedMessage:
    """The transport frames of one push and the reading they must decode to.

    `expected` assumes the decoder is given the encoder's time zone for unspecified deviations.
    """

    frames: tuple[bytes, ...]
    expected: Reading

    @property
    def data(self) -> bytes:
        """All frames as one byte string, as they go on the wire."""
        return b"".join(self.frames)


def fill_template(template: str, rng: random.Random) -> str:
    """Replace each `#` with a digit drawn from `rng`."""
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in template)


def on_channel(item: MeterObject) -> bool:
    """An object of an M-Bus channel (OBIS A = 0, B > 0: IEC 62056-6-1 7.3.2)."""
    obis = getattr(item, "obis", None)
    return obis is not None and obis.startswith("0-") and not obis.startswith("0-0:")


def _class_id(item: MeterObject) -> int:
    if isinstance(item, Reg):
        return 4 if item.extended else 3
    return 8 if isinstance(item, Clock) else 1


class MeterEncoder:
    """Turns snapshots into one profile's push messages; counters advance per message."""

    # Keyword-only options of one simulated meter; a settings object would only rename them.
    def __init__(  # noqa: PLR0913
        self,
        profile: str,
        *,
        tz: tzinfo,
        seed: int = 0,
        key: bytes | None = None,
        auth_key: bytes | None = None,
        channel_every: int = 0,
    ) -> None:
        """Identifiers and the system title derive from `seed`; a key switches ciphering on.

        `channel_every` n > 0 (a layout with a channel push setup): the M-Bus channel objects
        leave the main push and every n-th push carries them alone, under their own push setup.
        """
        self.layout = LAYOUTS[profile]
        if channel_every and self.layout.channel_push_setup is None:
            raise ValueError(f"{profile} pushes no M-Bus channels on their own")
        self._channel_every = channel_every
        self._scalers = PROFILES[profile].scalers
        self._tz = tz
        self._key, self._auth_key = key, auth_key
        rng = random.Random(seed)  # noqa: S311  (simulated identities, not secrets)
        items = (*self.layout.objects, *self.layout.long_objects)
        self.texts = {i: fill_template(i.template, rng) for i in items if isinstance(i, Text)}
        self.system_title = self.layout.flag.encode() + b"\x67" + rng.randbytes(4)
        self._pushes = 0
        self._invocation_counter = rng.randrange(1, 1 << 20)

    @property
    def meter_id(self) -> str | None:
        """The identifier a decoder should report for this meter."""
        return next((v for t, v in self.texts.items() if t.meter_id), None)

    def _objects(self) -> tuple[tuple[MeterObject, ...], str | None, bool]:
        """This push's objects, its push setup and whether it is the channels' push."""
        layout = self.layout
        long_list = layout.long_objects and self._pushes % layout.long_every == 0
        objects = (*layout.objects, *(layout.long_objects if long_list else ()))
        every = self._channel_every
        if not every:
            return objects, layout.push_setup, False
        if (self._pushes + 1) % every:
            return tuple(i for i in objects if not on_channel(i)), layout.push_setup, False
        return tuple(i for i in objects if on_channel(i)), layout.channel_push_setup, True

    def encode(self, snapshot: Snapshot) -> EncodedMessage:
        """Build the frames of the next push for `snapshot`."""
        layout = self.layout
        objects, setup, channels = self._objects()
        stamp = CosemDateTime.from_datetime(
            snapshot.time, self._tz, with_deviation=layout.deviation, hundredths=layout.hundredths
        )
        clock = CosemDateTime.from_datetime(
            snapshot.time,
            self._tz,
            with_deviation=layout.deviation,
            hundredths=layout.hundredths,
            status_extra=layout.clock_status_extra,
        )
        values: dict[str, Measurement] = {}
        elements: list[tuple[MeterObject, AxdrValue, AxdrValue | None]] = []
        for item in objects:
            wire, extra = self._value(item, snapshot, clock, values)
            elements.append((item, wire, extra))
        invoke = (layout.invoke_base + layout.invoke_step * self._pushes) & 0xFFFFFFFF
        apdu = data_notification(
            invoke, stamp if layout.header_time else None, self._body(elements, setup)
        )
        system_title = None
        if self._key is not None:
            self._invocation_counter += 1
            system_title = self.system_title.hex()
            apdu = glo_ciphering(
                apdu,
                key=self._key,
                system_title=self.system_title,
                invocation_counter=self._invocation_counter,
                auth_key=self._auth_key,
            )
        self._pushes += 1
        has_clock = any(isinstance(i, Clock) for i in objects)
        # The channels' push names the device on channel 1 (the first identifier) and carries
        # nothing of the meter's own, so only a system title tells its maker.
        own_id = None if channels else self.meter_id
        channel_id = next((self.texts[i] for i in objects if isinstance(i, Text)), None)
        expected = Reading(
            meter_id=channel_id if channels else self.meter_id,
            timestamp=(clock if has_clock else stamp).to_datetime(self._tz),
            values=MappingProxyType(values),
            manufacturer=layout.flag
            if system_title or (own_id or "").startswith(layout.flag)
            else None,
            system_title=system_title,
        )
        return EncodedMessage(frames=tuple(self._frames(apdu)), expected=expected)

    def _value(
        self,
        item: MeterObject,
        snapshot: Snapshot,
        clock: CosemDateTime,
        values: dict[str, Measurement],
    ) -> tuple[AxdrValue, AxdrValue | None]:
        """Wire value and optional {scaler, unit} of one object; records the expected value."""
        if isinstance(item, Clock):
            return clock.octet_string(), None
        if isinstance(item, Text):
            text = self.texts[item]
            if item.obis is not None:
                values[item.obis] = Measurement(text, None)
            wire_text = VisibleString(text) if item.visible else OctetString(text.encode())
            return wire_text, None
        code = item.obis.partition(":")[2]
        physical = snapshot.registers[code]
        unit_enum, unit = item.unit or unit_of(item.obis)
        factor = 10.0**item.scaler if item.scaler is not None else self._scalers.get(code, 1.0)
        # Energy registers and counters count whole units (floor); instantaneous values round.
        counter = code.split(".")[1] == "8" or item.extended
        raw = math.floor(physical / factor) if counter else round(physical / factor)
        bits = item.wire.SIZE * 8 - (1 if item.wire.SIGNED else 0)
        raw = max(-(1 << bits) if item.wire.SIGNED else 0, min(raw, (1 << bits) - 1))
        # As a decoder scales: 2337 x 10^-1 is 233.7, not 233.70000000000002.
        scaled = raw / round(1 / factor) if factor < 1 else raw * factor
        values[item.obis] = Measurement(int(scaled) if scaled == int(scaled) else scaled, unit)
        extra = None
        if item.scaler is not None:
            extra = Structure((Int8(item.scaler), Enum(unit_enum)))
        return item.wire(raw), extra

    def _body(
        self,
        elements: list[tuple[MeterObject, AxdrValue, AxdrValue | None]],
        setup: str | None,
    ) -> AxdrValue:
        shape = self.layout.shape
        if shape == "push_list":
            return self._push_list(elements, setup)
        if shape == "structures":
            return Array(
                tuple(
                    Structure((obis(item.obis), wire, *((extra,) if extra else ())))
                    for item, wire, extra in elements
                    if item.obis is not None
                )
            )
        flat: list[AxdrValue] = []
        for item, wire, extra in elements:
            if item.obis is not None:
                flat.append(obis(item.obis))
            flat.append(wire)
            if extra is not None:
                flat.append(extra)
        return Structure(tuple(flat))

    def _push_list(
        self, elements: list[tuple[MeterObject, AxdrValue, AxdrValue | None]], setup: str | None
    ) -> AxdrValue:
        if setup is None:
            raise ValueError("a push-list layout names its push setup")
        heads = [(40, setup, 2)] + ([(40, setup, 1)] if self.layout.push_list_names_itself else [])
        entries = list(heads)
        values: list[AxdrValue] = []
        for item, wire, extra in elements:
            if item.obis is not None:
                entries.append((_class_id(item), item.obis, 2))
            values.append(wire)
            if extra is not None and item.obis is not None:
                # Attribute 3 (scaler_unit) of the same register, its own push-list entry.
                entries.append((_class_id(item), item.obis, 3))
                values.append(extra)
        descriptors = Array(
            tuple(
                Structure((UInt16(cls), obis(code), Int8(attribute), UInt16(0)))
                for cls, code, attribute in entries
            )
        )
        head: list[AxdrValue] = [descriptors]
        if self.layout.push_list_names_itself:
            head.append(obis(setup))
        return Structure((*head, *values))

    def _frames(self, apdu: bytes) -> list[bytes]:
        transport = self.layout.transport
        if isinstance(transport, MBus):
            return mbus_frames(apdu, max_data=transport.max_data)
        if transport.gbt_block is not None:
            return hdlc_frames_per_block(
                gbt_blocks(apdu, transport.gbt_block), dest=transport.dest, src=transport.src
            )
        if transport.segment is not None:
            return hdlc_segmented(
                apdu, dest=transport.dest, src=transport.src, max_info=transport.segment
            )
        return [
            hdlc_frame(
                LLC_SERVER_TO_CLIENT + apdu,
                dest=transport.dest,
                src=transport.src,
                control=CONTROL_UI_FINAL,
            )
        ]
