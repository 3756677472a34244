"""Local servers started on a free port and stopped: the moto AWS server, the Cosmos DB
protocol server and Azurite (both npm packages installed by `scripts/bootstrap.sh`), and this
app on devhost as a process of its own."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited early with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL if it has not gone within 5 s."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


class MotoServer:
    """moto's standalone server: DynamoDB, EventBridge and SQS on one local endpoint."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        executable = Path(sys.executable).with_name("moto_server")
        command = [str(executable)] if executable.exists() else [sys.executable, "-m", "moto.server"]
        # moto signs nothing, but boto3 insists on credentials: local placeholders only.
        env = dict(os.environ, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
        self.process = subprocess.Popen([*command, "-p", str(self.port)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, env=env)
        wait_for_port(self.port, timeout=60, process=self.process)
        return self

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


def node_bin(name: str) -> str:
    local = REPO_ROOT / "node_modules" / ".bin" / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `bash scripts/bootstrap.sh` (npm ci)")
    return found


class CosmosServer:
    """The Cosmos DB protocol server (npm @vercel/cosmosdb-server): HTTPS, self-signed."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"https://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> CosmosServer:
        self.process = subprocess.Popen(
            [node_bin("cosmosdb-server"), "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        wait_for_port(self.port, timeout=30, process=self.process)
        # The port opens before TLS is served on some machines: wait for a real handshake.
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as raw, \
                        context.wrap_socket(raw, server_hostname="localhost"):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None


class Azurite:
    """Azurite (npm) with an account and key made up for this run, so no well-known key is
    needed anywhere in the tests."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.blob_port, self.queue_port, self.table_port = free_port(), free_port(), free_port()
        self.account = "testacct"
        self.key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        base = "http://127.0.0.1"
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={base}:{self.blob_port}/{self.account};"
                f"QueueEndpoint={base}:{self.queue_port}/{self.account};"
                f"TableEndpoint={base}:{self.table_port}/{self.account};")

    def start(self) -> Azurite:
        env = dict(os.environ, AZURITE_ACCOUNTS=f"{self.account}:{self.key}")
        self.process = subprocess.Popen(
            [node_bin("azurite"), "--silent", "--skipApiVersionCheck", "--location", str(self.location),
             "--blobPort", str(self.blob_port), "--queuePort", str(self.queue_port),
             "--tablePort", str(self.table_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        for port in (self.blob_port, self.queue_port, self.table_port):
            wait_for_port(port, timeout=30, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            # Azurite lingers on SIGTERM while clients keep connections; its data is throwaway.
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


class DevhostProcess:
    """`python -m devhost` for this app, anonymous, on a fixed port and a SQLite file, so a
    restart after kill -9 finds the same store and the same URL."""

    def __init__(self, port: int, store: Path, env: dict[str, str]) -> None:
        self.port, self.store, self.env = port, store, env
        self.base = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> DevhostProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "devhost", "--app-dir", str(REPO_ROOT), "--port", str(self.port),
            "--store", str(self.store), "--anonymous", "--no-timers", "--log-level", "WARNING",
            cwd=REPO_ROOT, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 90)
        if not line.startswith(b"devhost ready: "):
            raise RuntimeError(f"devhost did not start: {line!r}")
        return self

    async def kill(self) -> None:
        """kill -9: no shutdown, whatever was in flight is cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
