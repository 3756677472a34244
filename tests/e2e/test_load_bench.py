"""The load benchmark keeps working and keeps its promises at a CI-sized load: every saga
ends, nothing is oversold or lost, credit and stock are conserved (the figures are printed;
`python -m bench.load_cross_cloud --orders 200` is the full run)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from local_cloud.processes import REPO_ROOT

pytestmark = pytest.mark.integration


def test_forty_concurrent_orders_on_two_hot_skus_keep_the_invariants(capsys: pytest.CaptureFixture[str]) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.load_cross_cloud", "--orders", "40", "--skus", "2",
                          "--units", "25"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    with capsys.disabled():
        print("\n" + run.stdout.strip())
    assert run.returncode == 0, run.stdout + run.stderr
    assert "oversold 0, lost 0" in run.stdout and "invariants hold" in run.stdout
