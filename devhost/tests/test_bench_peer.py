"""``python -m devhost.bench_peer`` on devhost's side only, small (no timing assertions), and
the SDK timestamp memo it led to (``devhost/sdk_speedups.py``).

The peer side (durabletask in its own venv) is left out: creating that venv means a pip
install, far from quick; the benchmark itself runs it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from dateutil.parser import parse as dateutil_parse

from devhost import sdk_speedups
from devhost.history import format_timestamp

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_devhost_side_completes_every_instance_and_prints_the_json_last():
    run = subprocess.run(
        [sys.executable, "-m", "devhost.bench_peer", "--sizes", "4,10", "--repeat", "1", "--no-peer",
         "--timeout", "60"],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=PROJECT_DIR))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(result) == {"devhost_4", "peer_4", "ratio_4", "devhost_10", "peer_10",
                           "devhost_10_completed"}
    assert result["devhost_10_completed"] == 10
    assert result["devhost_4"] > 0 and result["devhost_10"] > 0  # null if any did not finish
    assert result["peer_4"] is None and result["ratio_4"] is None  # --no-peer
    assert "sagas/s" in run.stderr  # the table goes to stderr


@pytest.fixture
def sdk_parse():
    """The SDK's parse as HistoryEvent calls it, with the memo installed; restored after."""
    assert sdk_speedups.install()  # imports the SDK module if nothing has yet
    module = sys.modules["azure.durable_functions.models.history.HistoryEvent"]
    yield lambda text, *args, **kwargs: module.dt_parse(text, *args, **kwargs)
    sdk_speedups.install()  # devhost's default for the rest of this process


def test_memo_gives_what_dateutil_gives_for_devhost_timestamps(sdk_parse):
    moments = [dt.datetime(2026, 1, 2, 3, 4, 5, micro, tzinfo=dt.UTC)
               for micro in (0, 100, 123456, 999999)]
    for moment in moments:
        text = format_timestamp(moment)
        assert sdk_parse(text) == dateutil_parse(text) == moment
        assert sdk_parse(text) is sdk_parse(text)  # the second one came from the memo


def test_memo_leaves_other_forms_and_arguments_to_dateutil(sdk_parse):
    local = "2026-01-02T03:04:05"  # no zone: depends on more than the string
    assert sdk_parse(local) is not sdk_parse(local)
    assert sdk_parse("2026-01-02T03:04:05Z", ignoretz=True).tzinfo is None


def test_uninstall_restores_the_sdks_own_parse(sdk_parse):
    module = sys.modules["azure.durable_functions.models.history.HistoryEvent"]
    sdk_speedups.uninstall()
    assert module.dt_parse is dateutil_parse
    sdk_speedups.install()
    sdk_speedups.install()  # idempotent: one memo, not a memo of a memo
    assert module.dt_parse.devhost_original is dateutil_parse
