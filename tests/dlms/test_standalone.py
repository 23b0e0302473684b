"""The decoder stands alone: installed without Home Assistant, and its tests run without it."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import distribution
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib

from smartmeter_devtools.load_model import Household
from smartmeter_devtools.push_encode import MeterEncoder

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# What the decoder imports at run time, and what those import (cryptography's C bindings).
RUNTIME = ("gurux-dlms", "cryptography", "cffi", "pycparser")

# Loaded into every Python process of the decoder's test run (via PYTHONPATH): Home Assistant
# cannot be imported, and the vendored decoder names resolve to the installed smartmeter_dlms.
_SITECUSTOMIZE = textwrap.dedent(
    """
    import atexit, importlib.abc, json, os, sys

    BLOCKED = ("homeassistant", "pytest_homeassistant_custom_component")
    attempts = []

    class NoHomeAssistant(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                attempts.append(name)
                raise ModuleNotFoundError(f"{name} is blocked: the decoder must not need it")
            return None

    sys.meta_path.insert(0, NoHomeAssistant())

    from smartmeter_devtools._standalone import VENDORED, use_installed_decoder_if_needed

    use_installed_decoder_if_needed()
    SOURCE = sys.modules[VENDORED].__name__  # the package really behind the vendored name

    @atexit.register
    def _report():
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        with open(os.environ["DECODER_ISOLATION_REPORT"], "a") as out:
            out.write(json.dumps({"source": SOURCE, "loaded": loaded, "attempts": attempts}) + "\\n")
    """
)


def _copy_distribution(name: str, site: Path) -> None:
    """Install a distribution by copying its recorded files (what pip would have unpacked)."""
    dist = distribution(name)
    for file in dist.files or ():
        source = Path(str(dist.locate_file(file)))
        if source.is_file() and "__pycache__" not in file.parts and ".." not in file.parts:
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _install_project(venv: Path) -> Path:
    """Lay the project out as `pip install .` does from pyproject.toml: packages and scripts.

    pip cannot build the wheel here (its build needs setuptools from an index, and tests stay
    offline), so the packages named in [tool.setuptools] are copied under their mapped names and
    each [project.scripts] entry gets the standard console-script launcher.
    """
    site = next((venv / "lib").glob("python3*/site-packages"))
    setuptools = PYPROJECT["tool"]["setuptools"]
    for package in setuptools["packages"]:
        mapped = setuptools["package-dir"].get(package, package.replace(".", "/"))
        shutil.copytree(
            REPO / mapped,
            site / package.replace(".", "/"),
            ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"),
            dirs_exist_ok=True,
        )
    for name, target in PYPROJECT["project"]["scripts"].items():
        module, _, function = target.partition(":")
        script = venv / "bin" / name
        script.write_text(
            f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom {module} import {function}\n"
            f"sys.exit({function}())\n",
            encoding="utf-8",
        )
        script.chmod(0o755)
    for name in RUNTIME:
        _copy_distribution(name, site)
    return site


def _encoded_capture(folder: Path) -> tuple[Path, str | None]:
    """An E450 push made by the project's encoder, as a hex capture file, and its meter id."""
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    encoder = MeterEncoder("lge450", tz=UTC, seed=4)
    message = encoder.encode(Household(seed=4, start=start, tz=UTC).advance(start))
    capture = folder / "lge450.hex"
    capture.write_text("\n".join(frame.hex() for frame in message.frames), encoding="ascii")
    return capture, message.expected.meter_id


def test_installed_decoder_works_without_home_assistant(tmp_path: Path) -> None:
    """In a fresh venv with only the decoder's dependencies, it imports and decodes a capture."""
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    _install_project(venv)
    python = venv / "bin" / "python"
    work = tmp_path / "work"  # not the repository: custom_components/ must not be importable
    work.mkdir()
    capture, meter_id = _encoded_capture(work)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, capture_output=True, text=True, cwd=work, timeout=120, check=False, env={}
        )

    probe = run(
        str(python),
        "-c",
        "import sys, smartmeter_dlms\n"
        "print(smartmeter_dlms.MeterDecoder('lge450').profile.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('homeassistant')))\n"
        "try:\n    import homeassistant\nexcept ModuleNotFoundError:\n    print('no-ha')\n",
    )
    assert probe.stdout.split() == ["lge450", "[]", "no-ha"], probe.stderr
    for command in (
        (str(python), "-m", "smartmeter_dlms", "decode", "--profile", "lge450", str(capture)),
        (str(venv / "bin" / "smartmeter-dlms"), "decode", "--profile", "lge450", str(capture)),
    ):
        result = run(*command)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["meter_id"] == meter_id
    # The console script offers every development command and names itself in its usage.
    usage = run(str(venv / "bin" / "smartmeter-dlms"), "--help")
    assert usage.stdout.startswith("usage: smartmeter-dlms [-h] {decode,bench,simulate,fuzz}"), (
        usage.stderr
    )


def test_decoder_tests_run_without_home_assistant(tmp_path: Path) -> None:
    """tests/dlms passes in a process (and its children) where Home Assistant cannot be imported."""
    (tmp_path / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
    report = tmp_path / "isolation.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join((str(tmp_path), str(REPO / "tests"), str(REPO))),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "DECODER_ISOLATION_REPORT": str(report),
    }
    env.pop("COV_CORE_SOURCE", None)  # no coverage plugin in there: it would import nothing new
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/dlms",
            f"--ignore={Path(__file__).relative_to(REPO)}",
            "--confcutdir=tests/dlms",  # tests/conftest.py is Home Assistant's harness
            "-p",
            "_hypothesis_pytestplugin",
            "-p",
            "pytest_asyncio.plugin",  # pyproject's asyncio ini options are strict-checked
            "-p",
            "pytest_timeout",  # and so is its per-test timeout, which bounds this run's tests too
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=1800,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", summary), summary
    processes = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert processes, "the blocker never ran"
    assert [p for p in processes if p["loaded"] or p["source"] != "smartmeter_dlms"] == []
