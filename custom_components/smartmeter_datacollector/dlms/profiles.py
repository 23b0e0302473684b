"""Meter profiles: serial settings, framing, push interval and default scalers per meter type.

Scalers apply only when the frame carries no {scaler, unit} of its own (push lists capture
attribute 2 only). The numbers are the seed tool's per-meter register maps
(smartmeter-datacollector 2.0.0) and, for the Nordic HAN meters, amshan/hass-AMS conventions.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .framing import Framing
from .models import Profile, SerialSettings

_CURRENTS = ("31.7.0", "51.7.0", "71.7.0", "91.7.0")
_VOLTAGES = ("32.7.0", "52.7.0", "72.7.0")
_POWER_FACTORS = ("13.7.0", "33.7.0", "53.7.0", "73.7.0")


def _scalers(**groups: tuple[tuple[str, ...], float]) -> Mapping[str, float]:
    return MappingProxyType({code: factor for codes, factor in groups.values() for code in codes})


_LGE450_SCALERS = _scalers(
    current=(_CURRENTS, 0.01), voltage=(_VOLTAGES, 1.0), pf=(_POWER_FACTORS, 0.001)
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        p.name: p
        for p in (
            Profile(
                name="lge450",
                title="Landis+Gyr E450 (CII / M-Bus, 2400 8E1)",
                manufacturer="Landis+Gyr",
                model="E450",
                framing=Framing.HDLC,
                serial=SerialSettings(2400, 8, "E", 1),
                push_interval=5.0,
                scalers=_LGE450_SCALERS,
            ),
            Profile(
                name="lge570",
                title="Landis+Gyr E570 (CII / M-Bus, 2400 8E1)",
                manufacturer="Landis+Gyr",
                model="E570",
                framing=Framing.HDLC,
                serial=SerialSettings(2400, 8, "E", 1),
                push_interval=5.0,
                scalers=_scalers(
                    current=(_CURRENTS, 1.0),
                    voltage=(_VOLTAGES, 1.0),
                    pf=(_POWER_FACTORS, 0.001),
                ),
            ),
            Profile(
                name="lge360",
                title="Landis+Gyr E360 (P1 DLMS, 9600 8N1)",
                manufacturer="Landis+Gyr",
                model="E360",
                framing=Framing.HDLC,
                serial=SerialSettings(9600, 8, "N", 1),
                push_interval=10.0,
                scalers=_scalers(
                    current=(_CURRENTS, 0.01),
                    voltage=(_VOLTAGES, 0.1),
                    pf=(_POWER_FACTORS, 0.001),
                ),
            ),
            Profile(
                name="iskraam550",
                title="Iskraemeco AM550 (P1 DLMS, 115200 8N1)",
                manufacturer="Iskraemeco",
                model="AM550",
                framing=Framing.HDLC,
                serial=SerialSettings(115200, 8, "N", 1),
                push_interval=5.0,
                scalers=_scalers(
                    current=(_CURRENTS, 0.01),
                    voltage=(_VOLTAGES, 0.1),
                    pf=(_POWER_FACTORS, 0.001),
                ),
            ),
            Profile(
                name="kamstrup_han",
                title="Kamstrup OMNIPOWER (HAN-NVE / HAN port, 2400 8N1)",
                manufacturer="Kamstrup",
                model="OMNIPOWER",
                framing=Framing.HDLC,
                serial=SerialSettings(2400, 8, "N", 1),
                push_interval=10.0,
                # Kamstrup HAN lists: currents in 10 mA, energies in 10 Wh (amshan, hass-AMS).
                scalers=_scalers(
                    current=(_CURRENTS, 0.01),
                    energy=(
                        ("1.8.0", "2.8.0", "3.8.0", "4.8.0"),
                        10.0,
                    ),
                ),
            ),
            Profile(
                name="kaifa_mbus",
                title="Kaifa MA309 Austria (M-Bus, 2400 8E1)",
                manufacturer="Kaifa",
                model="MA309",
                framing=Framing.MBUS,
                serial=SerialSettings(2400, 8, "E", 1),
                push_interval=5.0,
            ),
            Profile(
                name="siemens_td3511",
                title="Siemens TD-3511 (IEC 62056-21 optical, 300 → 19200 7E1)",
                manufacturer="Siemens",
                model="TD-3511",
                framing=Framing.IEC62056_21,
                serial=SerialSettings(300, 7, "E", 1),
                readout_serial=SerialSettings(19200, 7, "E", 1),
                push_interval=30.0,
            ),
            Profile(
                name="generic",
                title="Other DLMS meter (HDLC or M-Bus push, 2400 8E1)",
                manufacturer="Unknown",
                model="DLMS/COSEM meter",
                framing=Framing.HDLC,
                serial=SerialSettings(2400, 8, "E", 1),
                push_interval=10.0,
            ),
        )
    }
)
