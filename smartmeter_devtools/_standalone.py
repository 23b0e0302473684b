"""Where the development tools find the decoder: the vendored folder or the installed package.

In the repository (and in the test runs) the decoder is imported through its vendored path, so the
integration, the tests and these tools share one copy of every class: a Reading the encoder
expects compares equal to one the integration decoded. Installed on its own (`pip install .`,
no Home Assistant), that path cannot be imported (the integration's `__init__` needs Home
Assistant, or `custom_components` is not there at all); the installed `smartmeter_dlms`, built
from the same folder, then stands in under the vendored names, so `_decoder`'s imports resolve.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

VENDORED = "custom_components.smartmeter_datacollector.dlms"
STANDALONE = "smartmeter_dlms"


def use_installed_decoder_if_needed() -> str:
    """Make the vendored decoder importable; return the name it really comes from."""
    try:
        importlib.import_module(VENDORED)
    except ImportError:
        pass
    else:
        return VENDORED
    package = importlib.import_module(STANDALONE)
    sys.modules[VENDORED] = package
    for info in pkgutil.walk_packages(package.__path__, f"{STANDALONE}."):
        if info.name.rpartition(".")[2].startswith("__"):
            continue  # __main__ would run the command line
        module = importlib.import_module(info.name)
        sys.modules[VENDORED + info.name.removeprefix(STANDALONE)] = module
    return STANDALONE
