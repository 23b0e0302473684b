"""The Siemens TD-3511's IEC 62056-21 mode C readout (datasets F001 + F009) for the simulator.

Lines, codes and units follow the readout of a real TD-3511 (IBW capture): energies in kWh
and kvarh with three decimals, powers in kW/kvar, time and date as 0.9.1 / 0.9.2.
"""

from __future__ import annotations

import math
import random
from types import MappingProxyType
from typing import TYPE_CHECKING

from ._decoder import Measurement, Reading
from .framing_encode import iec62056_21_readout
from .push_encode import EncodedMessage, fill_template

if TYPE_CHECKING:
    from datetime import tzinfo

    from .load_model import Snapshot

# Mode C identification: "/", FLAG id, baud character ('6' = 19200 Bd), identification.
IDENTIFICATION = b"/SIE6TD3511\r\n"
SIGN_ON = b"/?!\r\n"

# Per dataset: (code on the wire, register, decimals, unit on the wire, factor to the native
# unit, unit); a row of None stands for the dataset's time and date lines.
_F001 = (
    ("1.8.0", "1.8.0", 3, "kWh", 1000, "Wh"),
    ("1.8.1", "1.8.1", 3, "kWh", 1000, "Wh"),
    ("1.8.2", "1.8.2", 3, "kWh", 1000, "Wh"),
    ("2.8.0", "2.8.0", 3, "kWh", 1000, "Wh"),
    ("2.8.1", "2.8.1", 3, "kWh", 1000, "Wh"),
    ("2.8.2", "2.8.2", 3, "kWh", 1000, "Wh"),
    ("3.8.1", "3.8.1", 3, "kvarh", 1000, "varh"),
    ("4.8.1", "4.8.1", 3, "kvarh", 1000, "varh"),
    (None, None, 0, "", 1, None),
)
_F009 = (
    ("1.7.0", "1.7.0", 3, "kW", 1000, "W"),
    ("2.7.0", "2.7.0", 3, "kW", 1000, "W"),
    ("3.7.0", "3.7.0", 3, "kvar", 1000, "var"),
    ("4.7.0", "4.7.0", 3, "kvar", 1000, "var"),
    (None, None, 0, "", 1, None),
    ("14.7", "14.7.0", 2, "Hz", 1, "Hz"),
    ("32.7", "32.7.0", 1, "V", 1, "V"),
    ("52.7", "52.7.0", 1, "V", 1, "V"),
    ("72.7", "72.7.0", 1, "V", 1, "V"),
    ("31.7", "31.7.0", 2, "A", 1, "A"),
    ("51.7", "51.7.0", 2, "A", 1, "A"),
    ("71.7", "71.7.0", 2, "A", 1, "A"),
)
_ANGLES = (("81.7.4", "21", "23"), ("81.7.15", "41", "43"), ("81.7.26", "61", "63"))


def _code_key(code: str) -> str:
    """What a decoder keys the line as: A-B 1-0 assumed, two-part codes get E = 0."""
    return f"1-0:{code}" if code.count(".") == 2 else f"1-0:{code}.0"


class ReadoutEncoder:
    """Builds the data readout block for a snapshot, and the reading it must decode to."""

    def __init__(self, *, tz: tzinfo, seed: int = 0) -> None:
        """The serial number (0.0.0) derives from `seed`."""
        self._tz = tz
        self.meter_id = fill_template("1100#####", random.Random(seed))  # noqa: S311  (not a secret)

    def datasets(self, snapshot: Snapshot) -> tuple[dict[str, list[str]], Reading]:
        """Data lines of the datasets F001 (registers) and F009 (instantaneous values)."""
        regs = snapshot.registers
        local = snapshot.time.astimezone(self._tz).replace(microsecond=0)
        stamp = [f"0.9.1({local:%H:%M:%S})", f"0.9.2({local:%y-%m-%d})"]
        values: dict[str, Measurement] = {}
        sets: dict[str, list[str]] = {"F001": [f"0.0.0({self.meter_id})"], "F009": []}
        for name, rows in (("F001", _F001), ("F009", _F009)):
            lines = sets[name]
            for code, register, decimals, wire_unit, factor, unit in rows:
                if code is None or register is None:
                    lines.extend(stamp)
                    continue
                physical = regs[register] / factor
                # Energy registers truncate like the meter's display; the rest is rounded.
                step = 10.0**-decimals
                shown = math.floor(physical / step) * step if ".8." in code else physical
                text = f"{shown:.{decimals}f}"
                lines.append(f"{code}({text}*{wire_unit})")
                native = round(float(text) * factor, 6)
                values[_code_key(code)] = Measurement(
                    int(native) if native == int(native) else native, unit
                )
        for code, p_code, q_code in _ANGLES:
            p = regs[f"{p_code}.7.0"] - regs[f"{int(p_code) + 1}.7.0"]
            q = regs[f"{q_code}.7.0"] - regs[f"{int(q_code) + 1}.7.0"]
            text = f"{-math.degrees(math.atan2(q, p)):.1f}"
            sets["F009"].append(f"{code}({text}*Deg)")
            values[_code_key(code)] = Measurement(float(text), "deg")
        expected = Reading(
            meter_id=self.meter_id,
            # The readout carries no offset: a decoder given the meter's zone reports local time.
            timestamp=local,
            values=MappingProxyType(values),
        )
        return sets, expected

    def encode(self, snapshot: Snapshot) -> EncodedMessage:
        """The mode C data readout: STX, both datasets' lines, "!", ETX, BCC."""
        sets, expected = self.datasets(snapshot)
        block = iec62056_21_readout([*sets["F001"], *sets["F009"]])
        return EncodedMessage(frames=(block,), expected=expected)
