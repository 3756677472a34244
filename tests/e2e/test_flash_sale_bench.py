"""The flash-sale benchmark keeps its promises at a CI-sized load: 24 concurrent orders on one
SKU of 16 units (then the same 24 over 24 SKUs), once as is and once with devhost killed -9
and restarted mid-sale — every order ends, exactly 16 are sold, 8 are out of stock, nothing
oversold or lost. Only the invariants are asserted; the figures are printed
(`python -m bench.flash_sale` is the full run)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from local_cloud.processes import REPO_ROOT

pytestmark = pytest.mark.integration

KEYS = {"orders", "completed", "out_of_stock", "oversold", "lost", "contended_sagas_per_s",
        "uncontended_sagas_per_s", "ratio", "conflicts_per_reservation", "cosmos_requests_per_saga",
        "minimum_requests_per_saga", "p50_s", "p95_s", "max_sku_doc_bytes", "host_kills"}


@pytest.mark.parametrize("kills", [0, 1])
def test_a_small_flash_sale_sells_exactly_the_stock_and_loses_nothing(
    kills: int, capsys: pytest.CaptureFixture[str]
) -> None:
    run = subprocess.run([sys.executable, "-m", "bench.flash_sale", "--orders", "24", "--units", "16",
                          "--kill-host", str(kills), "--no-progress"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    with capsys.disabled():
        print("\n" + run.stdout.strip())
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert KEYS <= set(result), KEYS - set(result)
    assert (result["oversold"], result["lost"]) == (0, 0), result["problems"]
    assert (result["completed"], result["out_of_stock"]) == (16, 8), result["contended_outcomes"]
    assert result["uncontended_outcomes"] == {"completed": 24}
    assert result["host_kills"] == kills
    assert result["invariants"] == "hold" and run.returncode == 0, result["problems"]
