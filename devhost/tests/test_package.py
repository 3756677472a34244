"""devhost as a package of its own: built, installed and run on an app outside any project.

The wheel is built from a copy of devhost's folder (so the checkout gets no build
directory), installed with pip into a fresh target folder, and its ``devhost`` console
script serves a small Durable app copied to a temporary folder; the child process's only
import path for devhost is that target folder, so an import of the order app's packages
would fail there. The parts that used to import the host must not import it any more.
"""
from __future__ import annotations

import ast
import asyncio
import os
import shutil
import subprocess
import sys
import zipfile

import aiohttp
import pytest

import devhost

from .conftest import app_dir

DEVHOST_DIR = os.path.dirname(os.path.abspath(devhost.__file__))
# The HTTP parts receive the engine, invoker, keys, loaded app, endpoints: never the host.
PARTS = ("admin", "dashboard", "eventgrid", "http_triggers", "management_api", "timer_triggers")


def imported_modules(path: str) -> set[str]:
    """Every module a file imports, relative ones as ``.name``, TYPE_CHECKING blocks included."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


@pytest.mark.parametrize("part", PARTS)
def test_http_parts_do_not_import_the_host(part):
    modules = imported_modules(os.path.join(DEVHOST_DIR, f"{part}.py"))
    assert not modules & {".host", "devhost.host", ".", "devhost"}, modules


def test_no_module_imports_the_order_app():
    project = {"ordersaga", "activities", "orchestrators", "triggers", "local_cloud", "tests",
               "function_app", "aws", "eventgrid_local"}
    for name in sorted(os.listdir(DEVHOST_DIR)):
        if name.endswith(".py"):
            tops = {m.split(".")[0] for m in imported_modules(os.path.join(DEVHOST_DIR, name))}
            assert not tops & project, (name, tops & project)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    """``pip install`` of the wheel built from devhost's folder, into a fresh target."""
    work = tmp_path_factory.mktemp("package")
    source = work / "src" / "devhost"
    shutil.copytree(DEVHOST_DIR, source, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__", ".devhost"))
    wheels = work / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(source)], check=True, timeout=300)
    (wheel,) = wheels.glob("devhost-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "devhost/cli.py" in names and "devhost/engine.py" in names and "devhost/py.typed" in names
    assert not [n for n in names if n.startswith("devhost/tests")]
    assert "devhost = devhost.cli:main" in entry_points
    target = work / "site"
    # --no-deps: the runtime dependencies are this interpreter's own (the same pins).
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=300)
    return str(target)


async def test_installed_console_script_serves_another_app(installed, tmp_path):
    app = tmp_path / "greeter"
    shutil.copytree(app_dir("standalone"), app)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = installed  # devhost from the installed wheel, nothing from a checkout
    process = await asyncio.create_subprocess_exec(
        os.path.join(installed, "bin", "devhost"), "--app-dir", str(app), "--port", "0",
        "--store", ":memory:", "--anonymous", "--log-level", "WARNING",
        cwd=str(tmp_path), env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        ready = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
        assert ready.startswith("devhost ready: "), ready
        base = ready.split("ready: ", 1)[1].strip()
        listing = [(await asyncio.wait_for(process.stdout.readline(), 10)).decode().rstrip("\n")
                   for _ in range(11)]
        assert listing == [
            "", "Functions:", "",
            f"\tstart_greeting: [POST] {base}/app/greetings/{{name}}", "",
            f"\tvisible_project_packages: [GET] {base}/app/visible-project-packages", "",
            "\tgreet: orchestrationTrigger", "", "\tshout: activityTrigger", ""]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/app/visible-project-packages") as response:
                assert await response.json() == []
            async with http.post(f"{base}/app/greetings/ann") as response:
                assert response.status == 202
                location = response.headers["Location"]
            for _ in range(200):
                async with http.get(location) as response:
                    status = await response.json()
                if status["runtimeStatus"] == "Completed":
                    break
                await asyncio.sleep(0.05)
            assert status["runtimeStatus"] == "Completed", status
            assert status["output"] == ["ANN!", "ANN!!"]
    finally:
        process.terminate()
        await process.wait()
