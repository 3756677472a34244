"""python -m eventgrid_local --config eventgrid.local.json [--port 6100]"""

from __future__ import annotations

import argparse
import asyncio
import logging

from eventgrid_local.config import ServiceConfig
from eventgrid_local.server import EventGridService


async def serve(config: ServiceConfig, port: int) -> None:
    service = EventGridService(config)
    bound = await service.start(port=port)
    print(f"eventgrid_local: ready on http://127.0.0.1:{bound}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eventgrid_local", description=__doc__)
    parser.add_argument("--config", required=True, help="JSON file with topics and subscriptions")
    parser.add_argument("--port", type=int, default=6100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(ServiceConfig.from_file(args.config), args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
