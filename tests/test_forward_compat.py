"""Every Home Assistant name the integration uses still exists, undeprecated, in the newest release.

Users update Home Assistant before we release. This test downloads the newest `homeassistant` wheel
(cached in .cache/ha-latest/ for a week), reads its modules straight out of the zip without
importing them (the newest release usually needs a newer Python than ours), and checks every
`homeassistant` name imported by a module under custom_components/:

* it exists there (submodule, class, function, constant, re-export; enum members and module
  attributes we use, as in `SensorDeviceClass.ENERGY` or `dt_util.utcnow`, included);
* it is not deprecated there: `_DEPRECATED_<NAME>` constants served by `check_if_deprecated_constant`
  (listed by `all_with_deprecated_constants`), `@deprecated_class` / `@deprecated_function` /
  `warnings.deprecated` decorators, an unconditional `report_usage("... deprecated ...")`,
  enum members listed in an `EnumWithDeprecatedMembers` class, and entity members our subclasses
  provide that the base declares as `DeprecatedEntityProperty` / `DeprecatedEntityAttr`.

Names that compat.py reads with `getattr(x, "NAME", default)` / `hasattr` or imports inside
`try: ... except ImportError` are feature-detected: they need not exist, and the test lists them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING
import zipfile

from packaging.version import Version
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "smartmeter_datacollector"
CACHE = ROOT / ".cache" / "ha-latest"
STAMP = CACHE / "last-check"
MAX_AGE = 7 * 24 * 3600
COMPAT = PACKAGE / "compat.py"
HA = "homeassistant"

# pip's messages when PyPI cannot be reached at all.
NETWORK_ERRORS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name "
    r"resolution|Name or service not known|Network is unreachable|ConnectTimeout|"
    r"ProxyError|Max retries exceeded|No matching distribution found",
)
# Python 3.14 (PEP 758) allows `except A, B:`; Home Assistant's code uses it and our 3.13 ast
# cannot parse it. Parenthesising the tuple keeps every line number.
PEP758_EXCEPT = re.compile(r"^(\s*except\*?\s+)(?!\()([^:#\n]+,[^:#\n]+):", re.MULTILINE)
# Decorators that mark the decorated thing deprecated. deprecated_hass_argument (one argument)
# and deprecated_substitute (marks the *old* name) do not.
NOT_DEPRECATING = {"deprecated_hass_argument", "deprecated_substitute"}
DEPRECATED_ENTITY_MEMBERS = {"DeprecatedEntityProperty", "DeprecatedEntityAttr"}


# --- the newest wheel ------------------------------------------------------------------------


def _cached_wheels() -> list[Path]:
    wheels = CACHE.glob("homeassistant-*-py3-none-any.whl")
    return sorted(wheels, key=lambda path: Version(path.name.split("-")[1]))


def _download() -> str | None:
    """Fetch the newest wheel into the cache; return pip's complaint when it could not."""
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        # The newest release requires a newer Python than the test venv (2026.11: >=3.14.2);
        # any --python-version would have to guess the patch level, so ignore the marker.
        "--ignore-requires-python",
        "--disable-pip-version-check",
        "--timeout=20",
        "--retries=1",
        f"--dest={CACHE}",
        HA,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode == 0:
        STAMP.touch()
        for old in _cached_wheels()[:-1]:
            old.unlink()
        return None
    output = result.stdout + result.stderr
    if NETWORK_ERRORS.search(output):
        return output.strip().splitlines()[-1]
    pytest.fail(f"pip download failed:\n{output}")


@pytest.fixture(scope="module")
def newest() -> Iterator[Wheel]:
    fresh = STAMP.exists() and time.time() - STAMP.stat().st_mtime < MAX_AGE
    problem = None if fresh and _cached_wheels() else _download()
    wheels = _cached_wheels()
    if not wheels:
        pytest.skip(f"PyPI unreachable, no newest homeassistant wheel to check: {problem}")
    if problem:
        print(f"using a cached {wheels[-1].name} older than a week: {problem}")
    wheel = Wheel(wheels[-1])
    yield wheel
    wheel.zip.close()


# --- reading the wheel -----------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """Where a name is bound in the wheel and whether that binding is deprecated."""

    module: str
    node: ast.AST | None  # None: the name is a module
    deprecated: str | None = None


class Wheel:
    """Modules of a homeassistant wheel, parsed on demand."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        self.files = set(self.zip.namelist())
        self.version = path.name.split("-")[1]

    def _file(self, module: str) -> str | None:
        base = module.replace(".", "/")
        return next((f for f in (f"{base}.py", f"{base}/__init__.py") if f in self.files), None)

    def is_module(self, module: str) -> bool:
        return self._file(module) is not None

    @cache  # noqa: B019 - one Wheel per session; the cache lives as long as the wheel
    def tree(self, module: str) -> ast.Module | None:
        name = self._file(module)
        if name is None:
            return None
        source = PEP758_EXCEPT.sub(r"\1(\2):", self.zip.read(name).decode())
        try:
            return ast.parse(source, filename=name)
        except SyntaxError as err:
            pytest.fail(f"cannot parse {name} of {self.version} with Python 3.13: {err}")

    def lookup(self, module: str, name: str, depth: int = 0) -> Found | None:
        """Resolve `from module import name` the way Python would, following re-exports."""
        tree = self.tree(module)
        if tree is None or depth > 20:
            return None
        constant = f"_DEPRECATED_{name}"
        marked = f"{module}.{name} is a DeprecatedConstant" if constant in _bindings(tree) else None
        for node in _bindings(tree).get(name, []):
            found = self._follow(module, node, name, depth)
            if found is not None:
                return Found(found.module, found.node, marked or found.deprecated)
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                found = self.lookup(_absolute(module, node, self.files), name, depth + 1)
                if found is not None:
                    return Found(found.module, found.node, marked or found.deprecated)
        if self.is_module(f"{module}.{name}"):
            return Found(f"{module}.{name}", None, marked)
        return Found(module, None, marked) if marked else None

    def _follow(self, module: str, node: ast.AST, name: str, depth: int) -> Found | None:
        if isinstance(node, ast.ImportFrom):
            source = _absolute(module, node, self.files)
            original = next(a.name for a in node.names if (a.asname or a.name) == name)
            return self.lookup(source, original, depth + 1)
        if isinstance(node, ast.Import):
            alias = next(a for a in node.names if (a.asname or a.name) == name)
            return Found(alias.name, None) if self.is_module(alias.name) else None
        return Found(module, node, _deprecation(node, f"{module}.{name}"))

    def attribute(self, owner: Found, attr: str, depth: int = 0) -> Found | bool | None:
        """Resolve owner.attr; True when a base outside the wheel might provide it."""
        if owner.node is None:
            return self.lookup(owner.module, attr)
        if not isinstance(owner.node, ast.ClassDef) or depth > 20:
            return True
        cls = owner.node
        if nodes := _class_bindings(cls).get(attr):
            member = f"{cls.name}.{attr} is a deprecated enum member"
            deprecated = member if attr in _deprecated_members(cls) else None
            return Found(owner.module, nodes[0], deprecated or _deprecation(nodes[0], attr))
        unknown_base = False
        for base in cls.bases:
            base_found = self._resolve_expr(owner.module, base)
            if base_found is None or not isinstance(base_found.node, ast.ClassDef):
                unknown_base = True
                continue
            found = self.attribute(base_found, attr, depth + 1)
            if isinstance(found, Found):
                return found
            unknown_base |= found is True
        # Enum members and constants are upper case and never come from a stdlib base class.
        return unknown_base and not attr.isupper()

    def _resolve_expr(self, module: str, expr: ast.expr) -> Found | None:
        if isinstance(expr, ast.Subscript):  # Generic[T]-style bases
            expr = expr.value
        if isinstance(expr, ast.Name):
            return self.lookup(module, expr.id)
        if isinstance(expr, ast.Attribute):
            owner = self._resolve_expr(module, expr.value)
            found = self.attribute(owner, expr.attr) if owner else None
            return found if isinstance(found, Found) else None
        return None


def _absolute(module: str, node: ast.ImportFrom, files: set[str]) -> str:
    """The absolute module a (possibly relative) from-import reads from."""
    if not node.level:
        return node.module or ""
    is_package = f"{module.replace('.', '/')}/__init__.py" in files
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements executed at import time, including those inside if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, ast.If | ast.With):
            yield from _top_level(node.body + getattr(node, "orelse", []))
        elif isinstance(node, ast.Try):
            handlers = [s for h in node.handlers for s in h.body]
            yield from _top_level(node.body + handlers + node.orelse + node.finalbody)


@cache
def _bindings_of(body: tuple[ast.stmt, ...]) -> dict[str, list[ast.AST]]:
    """Names a module or class body binds; the tuple key keeps the nodes alive."""
    bound: dict[str, list[ast.AST]] = defaultdict(list)
    for node in _top_level(list(body)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound[node.name].append(node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        bound[name.id].append(node)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            bound[node.target.id].append(node)
        elif isinstance(node, ast.TypeAlias) and isinstance(node.name, ast.Name):
            bound[node.name.id].append(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name.split(".")[0]].append(node)
    return bound


def _bindings(tree: ast.Module) -> dict[str, list[ast.AST]]:
    return _bindings_of(tuple(tree.body))


def _class_bindings(cls: ast.ClassDef) -> dict[str, list[ast.AST]]:
    return _bindings_of(tuple(cls.body))


def _name_of(expr: ast.expr) -> str:
    while isinstance(expr, ast.Call | ast.Subscript):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def _reports_deprecation(function: ast.AST) -> bool:
    """The body calls report_usage("... deprecated ...") unconditionally (not inside an if)."""
    for statement in getattr(function, "body", []):
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call) and _name_of(call.func) == "report_usage":
            texts = (n.value for n in ast.walk(call) if isinstance(n, ast.Constant))
            if any(isinstance(text, str) and "deprecat" in text for text in texts):
                return True
    return False


def _deprecation(node: ast.AST, label: str) -> str | None:
    for decorator in getattr(node, "decorator_list", []):
        name = _name_of(decorator)
        if "deprecated" in name.lower() and name not in NOT_DEPRECATING:
            return f"{label} is decorated @{name}"
    if _reports_deprecation(node):
        return f"{label} reports itself as deprecated when called"
    if isinstance(node, ast.ClassDef):
        for method in ("__init__", "__init_subclass__"):
            if any(_reports_deprecation(n) for n in _class_bindings(node).get(method, [])):
                return f"{label}.{method} reports the class as deprecated"
    value = getattr(node, "value", None)
    if isinstance(value, ast.Call) and _name_of(value) in DEPRECATED_ENTITY_MEMBERS:
        return f"{label} is a {_name_of(value)}"
    return None


def _deprecated_members(cls: ast.ClassDef) -> set[str]:
    """Members listed in `class X(..., metaclass=EnumWithDeprecatedMembers, deprecated={...})`."""
    for keyword in cls.keywords:
        if keyword.arg == "deprecated" and isinstance(keyword.value, ast.Dict):
            keys = (k.value for k in keyword.value.keys if isinstance(k, ast.Constant))
            return {key for key in keys if isinstance(key, str)}
    return set()


# --- what the integration uses ---------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """One Home Assistant name our code relies on: module, then attributes read from it."""

    module: str
    path: tuple[str, ...]  # () for the module itself
    where: str
    detected: bool  # read through feature detection in compat.py

    @property
    def label(self) -> str:
        return ".".join((self.module, *self.path))


def _our_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


type Aliases = dict[str, tuple[str, tuple[str, ...]]]


def _chain(expr: ast.expr, aliases: Aliases) -> tuple[str, tuple[str, ...]] | None:
    """`SensorDeviceClass.ENERGY` or `sensor.SensorDeviceClass` as (module, names)."""
    if isinstance(expr, ast.Name):
        return aliases.get(expr.id)
    if isinstance(expr, ast.Attribute) and (owner := _chain(expr.value, aliases)):
        return owner[0], (*owner[1], expr.attr)
    return None


def _collect(path: Path) -> list[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(ROOT).as_posix()
    in_compat = path == COMPAT
    guarded = {
        id(node)
        for handler_try in ast.walk(tree)
        if isinstance(handler_try, ast.Try)
        and any(_name_of(h.type) == "ImportError" for h in handler_try.handlers if h.type)
        for node in ast.walk(ast.Module(body=handler_try.body, type_ignores=[]))
    }
    aliases: Aliases = {}
    uses: list[Use] = []
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        detected = in_compat and id(node) in guarded
        if isinstance(node, ast.ImportFrom) and not node.level and _is_ha(node.module):
            module = node.module or HA
            for alias in node.names:
                aliases[alias.asname or alias.name] = (module, (alias.name,))
                uses.append(Use(module, (alias.name,), line, detected))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_ha(alias.name):
                    # `import homeassistant.a.b` binds `homeassistant`: attribute chains on it
                    # are not followed, only aliased module imports are.
                    if alias.asname:
                        aliases[alias.asname] = (alias.name, ())
                    uses.append(Use(alias.name, (), line, detected))
    for node in ast.walk(tree):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute) and (chain := _chain(node, aliases)):
            uses.append(Use(*chain, line, detected=False))
        elif isinstance(node, ast.Call) and _name_of(node.func) in {"getattr", "hasattr"}:
            args = node.args
            if (
                len(args) >= 2
                and (owner := _chain(args[0], aliases))
                and isinstance(args[1], ast.Constant)
                and isinstance(args[1].value, str)
            ):
                optional = len(args) == 3 or _name_of(node.func) == "hasattr"
                module, names = owner
                uses.append(Use(module, (*names, args[1].value), line, in_compat and optional))
    return uses


def _is_ha(module: str | None) -> bool:
    return module is not None and (module == HA or module.startswith(f"{HA}."))


def _subclass_members(path: Path) -> list[tuple[str, str, str, str]]:
    """(base module, base name, member, where) for members our classes define over HA bases."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(ROOT).as_posix()
    imported = {
        alias.asname or alias.name: (node.module or HA, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and _is_ha(node.module)
        for alias in node.names
    }
    members = []
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        names = set(_class_bindings(cls))
        names |= {
            target.attr
            for node in ast.walk(cls)
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute) and _name_of(target.value) == "self"
        }
        for base in cls.bases:
            base_name = _name_of(base)
            if base_name in imported:
                module, original = imported[base_name]
                members += [(module, original, m, f"{where}:{cls.lineno}") for m in names]
    return members


@cache
def _uses() -> tuple[Use, ...]:
    return tuple(use for path in _our_modules() for use in _collect(path))


def _detected() -> set[str]:
    """Labels used only behind feature detection; a direct use anywhere makes it required."""
    uses = _uses()
    return {u.label for u in uses if u.detected} - {u.label for u in uses if not u.detected}


def _resolve(wheel: Wheel, use: Use) -> Found | bool | None:
    """Found, None when absent, or True when a base outside Home Assistant may provide it."""
    found: Found | bool | None = Found(use.module, None) if wheel.is_module(use.module) else None
    for name in use.path:
        if not isinstance(found, Found):
            break
        found = wheel.attribute(found, name)
    return found


def test_scanner_sees_every_module_that_imports_home_assistant() -> None:
    """Guards the checker: a module it cannot read would silently pass every check."""
    importing = {
        path.relative_to(ROOT).as_posix()
        for path in _our_modules()
        if re.search(r"^\s*(from|import) homeassistant", path.read_text(), re.MULTILINE)
    }
    if not importing:
        pytest.skip("no module under custom_components/ imports homeassistant yet")
    scanned = {use.where.rsplit(":", 1)[0] for use in _uses()}
    assert importing <= scanned


def test_every_used_name_exists_in_newest(newest: Wheel) -> None:
    missing = sorted(
        f"{u.label} ({u.where})"
        for u in _uses()
        if u.label not in _detected() and _resolve(newest, u) in (None, False)
    )
    assert not missing, f"gone in homeassistant {newest.version}:\n" + "\n".join(missing)


def test_no_used_name_is_deprecated_in_newest(newest: Wheel) -> None:
    deprecated = set()
    for use in _uses():
        found = _resolve(newest, use)
        if isinstance(found, Found) and found.deprecated:
            deprecated.add(f"{found.deprecated} (used at {use.where})")
    for path in _our_modules():
        for module, base, member, where in _subclass_members(path):
            owner = newest.lookup(module, base)
            found = newest.attribute(owner, member) if owner else None
            if isinstance(found, Found) and found.deprecated:
                deprecated.add(f"{found.deprecated}: our subclass at {where} provides it")
    assert not deprecated, f"deprecated in homeassistant {newest.version}:\n" + "\n".join(
        sorted(deprecated)
    )


def test_feature_detected_names_are_listed(newest: Wheel) -> None:
    lines = []
    for label in sorted(_detected()):
        use = next(u for u in _uses() if u.label == label)
        found = _resolve(newest, use)
        state = "present" if found else "absent"
        lines.append(f"{label}: {state} in {newest.version} (compat.py, {use.where})")
        # Once a feature-detected name exists, the fallback must not rely on a deprecated one.
        assert not (isinstance(found, Found) and found.deprecated), found
    report = "\n".join(lines) or "no feature-detected names"
    print(f"feature-detected Home Assistant names:\n{report}")


def test_wheel_reader_sees_known_deprecations(newest: Wheel) -> None:
    """Guards the checker itself: without it a parser change would silently pass everything."""
    constants = _bindings(newest.tree("homeassistant.const") or ast.Module(body=[]))
    deprecated = sorted(n for n in constants if n.startswith("_DEPRECATED_"))
    if not deprecated:
        pytest.skip(f"homeassistant.const of {newest.version} deprecates no constant right now")
    name = deprecated[0].removeprefix("_DEPRECATED_")
    found = newest.lookup("homeassistant.const", name)
    assert found is not None
    assert found.deprecated
    assert newest.lookup("homeassistant.const", "Platform") is not None
    assert newest.lookup("homeassistant.const", "NO_SUCH_NAME_ANYWHERE") is None
