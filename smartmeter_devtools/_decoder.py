"""The one door from the development tools into the decoder.

The decoder is vendored in the integration for HACS; once the standalone name `smartmeter_dlms`
is installable, only the import path below changes.
"""

from __future__ import annotations

from custom_components.smartmeter_datacollector.dlms import (
    PROFILES,
    KeyFormatError,
    MeterDecoder,
    axdr,
    parse_key,
)
from custom_components.smartmeter_datacollector.dlms.apdu import DATA_NOTIFICATION, body_start
from custom_components.smartmeter_datacollector.dlms.capture import load_capture, read_capture
from custom_components.smartmeter_datacollector.dlms.cipher import (
    AUTHENTICATED,
    ENCRYPTED,
    GLO_CIPHERING,
    SYSTEM_TITLE_LENGTH,
    TAG_LENGTH,
)
from custom_components.smartmeter_datacollector.dlms.cli import add_decode_parser
from custom_components.smartmeter_datacollector.dlms.cosem_time import (
    DATE_TIME_LENGTH,
    DST_ACTIVE,
    UNSPECIFIED_DEVIATION,
)
from custom_components.smartmeter_datacollector.dlms.crc import crc16_x25
from custom_components.smartmeter_datacollector.dlms.gbt import (
    LAST_BLOCK as GBT_LAST_BLOCK,
    STREAMING as GBT_STREAMING,
    TAG as GBT_TAG,
    is_first_block as gbt_is_first_block,
)
from custom_components.smartmeter_datacollector.dlms.hdlc import (
    FLAG as HDLC_FLAG,
    FORMAT_TYPE_3 as HDLC_FORMAT_TYPE_3,
    LLC_SERVER_TO_CLIENT,
    MAX_FRAME_LENGTH as HDLC_MAX_LENGTH,
    SEGMENTED as HDLC_SEGMENTED,
    frame_length as hdlc_frame_length,
)
from custom_components.smartmeter_datacollector.dlms.iec62056_21 import bcc as iec_bcc
from custom_components.smartmeter_datacollector.dlms.iec_readout import ACK, ETX, NAK, SOH, STX
from custom_components.smartmeter_datacollector.dlms.lengths import encode_length
from custom_components.smartmeter_datacollector.dlms.mbus import (
    FINAL_SEGMENT as MBUS_CI_FINAL,
    START as MBUS_START,
    STOP as MBUS_STOP,
)
from custom_components.smartmeter_datacollector.dlms.models import Measurement, Reading
from custom_components.smartmeter_datacollector.dlms.obis import parse_obis
from custom_components.smartmeter_datacollector.dlms.skeleton import leaves as axdr_leaves

__all__ = [
    "ACK",
    "AUTHENTICATED",
    "DATA_NOTIFICATION",
    "DATE_TIME_LENGTH",
    "DST_ACTIVE",
    "ENCRYPTED",
    "ETX",
    "GBT_LAST_BLOCK",
    "GBT_STREAMING",
    "GBT_TAG",
    "GLO_CIPHERING",
    "HDLC_FLAG",
    "HDLC_FORMAT_TYPE_3",
    "HDLC_MAX_LENGTH",
    "HDLC_SEGMENTED",
    "LLC_SERVER_TO_CLIENT",
    "MBUS_CI_FINAL",
    "MBUS_START",
    "MBUS_STOP",
    "NAK",
    "PROFILES",
    "SOH",
    "STX",
    "SYSTEM_TITLE_LENGTH",
    "TAG_LENGTH",
    "UNSPECIFIED_DEVIATION",
    "KeyFormatError",
    "Measurement",
    "MeterDecoder",
    "Reading",
    "add_decode_parser",
    "axdr",
    "axdr_leaves",
    "body_start",
    "crc16_x25",
    "encode_length",
    "gbt_is_first_block",
    "hdlc_frame_length",
    "iec_bcc",
    "load_capture",
    "parse_key",
    "parse_obis",
    "read_capture",
]
