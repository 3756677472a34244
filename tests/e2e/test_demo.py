"""The demo command keeps working: it plays its four stories and the invariants hold."""

from __future__ import annotations

import subprocess
import sys

import pytest

from local_cloud.processes import REPO_ROOT

pytestmark = pytest.mark.integration


def test_the_demo_tells_four_stories_and_the_invariants_hold() -> None:
    run = subprocess.run([sys.executable, "-m", "local_cloud.demo"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [line.split("→")[-1].split()[0] for line in run.stdout.splitlines() if line.startswith("   order ")] == [
        "COMPLETED", "CANCELLED", "CANCELLED", "CANCELLED"]
    assert "no saga running: all hold" in run.stdout
    assert "Unclosed client session" not in run.stderr
