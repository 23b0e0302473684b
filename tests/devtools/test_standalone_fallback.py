"""Without Home Assistant, the development tools run on the installed `smartmeter_dlms`.

tests/dlms/test_standalone.py proves it in a fresh venv (where coverage cannot follow); this is
the same fallback in the test venv, in a process where Home Assistant cannot be imported.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import textwrap

REPO_ROOT = Path(__file__).resolve().parents[2]

_WITHOUT_HOME_ASSISTANT = textwrap.dedent(
    """
    import importlib.abc, json, sys
    from datetime import UTC, datetime

    class NoHomeAssistant(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "homeassistant":
                raise ModuleNotFoundError(f"{name} is blocked")
            return None

    sys.meta_path.insert(0, NoHomeAssistant())

    import smartmeter_devtools
    from smartmeter_devtools._decoder import MeterDecoder
    from smartmeter_devtools._standalone import VENDORED
    from smartmeter_devtools.load_model import Household
    from smartmeter_devtools.push_encode import MeterEncoder

    now = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)
    message = MeterEncoder("lge450", tz=UTC, seed=1).encode(
        Household(seed=1, start=now, tz=UTC).advance(now)
    )
    readings = MeterDecoder("lge450", tz=UTC).feed(message.data)
    print(json.dumps({
        "package": smartmeter_devtools.DECODER_PACKAGE,
        "behind_vendored": sys.modules[VENDORED].__name__,
        "decoded_as_expected": readings == [message.expected],
        "home_assistant": sorted(m for m in sys.modules if m.startswith("homeassistant")),
    }))
    """
)


def test_tools_fall_back_to_the_installed_decoder() -> None:
    """The vendored names resolve to smartmeter_dlms, and an encoded push decodes as expected."""
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_HOME_ASSISTANT],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "package": "smartmeter_dlms",
        "behind_vendored": "smartmeter_dlms",
        "decoded_as_expected": True,
        "home_assistant": [],
    }
