"""The protocol package stays liftable into its own library: no Home Assistant anywhere in it."""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

PACKAGE = (
    Path(__file__).resolve().parents[2] / "custom_components" / "smartmeter_datacollector" / "dlms"
)


def test_no_module_imports_home_assistant_or_the_integration() -> None:
    """Statically: no `homeassistant` import and no relative import leaving the package."""
    offenders = []
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level > 1:
                    offenders.append(f"{module.name}: relative import above dlms/")
                names = [node.module or ""]
            else:
                continue
            offenders += [
                f"{module.name}: {n}" for n in names if n.split(".")[0] == "homeassistant"
            ]
    assert offenders == []


def test_package_imports_standalone_without_home_assistant() -> None:
    """Loaded on its own (as a future PyPI library would be), it pulls in no Home Assistant."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('dlms', {str(PACKAGE / '__init__.py')!r},"
        f" submodule_search_locations=[{str(PACKAGE)!r}])\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['dlms'] = module\n"
        "spec.loader.exec_module(module)\n"
        "import dlms.cli, dlms.capture\n"
        "module.MeterDecoder('lge450').feed(b'\\x7e')\n"
        "print(sorted(m for m in sys.modules if m.startswith('homeassistant')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
