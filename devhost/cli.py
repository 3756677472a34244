"""``devhost --app-dir . --app function_app --port 7071 --store path [--anonymous]``

(also ``python -m devhost ...``). Prints ``devhost ready: http://127.0.0.1:<port>`` on
stdout (flushed) once it listens — the first line, for scripts that wait for it — then the
function list ``func start`` prints (name, trigger, URL of each HTTP function), then serves
until SIGINT/SIGTERM.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading

from .host import DevHost
from .worker_loop import worker_loop


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="devhost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--app-dir", default=".", help="function app directory (put on sys.path)")
    parser.add_argument("--app", default="function_app", help="module that defines the app")
    parser.add_argument("--port", type=int, default=7071, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--store", default=None,
                        help="SQLite file (default <app-dir>/.devhost/devhost.sqlite; "
                             "':memory:' for a throwaway store)")
    parser.add_argument("--anonymous", action="store_true",
                        help="turn function-key checks off (explicit dev mode)")
    parser.add_argument("--no-timers", action="store_true", help="do not run timer triggers")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    host = DevHost(app_dir=args.app_dir, module=args.app, port=args.port, store=args.store,
                   anonymous=args.anonymous, host=args.host,
                   timers=False if args.no_timers else None)
    loop = worker_loop()
    asyncio.run_coroutine_threadsafe(host._start(), loop).result()
    print(f"devhost ready: {host.base_url}", flush=True)
    print("\n".join(host.function_list()), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    asyncio.run_coroutine_threadsafe(host._stop(), loop).result(timeout=30)
    return 0
