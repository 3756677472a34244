"""python -m local_cloud --app-webhook URL [--eventgrid-port 6100] [--adapter-port 7072]
[--moto-port 5000] [--seed]

Runs the cross-cloud loop (see local_cloud.loop) until interrupted. The key of the AWS-bound
topic is EVENTGRID_TOPIC_KEY from the environment (so it matches the app's settings).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from aws.seed import seed_demo_customers
from local_cloud.loop import CrossCloudLoop, LoopOptions


async def serve(options: LoopOptions, seed: bool) -> None:
    loop = await CrossCloudLoop(options).start()
    try:
        if seed and loop.backend is not None:
            customers = await asyncio.to_thread(seed_demo_customers, loop.backend)
            print(f"local_cloud: seeded demo customers {', '.join(customers)}", flush=True)
        assert loop.eventgrid is not None
        print(f"local_cloud: ready — moto {loop.moto.url}, Event Grid http://127.0.0.1:{loop.eventgrid.port}, "
              f"AWS adapter {loop.adapter_url}", flush=True)
        await asyncio.Event().wait()
    finally:
        await loop.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m local_cloud", description=__doc__)
    parser.add_argument("--app-webhook", required=True)
    parser.add_argument("--eventgrid-port", type=int, default=6100)
    parser.add_argument("--adapter-port", type=int, default=7072)
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--seed", action="store_true", help="put the demo customers on the AWS side")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = LoopOptions(app_webhook_url=args.app_webhook, to_aws_key=os.environ.get("EVENTGRID_TOPIC_KEY", ""),
                          eventgrid_port=args.eventgrid_port, adapter_port=args.adapter_port,
                          moto_port=args.moto_port)
    try:
        asyncio.run(serve(options, args.seed))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
