"""What the decoder relies on from gurux-dlms, pinned: an upgrade that changes it fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from gurux_dlms.GXByteBuffer import GXByteBuffer
from gurux_dlms.GXDLMSSettings import GXDLMSSettings
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo
import pytest

from custom_components.smartmeter_datacollector.dlms import gurux_adapter
from custom_components.smartmeter_datacollector.dlms.axdr import value_end
from custom_components.smartmeter_datacollector.dlms.gurux_adapter import (
    Enum,
    GuruxError,
    Integer8,
    get_values,
)

PACKAGE = Path(gurux_adapter.__file__).parent

# (A-XDR bytes, expected value, expected type): every type a push carries (protocol-notes §4).
DECODED = [
    ("00", None, type(None)),
    ("0301", True, bool),
    ("05fffffffe", -2, int),
    ("0600000102", 258, int),
    ("0903414243", bytearray(b"ABC"), bytearray),
    ("0a03414243", "ABC", str),
    ("0c03414243", "ABC", str),
    ("0ffe", -2, Integer8),
    ("10ff9c", -100, int),
    ("1105", 5, int),
    ("120102", 258, int),
    ("14fffffffffffffffe", -2, int),
    ("150000000100000000", 1 << 32, int),
    ("161e", 30, Enum),
    ("173fc00000", 1.5, float),
    ("183ff8000000000000", 1.5, float),
    ("0202110112000a", [1, 10], list),
    ("010211011102", [1, 2], list),
]


@pytest.mark.parametrize(("hex_value", "expected", "kind"), DECODED)
def test_each_tag_decodes_to_the_python_type_the_decoder_expects(
    hex_value: str, expected: object, kind: type
) -> None:
    """Types matter: layouts tell scaler/unit pairs by Integer8/Enum, strings by str/bytearray."""
    data = bytes.fromhex(hex_value)
    (value,) = get_values(data, 0, [value_end(data, 0)])

    assert value == expected
    assert isinstance(value, kind)
    if kind is int:
        assert not isinstance(value, (Integer8, Enum))


def test_integer8_and_enum_are_ints() -> None:
    """Scalers and units take part in arithmetic as plain ints."""
    scaler, unit = get_values(bytes.fromhex("0ffe161e"), 0, [2, 4])
    assert int(scaler) - 1 == -3
    assert int(unit) == 30


def test_the_fast_buffer_decodes_exactly_like_gurux_own_buffer() -> None:
    """The name-mangled attributes the adapter sets are still the ones gurux reads."""
    data = bytes.fromhex("020409060100010800ff0600000102090c07e8050406000000ff80000002020ffe1621")
    reference = GXByteBuffer(bytearray(data))
    expected = _GXCommon.getData(GXDLMSSettings(False, None), reference, _GXDataInfo())

    assert get_values(data, 0, [len(data)]) == [expected]
    assert hasattr(reference, "_GXByteBuffer__size")
    assert hasattr(reference, "_GXByteBuffer__position")


def test_reading_past_the_end_raises_a_gurux_error() -> None:
    """gurux raises assorted exceptions on short input; the adapter turns them into one."""
    with pytest.raises(GuruxError):
        get_values(bytes.fromhex("0600000102"), 0, [9])
    with pytest.raises(GuruxError):
        get_values(bytes.fromhex("06000001"), 0, [5])


def test_only_the_adapter_imports_gurux() -> None:
    """gurux behind one door (issue 11): every other decoder module goes through the adapter."""
    importers = []
    for module in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "gurux_dlms" for name in names):
                importers.append(module.name)
    assert sorted(set(importers)) == ["gurux_adapter.py"]
