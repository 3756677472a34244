"""Benchmark: devhost vs the ``durabletask`` package's in-memory test backend, side by side.

The workload on both: an orchestrator that calls 6 no-op activities in sequence; N instances
started at once (N = 50, then 200). Figure: sagas/s = N / seconds from the first start to
all N completed. Both sides run in processes of their own, one after the other per N:

- devhost: ``python -m devhost`` serving ``bench_apps/noop_chain`` (in-memory store,
  anonymous), driven over HTTP like any client: N ``POST
  /runtime/webhooks/durabletask/orchestrators/noop_chain/<id>`` at once, then one instance
  query per poll until all N are terminal;
- peer: ``bench_apps/durabletask_peer.py`` in its own venv (``.bench-venv/peer``, created
  here with ``durabletask==PEER_VERSION`` when missing): durabletask's in-memory backend
  (a gRPC server) + its ``TaskHubGrpcWorker`` + client, all in that process.

Each (side, N) runs ``--repeat`` times, interleaved; the best run counts (the machine is
shared, and other load only ever slows a run down). A side that does not finish N within
the timeout reports null. Progress bar and table on
stderr; the last stdout line is one JSON object::

    {"devhost_50", "peer_50", "ratio_50", "devhost_200", "peer_200", "devhost_200_completed"}

    .venv/bin/python -m devhost.bench_peer [--sizes 50,200] [--repeat 3] [--timeout 120]
                                           [--no-peer]
    .venv/bin/python -m devhost.bench_peer --profile 200   # cProfile of devhost, no peer

``--profile N`` runs devhost in this process instead (same app, same HTTP driving), with
cProfile on devhost's worker-loop thread (server, engine, replay, store all run there), and
prints the top 15 functions by cumulative and by own time to stderr (wall clock; with
``--profile-cpu`` the thread's CPU time).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from tqdm import tqdm

DEVHOST_DIR = os.path.dirname(os.path.abspath(__file__))
PROJECT_DIR = os.path.dirname(DEVHOST_DIR)
APP_DIR = os.path.join(DEVHOST_DIR, "bench_apps", "noop_chain")
PEER_DRIVER = os.path.join(DEVHOST_DIR, "bench_apps", "durabletask_peer.py")
PEER_VENV = os.path.join(PROJECT_DIR, ".bench-venv", "peer")
PEER_VERSION = "1.12.0"  # latest durabletask on PyPI when this was written
ORCHESTRATOR = "noop_chain"
TERMINAL = "Completed,Failed,Terminated,Canceled"
POLL_SECONDS = 0.05


@dataclass
class Run:
    n: int
    completed: int
    seconds: float | None  # None: not all N completed within the timeout
    cpu_seconds: float | None = None  # CPU the side's process used meanwhile (less load-bound)

    @property
    def rate(self) -> float | None:
        return None if self.seconds is None else self.n / self.seconds


class DevhostProcess:
    """``python -m devhost`` on a free port, in-memory store, in a process of its own."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> DevhostProcess:
        env = dict(os.environ, PYTHONPATH=PROJECT_DIR)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devhost", "--app-dir", APP_DIR, "--port", "0",
             "--store", ":memory:", "--anonymous", "--no-timers", "--log-level", "WARNING"],
            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # cli.py: the first line once it listens
        if not line.startswith("devhost ready: "):
            self.proc.kill()
            raise RuntimeError(f"devhost did not start: {line!r}")
        self.base_url = line.split(": ", 1)[1].strip()
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def run_devhost(base_url: str, n: int, timeout: float, tag: str,
                      progress: Callable[[int], None] = lambda _done: None,
                      pid: int | None = None) -> Run:
    """Start N instances at once over HTTP, poll one instance query until all are terminal."""
    hooks = f"{base_url}/runtime/webhooks/durabletask"
    prefix = f"{tag}-"
    query = {"runtimeStatus": TERMINAL, "instanceIdPrefix": prefix, "showInput": "false"}
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def start(i: int) -> None:
            async with session.post(f"{hooks}/orchestrators/{ORCHESTRATOR}/{prefix}{i}",
                                    json=None) as resp:
                if resp.status != 202:
                    raise RuntimeError(f"start {prefix}{i}: HTTP {resp.status} "
                                       f"{await resp.text()}")

        started, cpu_started = time.perf_counter(), process_cpu_seconds(pid)
        await asyncio.gather(*(start(i) for i in range(n)))
        completed = 0
        while True:
            async with session.get(f"{hooks}/instances", params=query) as resp:
                rows = await resp.json()
            finished = [r for r in rows if r["runtimeStatus"] != "Completed"]
            if finished:
                raise RuntimeError(f"devhost: instance ended {finished[0]['runtimeStatus']}: "
                                   f"{finished[0]}")
            completed = len(rows)
            progress(completed)
            if completed >= n:
                cpu = process_cpu_seconds(pid)
                return Run(n, completed, time.perf_counter() - started,
                           None if cpu is None or cpu_started is None else cpu - cpu_started)
            if time.perf_counter() - started > timeout:
                return Run(n, completed, None)
            await asyncio.sleep(POLL_SECONDS)


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU of process ``pid`` from /proc (Linux); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_peer_venv() -> str:
    """The peer's interpreter; creates its venv with the pinned durabletask when missing."""
    python = os.path.join(PEER_VENV, "bin", "python")
    if not os.path.exists(python):
        print(f"creating {PEER_VENV} with durabletask=={PEER_VERSION}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", PEER_VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", f"durabletask=={PEER_VERSION}"],
                       check=True)
    return python


def run_peer(python: str, n: int, timeout: float,
             progress: Callable[[int], None] = lambda _done: None) -> Run:
    """One driver process per N (its start-up is outside the timed span)."""
    proc = subprocess.Popen([python, PEER_DRIVER, "--sizes", str(n), "--timeout", str(timeout)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    for line in proc.stderr:  # "progress <k>" per completed instance, anything else as is
        if line.startswith("progress "):
            progress(int(line.split()[1]))
        elif line.strip() and not line.startswith("peer "):
            print(line.rstrip(), file=sys.stderr)
    out = proc.stdout.read()
    if proc.wait() != 0:
        raise RuntimeError(f"peer driver exited {proc.returncode}")
    figures = json.loads(out.strip().splitlines()[-1])[str(n)]
    return Run(n, figures["completed"], figures["seconds"], figures.get("cpu_seconds"))


def best(previous: Run | None, run: Run) -> Run:
    """The faster of two runs; a run that completed beats one that did not."""
    if previous is None:
        return run
    return max(previous, run, key=lambda r: (r.rate is not None, r.rate or 0.0, r.completed))


def bar(label: str, n: int) -> tuple[tqdm, Callable[[int], None]]:
    progress_bar = tqdm(total=n, desc=label, unit="saga", file=sys.stderr, leave=True)

    def update(done: int) -> None:
        progress_bar.update(max(0, min(done, n) - progress_bar.n))
    return progress_bar, update


def profile_devhost(n: int, timeout: float, cpu_clock: bool) -> None:
    import cProfile
    import logging
    import pstats

    from devhost import DevHost
    from devhost.worker_loop import run_sync, worker_loop

    logging.getLogger("devhost").setLevel(logging.WARNING)
    host = DevHost(app_dir=APP_DIR, port=0, store=":memory:", anonymous=True, timers=False)
    run_sync(host._start)
    try:
        asyncio.run(run_devhost(host.base_url, 2, 30, "warmup"))
        profiler = cProfile.Profile(time.thread_time if cpu_clock else time.perf_counter)
        loop = worker_loop()
        # cProfile.enable() profiles the calling thread: call it on the worker-loop thread
        asyncio.run_coroutine_threadsafe(_call(profiler.enable), loop).result()
        run = asyncio.run(run_devhost(host.base_url, n, timeout, f"profile{n}"))
        asyncio.run_coroutine_threadsafe(_call(profiler.disable), loop).result()
    finally:
        run_sync(host._stop)
    print(f"devhost N={n}: {run.completed} completed in {fmt(run.seconds, '.3f')} s "
          f"(under cProfile)", file=sys.stderr)
    for key in ("cumulative", "tottime"):
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(key).print_stats(15)


async def _call(function: Callable[[], None]) -> None:
    function()


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "null" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,200", help="comma-separated N (first two used "
                                                           "for the JSON keys' suffixes)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per side and N, seconds")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per side and N, interleaved; the best counts")
    parser.add_argument("--no-peer", action="store_true", help="devhost side only")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="profile devhost in-process with N instances, then exit")
    parser.add_argument("--profile-cpu", action="store_true",
                        help="with --profile: the thread's CPU time instead of wall time "
                             "(wall time counts waiting for the GIL inside calls that drop it)")
    args = parser.parse_args(argv)
    if args.profile:
        profile_devhost(args.profile, args.timeout, args.profile_cpu)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    peer_python = None if args.no_peer else ensure_peer_venv()

    devhost_runs: dict[int, Run] = {}
    peer_runs: dict[int, Run] = {}
    with DevhostProcess() as devhost:
        asyncio.run(run_devhost(devhost.base_url, 2, 30, "warmup"))  # import, first episode
        for n in sizes:
            # interleaved per N and repeat, so both sides see the same machine load; the
            # best of the repeats counts (the machine is shared: load only ever slows a run)
            for attempt in range(args.repeat):
                progress_bar, update = bar(f"devhost N={n} #{attempt + 1}", n)
                run = asyncio.run(run_devhost(devhost.base_url, n, args.timeout,
                                              f"run{n}-{attempt}", update,
                                              devhost.proc.pid if devhost.proc else None))
                progress_bar.close()
                devhost_runs[n] = best(devhost_runs.get(n), run)
                if peer_python is not None:
                    progress_bar, update = bar(f"peer    N={n} #{attempt + 1}", n)
                    run = run_peer(peer_python, n, args.timeout, update)
                    progress_bar.close()
                    peer_runs[n] = best(peer_runs.get(n), run)

    print(f"best of {args.repeat}:", file=sys.stderr)
    print(f"{'side':<10}{'N':>6}{'completed':>11}{'seconds':>10}{'sagas/s':>10}{'CPU ms/saga':>13}",
          file=sys.stderr)
    for n in sizes:
        for side, runs in (("devhost", devhost_runs), ("peer", peer_runs)):
            if n in runs:
                r = runs[n]
                print(f"{side:<10}{n:>6}{r.completed:>11}{fmt(r.seconds, '.3f'):>10}"
                      f"{fmt(r.rate):>10}"
                      f"{fmt(None if r.cpu_seconds is None else 1000 * r.cpu_seconds / n):>13}",
                      file=sys.stderr)

    def rate(runs: dict[int, Run], n: int) -> float | None:
        value = runs[n].rate if n in runs else None
        return None if value is None else round(value, 2)

    small, large = (sizes + sizes)[:2] if len(sizes) == 1 else sizes[:2]
    ratio = None
    if rate(devhost_runs, small) is not None and rate(peer_runs, small):
        ratio = round(devhost_runs[small].rate / peer_runs[small].rate, 2)  # type: ignore[operator]
    result = {
        f"devhost_{small}": rate(devhost_runs, small),
        f"peer_{small}": rate(peer_runs, small),
        f"ratio_{small}": ratio,
        f"devhost_{large}": rate(devhost_runs, large),
        f"peer_{large}": rate(peer_runs, large),
        f"devhost_{large}_completed": devhost_runs[large].completed,
    }
    print(f"ratio devhost/peer at N={small}: {fmt(ratio, '.2f')}", file=sys.stderr)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
