"""The protocol package stays liftable into its own library: no Home Assistant anywhere in it.

tests/dlms/test_standalone.py installs it on its own and runs these tests without Home Assistant.
"""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys
import tomllib

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "custom_components" / "smartmeter_datacollector" / "dlms"
PYPROJECT = REPO / "pyproject.toml"


# Top-level names no module of the decoder may import: Home Assistant, the integration that
# vendors it, and the development tools built on top of it.
FORBIDDEN = frozenset(("homeassistant", "custom_components", "smartmeter_devtools"))


def _modules() -> list[Path]:
    """Every module of the package, in every subfolder."""
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_imports_home_assistant_the_integration_or_the_dev_tools() -> None:
    """Statically, in every subfolder: no forbidden import, no relative import leaving dlms/."""
    offenders = []
    modules = _modules()
    assert len(modules) > 20  # the walk found the package
    for module in modules:
        name = module.relative_to(PACKAGE).as_posix()
        depth = len(module.relative_to(PACKAGE).parts)  # 1 for dlms/x.py, 2 for dlms/sub/x.py
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level > depth:
                    offenders.append(f"{name}: relative import above dlms/")
                names = [] if node.level else [node.module or ""]
            else:
                continue
            offenders += [f"{name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_every_subpackage_is_packaged_as_smartmeter_dlms() -> None:
    """pip install . ships every folder of dlms/ under the standalone name (pyproject.toml)."""
    setuptools = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"]
    root = PACKAGE.relative_to(PYPROJECT.parent).as_posix()
    assert setuptools["package-dir"]["smartmeter_dlms"] == root
    wanted = {
        ".".join(("smartmeter_dlms", *init.parent.relative_to(PACKAGE).parts))
        for init in PACKAGE.rglob("__init__.py")
    }
    assert wanted <= set(setuptools["packages"])


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
