"""Fixtures for the AWS participant's tests: ONE real moto server per session (moto_server,
next to the interpreter), and per test its own table prefix and event bus, so tests share
the server but never each other's rows."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from aws.local_infra import create_local_infrastructure
from aws.settings import AwsSettings, Backend
from tests.aws.tenant import TestTenant
from tests.support.servers import free_port, wait_for_port

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    saved = {name: os.environ.get(name) for name in FAKE_CREDENTIALS}
    os.environ.update(FAKE_CREDENTIALS)  # never real credentials, whatever the machine has
    port = free_port()
    server = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=30, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def settings(moto_endpoint: str) -> AwsSettings:
    run = uuid.uuid4().hex[:10]
    return AwsSettings(region=REGION, dynamodb_endpoint=moto_endpoint, table_prefix=f"t{run}-",
                       event_bus=f"bus-{run}", relay_max_attempts=3)


@pytest.fixture
def backend(settings: AwsSettings) -> Backend:
    connected = Backend.connect(settings)
    create_local_infrastructure(connected)
    return connected


@pytest.fixture
def sqs(moto_endpoint: str) -> object:
    return boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def tenant() -> Iterator[TestTenant]:
    """An Entra tenant of the test's own: generated keys, JWKS over HTTP (tests/aws/tenant.py)."""
    made = TestTenant()
    try:
        yield made
    finally:
        made.stop()
