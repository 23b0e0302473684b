"""What each simulated meter pushes and how: objects, body shape, time stamps and transport.

The layouts copy the real meters' captures (see protocol-notes §3-§5): L+G E450/E570 push
lists over GBT, the E360 single frame, Iskraemeco AM550 HDLC segmentation, the Kamstrup HAN
list, Austrian Kaifa M-Bus triplets and Aidon-style {OBIS, value, {scaler, unit}} arrays.
`push_encode.MeterEncoder` turns them into bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from .axdr_encode import Int16, Int64, IntegerType, UInt16, UInt32, UInt64

if TYPE_CHECKING:
    from collections.abc import Mapping

# COSEM unit enum (Blue Book 4.3.2) and the unit string a decoder reports.
_W, _VA, _VAR, _WH, _VAH, _VARH = (
    (27, "W"),
    (28, "VA"),
    (29, "var"),
    (30, "Wh"),
    (31, "VAh"),
    (32, "varh"),
)
_NO_UNIT: tuple[int, str | None] = (255, None)
_BY_C: Mapping[int, tuple[tuple[int, str | None], tuple[int, str | None]]] = MappingProxyType(
    # OBIS C -> (unit of instantaneous values, unit of energy registers D = 8)
    dict.fromkeys((1, 2, 15, 16, 21, 22, 41, 42, 61, 62), (_W, _WH))
    | dict.fromkeys((3, 4, 5, 6, 7, 8, 23, 24, 43, 44, 63, 64), (_VAR, _VARH))
    | {9: (_VA, _VAH), 10: (_VA, _VAH), 14: ((44, "Hz"), _NO_UNIT)}
    | dict.fromkeys((31, 51, 71, 91), ((33, "A"), _NO_UNIT))
    | dict.fromkeys((32, 52, 72), ((35, "V"), _NO_UNIT))
)


def unit_of(code: str) -> tuple[int, str | None]:
    """COSEM unit enum and decoder unit string for "A-B:C.D.E" (electricity quantities)."""
    c, d = (int(x) for x in code.partition(":")[2].split(".")[:2])
    instantaneous, energy = _BY_C.get(c, (_NO_UNIT, _NO_UNIT))
    return energy if d == 8 else instantaneous


@dataclass(frozen=True, slots=True)
class Reg:
    """A register; `scaler` is sent as {scaler, unit} when set, else the profile default applies.

    `unit` (COSEM enum, decoder string) names what the OBIS C of electricity cannot (m³ of a
    gas meter); `extended` makes it a class 4 register, as M-Bus channel values are (Blue Book
    4.3.4), whose scaler/unit a push list sends as attribute 3 next to the value.
    """

    obis: str
    wire: IntegerType
    scaler: int | None = None
    unit: tuple[int, str | None] | None = None
    extended: bool = False


@dataclass(frozen=True, slots=True)
class Text:
    """An identifier; `#` in the template becomes a seeded digit. No OBIS = untagged element."""

    obis: str | None
    template: str
    visible: bool = False
    meter_id: bool = False


@dataclass(frozen=True, slots=True)
class Clock:
    """The clock object (class 8); no OBIS = an untagged date-time element."""

    obis: str | None = "0-0:1.0.0"


MeterObject = Reg | Text | Clock


@dataclass(frozen=True, slots=True)
class Hdlc:
    """HDLC transport; `gbt_block` = one GBT block per frame, `segment` = HDLC segmentation."""

    dest: bytes
    src: bytes
    gbt_block: int | None = None
    segment: int | None = None


@dataclass(frozen=True, slots=True)
class MBus:
    """Wired M-Bus long frames."""

    max_data: int = 245


@dataclass(frozen=True, slots=True)
class MeterLayout:
    """One meter type's push: body shape, objects, time stamps and transport."""

    shape: str  # "push_list", "pairs", "triplets" or "structures"
    objects: tuple[MeterObject, ...]
    transport: Hdlc | MBus
    flag: str  # FLAG manufacturer id, first 3 bytes of the system title
    push_setup: str | None = None
    push_list_names_itself: bool = False  # entry 1 = the push setup's attribute 1
    # The push setup of a meter's M-Bus channels (objects 0-n:..., n > 0) when they are pushed
    # on their own, as a real E450 alternates 0-8:25.9.0 with 0-11:25.9.0 (`MeterEncoder`).
    channel_push_setup: str | None = None
    header_time: bool = True
    deviation: bool = False  # False: 0x8000, local time of an unknown zone
    hundredths: bool = False
    clock_status_extra: int = 0
    invoke_base: int = 0
    invoke_step: int = 0
    # Kamstrup/Aidon send a longer list (clock, energies) hourly; here every n-th push.
    long_objects: tuple[MeterObject, ...] = ()
    long_every: int = 1


def _regs(wire: IntegerType, scaler: int | None, *codes: str) -> tuple[Reg, ...]:
    return tuple(Reg(code, wire, scaler) for code in codes)


_LG_ENERGY_Q = ("1-1:1.8.0", "1-1:2.8.0", "1-1:5.8.0", "1-1:6.8.0", "1-1:7.8.0", "1-1:8.8.0")
_POWER = ("1-0:1.7.0", "1-0:2.7.0")
_REACTIVE_POWER = ("1-0:3.7.0", "1-0:4.7.0")
_VOLTS = ("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0")
_AMPS = ("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0")
_TARIFFS = tuple(f"1-1:{c}.8.{t}" for c in (1, 2, 5, 6, 7, 8) for t in (0, 1, 2))
_M3 = (13, "m3")
# A gas meter on M-Bus channel 1, as the E450 pushes it (its device id, then the extended
# register 0-1:24.2.1 with its scaler/unit; the shared capture lge450-mbus-channels).
_GAS_CHANNEL = (
    Text("0-1:96.1.0", "########"),
    Reg("0-1:24.2.1", UInt32, -3, _M3, extended=True),
)

LAYOUTS: Mapping[str, MeterLayout] = MappingProxyType(
    {
        # Swiss CII list (EKZ capture) plus per-phase currents and voltages, the day/night
        # tariff totals and the M-Bus gas channel some utilities add.
        "lge450": MeterLayout(
            shape="push_list",
            push_setup="0-8:25.9.0",
            push_list_names_itself=True,
            channel_push_setup="0-11:25.9.0",
            objects=(
                Text("0-0:42.0.0", "LGZ1030#########", meter_id=True),
                Text("0-0:96.1.1", "#######"),
                Clock(),
                *_regs(UInt32, None, *_POWER, *_REACTIVE_POWER, *_LG_ENERGY_Q),
                *_regs(UInt16, None, *_AMPS, *_VOLTS, "1-0:13.7.0"),
                *_regs(UInt32, None, "1-1:1.8.1", "1-1:1.8.2", "1-1:2.8.1", "1-1:2.8.2"),
                *_GAS_CHANNEL,
            ),
            transport=Hdlc(b"\xce\xff", b"\x03", gbt_block=112),
            flag="LGZ",
            clock_status_extra=0x01,  # L+G sets bit 0 on good clocks (obs. 0x81 in summer)
            invoke_base=0xCBC2,
            invoke_step=4,
        ),
        # 2026 VSE list: 64-bit values, currents in whole amperes, header time only.
        "lge570": MeterLayout(
            shape="push_list",
            push_setup="0-8:25.9.0",
            objects=(
                Text("0-0:42.0.0", "LGZ1030#########", meter_id=True),
                *_regs(UInt64, None, "1-1:1.8.0", "1-1:2.8.0", "1-1:3.8.0", "1-1:4.8.0"),
                *_regs(Int64, None, *_POWER, *_VOLTS, *_AMPS),
            ),
            transport=Hdlc(b"\xce\x9b", b"\x03", gbt_block=116),
            flag="LGZ",
            invoke_base=0x140FE5,
            invoke_step=4,
        ),
        # One HDLC frame; voltages in the E360's order L1, L3, L2.
        "lge360": MeterLayout(
            shape="push_list",
            push_setup="0-6:25.9.0",
            objects=(
                Text("0-0:42.0.0", "LGZ1030#########", meter_id=True),
                *_regs(UInt32, None, "1-1:1.8.0", "1-1:2.8.0", "1-1:3.8.0", "1-1:4.8.0"),
                *_regs(UInt32, None, *_POWER),
                *_regs(UInt16, None, "1-0:32.7.0", "1-0:72.7.0", "1-0:52.7.0", *_AMPS),
            ),
            transport=Hdlc(b"\xcf", b"\x03"),
            flag="LGZ",
            deviation=True,
            hundredths=True,
            invoke_base=0x9EE,
            invoke_step=1,
        ),
        # P1 list with tariffs and quadrants, 164-byte segments (4 x A8 + A0 in the capture).
        "iskraam550": MeterLayout(
            shape="push_list",
            push_setup="0-6:25.9.0",
            push_list_names_itself=True,
            objects=(
                Text("0-0:42.0.0", "ISK1030#########", meter_id=True),
                Text("0-0:96.1.1", "#######"),
                Clock(),
                *_regs(UInt32, None, "1-1:1.7.0", "1-1:2.7.0", "1-1:3.7.0", "1-1:4.7.0"),
                *_regs(UInt32, None, *_TARIFFS),
                *_regs(UInt16, None, "1-0:13.7.0", *_VOLTS, *_AMPS),
            ),
            transport=Hdlc(b"\xcf", b"\x02\x23", segment=154),
            flag="ISK",
            deviation=True,
            invoke_base=0x433,
            invoke_step=1,
        ),
        # Norwegian HAN list: untagged list version, B=1 OBIS/value pairs, no scalers.
        "kamstrup_han": MeterLayout(
            shape="pairs",
            objects=(
                Text(None, "Kamstrup_V0001", visible=True),
                Text("1-1:0.0.5", "57065672########", visible=True, meter_id=True),
                Text("1-1:96.1.1", "6841138AN24#######", visible=True),
                *_regs(UInt32, None, "1-1:1.7.0", "1-1:2.7.0", "1-1:3.7.0", "1-1:4.7.0"),
                *_regs(UInt32, None, "1-1:31.7.0", "1-1:51.7.0", "1-1:71.7.0"),
                *_regs(UInt16, None, "1-1:32.7.0", "1-1:52.7.0", "1-1:72.7.0"),
            ),
            long_objects=(
                Clock("0-1:1.0.0"),
                *_regs(UInt32, None, "1-1:1.8.0", "1-1:2.8.0", "1-1:3.8.0", "1-1:4.8.0"),
            ),
            long_every=6,
            transport=Hdlc(b"\x2b", b"\x21"),
            flag="KAM",
        ),
        # Netz NÖ/EVN: date-time, OBIS/value/{scaler, unit} triplets, untagged meter number.
        "kaifa_mbus": MeterLayout(
            shape="triplets",
            objects=(
                Clock(None),
                *_regs(UInt32, 0, "1-0:1.8.0", "1-0:2.8.0", *_POWER),
                *_regs(UInt16, -1, *_VOLTS),
                *_regs(UInt16, -2, *_AMPS),
                Reg("1-0:13.7.0", UInt16, -3),
                Text(None, "1812200#####", meter_id=True),
            ),
            transport=MBus(),
            flag="KFM",
            deviation=True,
            invoke_base=0x80068700,
            invoke_step=1,
        ),
        # Aidon (Norway/Sweden) hourly list: every element an {OBIS, value[, {scaler, unit}]}.
        "generic": MeterLayout(
            shape="structures",
            header_time=False,
            objects=(
                Text("1-1:0.2.129", "AIDON_V0001", visible=True),
                Text("0-0:96.1.0", "73599928########", visible=True, meter_id=True),
                Text("0-0:96.1.7", "6534", visible=True),
                *_regs(UInt32, 0, *_POWER, *_REACTIVE_POWER),
                *_regs(Int16, -1, *_AMPS),
                *_regs(UInt16, -1, *_VOLTS),
                Clock(),
                *_regs(UInt32, 1, "1-0:1.8.0", "1-0:2.8.0", "1-0:3.8.0", "1-0:4.8.0"),
            ),
            transport=Hdlc(b"\x41", b"\x08\x83"),
            flag="AID",
            invoke_base=0x40000000,
        ),
    }
)
