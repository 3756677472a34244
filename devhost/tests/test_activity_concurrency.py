"""host.json maxConcurrentActivityFunctions limits how many activities run at once."""
from __future__ import annotations

import pytest


@pytest.mark.asyncio
async def test_activities_beyond_the_limit_wait_for_a_slot(make_host) -> None:
    host = await make_host("concurrency")
    instance_id = await host.start_orchestration("fan_out")
    status = await host.wait_for_completion(instance_id, timeout=30)
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == 2, "six activities, at most two at a time (host.json)"
