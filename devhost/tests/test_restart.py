"""kill -9 the devhost process mid-orchestration, restart it on the same SQLite file."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import aiohttp
import pytest

import devhost

from .conftest import app_dir

pytestmark = pytest.mark.asyncio

# The folder devhost is imported from (a checkout's root or site-packages): the child
# process imports the same devhost, and nothing else of whatever project holds it.
DEVHOST_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(devhost.__file__)))


async def start_devhost(store: str, log_path: str):
    env = dict(os.environ, RESTART_LOG=log_path, PYTHONPATH=DEVHOST_PARENT, STEP_TWO_SECONDS="1.5")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devhost", "--app-dir", app_dir("restart"), "--port", "0",
        "--store", store, "--anonymous", "--log-level", "WARNING",
        cwd=os.path.dirname(store), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None  # stdout=PIPE
    line = await asyncio.wait_for(process.stdout.readline(), 30)
    assert line.startswith(b"devhost ready: "), line
    return process, line.decode().split("ready: ", 1)[1].strip()


def lines(path: str):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return handle.read().split()


async def status(http, base, iid):
    async with http.get(f"{base}/durabletask/instances/{iid}") as r:
        return await r.json() if r.status in (200, 202) else None


async def test_sigkill_mid_orchestration_then_resume(tmp_path):
    store = str(tmp_path / "devhost.sqlite")
    log_path = str(tmp_path / "runs.log")
    process, base = await start_devhost(store, log_path)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}/durabletask/orchestrators/two_steps/r1",
                                 json='"x"') as r:  # double-encoded, like the SDK client
                assert r.status == 202
            async with http.post(f"{base}/durabletask/orchestrators/sleeper/r2") as r:
                assert r.status == 202
            deadline = time.monotonic() + 15
            while "step_two:start" not in lines(log_path):
                assert time.monotonic() < deadline, lines(log_path)
                await asyncio.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert lines(log_path) == ["step_one", "step_two:start"]

    process, base = await start_devhost(store, log_path)
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 20
            while True:
                first, second = await status(http, base, "r1"), await status(http, base, "r2")
                if first["runtimeStatus"] == "Completed" and second["runtimeStatus"] == "Completed":
                    break
                assert time.monotonic() < deadline, (first, second)
                await asyncio.sleep(0.05)
        assert first["output"] == "x-one-two"
        assert second["output"] == "fired"
        # step_one's recorded result was kept; step_two (in flight at the kill) ran again
        assert lines(log_path) == ["step_one", "step_two:start", "step_two:start", "step_two:end"]
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
