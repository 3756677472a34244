#!/usr/bin/env bash
# The run command: installs what is missing, starts the local servers (Azurite, the Cosmos
# DB protocol server), the cross-cloud loop (local Event Grid topics, the AWS payment
# participant on the moto server, the EventBridge → Event Grid forwarder) and the app — on
# Azure Functions Core Tools (`func start`) when it is installed, else on devhost, the
# in-process stand-in — then seeds demo stock and customers and prints the URLs.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=7
step() { echo "[$1/$STEPS] $2"; }

step 1 "installing what is missing (Python packages, local servers)…"
bash scripts/bootstrap.sh

PORT="${PORT:-7071}"
COSMOS_PORT="${COSMOS_PORT:-8081}"
EVENTGRID_PORT="${EVENTGRID_PORT:-6100}"  # must match EVENTGRID_TOPIC_ENDPOINT in local.settings.json
AWS_ADAPTER_PORT="${AWS_ADAPTER_PORT:-7072}"
MOTO_PORT="${MOTO_PORT:-5000}"
STATE_DIR=".local"
mkdir -p "$STATE_DIR/azurite" .devhost

if [ ! -f local.settings.json ]; then
  cp local.settings.example.json local.settings.json
  echo "run: created local.settings.json from local.settings.example.json (local emulator values only)"
fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 150); do port_busy "$1" && return 0; sleep 0.2; done
  echo "run: nothing is listening on port $1 ($2 did not start; see $STATE_DIR/$2.log)" >&2
  exit 1
}

# The Functions host is ready when GET /admin/host/status says "Running" (what tools poll;
# answered without a key by func start and by devhost in anonymous mode alike).
wait_host() {
  for _ in $(seq 1 300); do
    .venv/bin/python - "$1" <<'PY' 2>/dev/null && return 0
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/admin/host/status", timeout=2) as response:
    sys.exit(0 if json.load(response).get("state") == "Running" else 1)
PY
    sleep 0.2
  done
  echo "run: the Functions host on port $1 did not report Running" >&2
  exit 1
}

step 2 "starting Azurite (Durable storage)…"
if port_busy 10000; then
  echo "run: port 10000 is in use; assuming Azurite is already running"
else
  node_modules/.bin/azurite --silent --location "$STATE_DIR/azurite" --blobPort 10000 --queuePort 10001 \
    --tablePort 10002 > "$STATE_DIR/azurite.log" 2>&1 &
  pids+=($!)
  wait_port 10000 azurite
fi

step 3 "starting the Cosmos DB protocol server…"
if port_busy "$COSMOS_PORT"; then
  echo "run: port $COSMOS_PORT is in use; assuming a Cosmos DB emulator or server is listening there"
else
  node_modules/.bin/cosmosdb-server -p "$COSMOS_PORT" > "$STATE_DIR/cosmos.log" 2>&1 &
  pids+=($!)
  wait_port "$COSMOS_PORT" cosmos
fi

# The AWS side and both Event Grid topics; the Azure-bound topic delivers to the app's
# Event Grid trigger, the AWS-bound one takes the app's key from local.settings.json.
step 4 "starting the cross-cloud loop (Event Grid topics, moto, the AWS payment participant)…"
EVENTGRID_TOPIC_KEY="$(.venv/bin/python -c 'import json; print(json.load(open("local.settings.json"))["Values"]["EVENTGRID_TOPIC_KEY"])')"
EVENTGRID_TOPIC_KEY="$EVENTGRID_TOPIC_KEY" .venv/bin/python -m local_cloud \
  --app-webhook "http://127.0.0.1:$PORT/runtime/webhooks/eventgrid?functionName=aws_events" \
  --eventgrid-port "$EVENTGRID_PORT" --adapter-port "$AWS_ADAPTER_PORT" --moto-port "$MOTO_PORT" --seed \
  > "$STATE_DIR/local_cloud.log" 2>&1 &
pids+=($!)
wait_port "$EVENTGRID_PORT" local_cloud

step 5 "starting the function app…"
if command -v func > /dev/null 2>&1; then
  echo "run: starting the app on Azure Functions Core Tools"
  func start --port "$PORT" &
else
  echo "run: Azure Functions Core Tools not found; starting the app on devhost (in-process stand-in)"
  # Core Tools does not check function keys locally; devhost says so loudly in this mode.
  .venv/bin/python -m devhost --app-dir . --app function_app --port "$PORT" \
    --store .devhost/devhost.sqlite --anonymous &
fi
pids+=($!)
step 6 "waiting for the Functions host to report Running…"
wait_host "$PORT"

step 7 "seeding demo stock and customers…"
.venv/bin/python scripts/seed_demo.py "http://127.0.0.1:$PORT"

cat <<INFO

  Order API      http://localhost:$PORT/api/orders
  Saga console   http://localhost:$PORT/api/console   (local hosts check no key; on Azure add ?code=<master key>)
  Durable API    http://localhost:$PORT/runtime/webhooks/durabletask/instances
  devhost UI     http://localhost:$PORT/devhost/   (when running on devhost)
  Cosmos DB      https://localhost:$COSMOS_PORT/   (self-signed TLS)
  Event Grid     http://127.0.0.1:$EVENTGRID_PORT/   (local topics to-aws, to-azure)
  AWS (moto)     http://127.0.0.1:$MOTO_PORT/   payment adapter http://127.0.0.1:$AWS_ADAPTER_PORT/events
                 demo customers: c-1 (1000 EUR), c-2 (250 EUR), c-low (10 EUR), c-usd (1000 USD); log: $STATE_DIR/local_cloud.log
  Azurite        http://127.0.0.1:10000 (blob) :10001 (queue) :10002 (table)

  Try:  curl -s -X POST http://localhost:$PORT/api/orders -H 'Content-Type: application/json' \\
          -d '{"customerId":"c-1","items":[{"sku":"SKU-RED","quantity":2,"unitPrice":"19.99"}],"currency":"EUR"}'

INFO
wait "${pids[-1]}"
