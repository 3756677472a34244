"""Benchmark: devhost's overhead per orchestration episode vs the SDK's own replay time.

Runs an orchestrator that calls N activities one after another (N+1 episodes with
growing histories) on an in-memory store, then replays each recorded episode's history
directly through the SDK entry point (no devhost) and prints, per episode:

- devhost overhead = whole episode (history load, context JSON, thread hop, replay
  simulation, SQLite commit) minus the time inside the orchestrator call;
- the time inside the orchestrator call as measured by devhost;
- the SDK's replay time for the same history, measured standalone;

and the ratio of devhost overhead to the SDK replay time, all from this one run.

    .venv/bin/python devhost/bench_episode.py [--activities 30] [--runs 5]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import azure.functions as func

from devhost import DevHost
from devhost.history import EventType

APP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests", "apps", "basic")


def sdk_replay_seconds(handle: Callable[..., Any], history: list[dict[str, Any]],
                       instance_id: str, repeat: int = 3) -> list[float]:
    """Time the SDK on every episode prefix of ``history`` (the context it saw then)."""
    starts = [i for i, e in enumerate(history) if e["EventType"] == EventType.OrchestratorStarted]
    results = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(history)
        # what the SDK saw in that episode: all earlier events, then the episode's
        # OrchestratorStarted and new messages (not the events the episode created, nor OC)
        arrived = [e for e in history[start:end] if e["EventId"] == -1
                   and e["EventType"] != EventType.OrchestratorCompleted]
        prefix = history[:start] + arrived
        context = json.dumps({"history": prefix, "input": json.loads(history[1]["Input"]),
                              "instanceId": instance_id, "isReplaying": False,
                              "parentInstanceId": None, "upperSchemaVersion": 1,
                              "upperSchemaVersionNew": 2})
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            handle(func.OrchestrationContext(context))
            best = min(best, time.perf_counter() - started)
        results.append(best)
    return results


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    import logging
    logging.getLogger("devhost").setLevel(logging.WARNING)

    async with DevHost(app_dir=APP_DIR, port=0, store=":memory:",
                       settings={"DEVHOST_MASTER_KEY": "bench"},
                       activity_overrides={"hello": lambda name: name}) as host:
        cities = [f"c{i}" for i in range(args.activities)]
        iid = await host.start_orchestration("sequence", {"cities": cities})  # warm-up
        await host.wait_for_completion(iid, timeout=60)
        host.engine.episode_timings.clear()
        instance_ids = []
        for _run in range(args.runs):
            iid = await host.start_orchestration("sequence", {"cities": cities})
            await host.wait_for_completion(iid, timeout=60)
            instance_ids.append(iid)
        timings = list(host.engine.episode_timings)
        orchestrator = host.loaded.orchestrator("sequence")
        assert orchestrator is not None  # start_orchestration("sequence") found it above
        handle = orchestrator.user_function
        sdk_standalone = []
        for iid in instance_ids:
            sdk_standalone += sdk_replay_seconds(handle, await host.history(iid), iid)

    episode_ms = [t[0] * 1000 for t in timings]
    inside_ms = [t[1] * 1000 for t in timings]
    overhead_ms = [e - i for e, i in zip(episode_ms, inside_ms, strict=True)]
    sdk_ms = [s * 1000 for s in sdk_standalone]
    print(f"episodes measured: {len(timings)} ({args.runs} runs x {args.activities + 1}, "
          f"histories up to {4 * args.activities + 4} events)")
    print(f"devhost episode total        mean {statistics.mean(episode_ms):7.3f} ms  "
          f"median {statistics.median(episode_ms):7.3f} ms")
    print(f"  inside orchestrator call   mean {statistics.mean(inside_ms):7.3f} ms  "
          f"median {statistics.median(inside_ms):7.3f} ms")
    print(f"  devhost overhead           mean {statistics.mean(overhead_ms):7.3f} ms  "
          f"median {statistics.median(overhead_ms):7.3f} ms")
    print(f"SDK replay, same histories   mean {statistics.mean(sdk_ms):7.3f} ms  "
          f"median {statistics.median(sdk_ms):7.3f} ms  (standalone, best of 3)")
    print(f"ratio devhost overhead / SDK replay (means): "
          f"{statistics.mean(overhead_ms) / statistics.mean(sdk_ms):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
