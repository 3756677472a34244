"""Peer side of ``python -m devhost.bench_peer``; runs in the peer's own venv (durabletask
from PyPI), never imported by devhost.

Starts durabletask's in-memory test backend (``durabletask.testing``, a gRPC server) and a
``TaskHubGrpcWorker`` connected to it, both in this process, registers the same 6-step
no-op chain as ``bench_apps/noop_chain``, then for each N: schedules N instances at once
(a thread pool of clients calls ``schedule_new_orchestration``) and waits until all N are
completed. Prints ``progress <k>`` lines on stderr, then one JSON line:
``{"<N>": {"seconds": s | null, "completed": k, "cpu_seconds": c}, ...}``.

    python durabletask_peer.py --sizes 50,200 --timeout 120
"""
from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from durabletask import client, task, worker
from durabletask.testing import create_test_backend

STEPS = 6


def noop(ctx: task.ActivityContext, step: int) -> int:
    return step


def noop_chain(ctx: task.OrchestrationContext, _input: object):
    for step in range(STEPS):
        yield ctx.call_activity(noop, input=step)
    return STEPS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_size(hub: client.TaskHubGrpcClient, n: int, timeout: float, tag: str) -> dict:
    ids = [f"{tag}-{i}" for i in range(n)]
    started, cpu_started = time.perf_counter(), time.process_time()
    # "at once": the starts go out concurrently, as devhost's side does over HTTP
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda iid: hub.schedule_new_orchestration(noop_chain, instance_id=iid),
                      ids))
    deadline = started + timeout
    done = 0
    for iid in ids:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        try:
            state = hub.wait_for_orchestration_completion(iid, fetch_payloads=False,
                                                          timeout=remaining)
        except TimeoutError:
            break
        if state is None or state.runtime_status != client.OrchestrationStatus.COMPLETED:
            break
        done += 1
        print(f"progress {done}", file=sys.stderr, flush=True)  # bench_peer's progress bar
    seconds = time.perf_counter() - started
    # CPU of this whole process (backend, worker and client threads) over the same span
    return {"seconds": seconds if done == n else None, "completed": done,
            "cpu_seconds": time.process_time() - cpu_started}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the worker logs every work item at INFO
    backend = create_test_backend(port=free_port())
    address = f"localhost:{backend._port}"
    w = worker.TaskHubGrpcWorker(host_address=address)
    w.add_orchestrator(noop_chain)
    w.add_activity(noop)
    w.start()
    hub = client.TaskHubGrpcClient(host_address=address)
    results: dict[str, dict] = {}
    try:
        run_size(hub, 2, 30, "warmup")  # channel, stream and first-call costs out of the way
        for n in (int(s) for s in args.sizes.split(",")):
            results[str(n)] = run_size(hub, n, args.timeout, f"run{n}")
            print(f"peer {n}: {results[str(n)]}", file=sys.stderr, flush=True)
    finally:
        w.stop()
        backend.stop()
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
