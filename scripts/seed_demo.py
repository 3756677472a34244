"""Stock the demo SKUs through the app's own admin API. Usage: seed_demo.py BASE_URL"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request

DEMO_STOCK = {"SKU-RED": 100, "SKU-BLUE": 50, "SKU-GREEN": 5}


def put_stock(base_url: str, sku: str, available: int) -> dict:
    request = urllib.request.Request(
        f"{base_url}/api/inventory/{sku}", method="PUT", data=json.dumps({"available": available}).encode(),
        headers={"Content-Type": "application/json", "x-functions-key": os.environ.get("ADMIN_KEY", "")},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def main(base_url: str) -> None:
    deadline = time.monotonic() + 60
    for sku, units in DEMO_STOCK.items():
        while True:
            try:
                print(f"seeded {json.dumps(put_stock(base_url, sku, units))}")
                break
            except (urllib.error.URLError, ConnectionError) as error:
                if time.monotonic() > deadline:
                    raise SystemExit(f"seeding failed: {error}") from error
                time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7071")
