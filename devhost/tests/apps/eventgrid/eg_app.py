"""Event Grid, timer and fault test app (module name eg_app)."""
import json
import os

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

RECEIVED: list[tuple] = []  # (schema, id, type, subject/source, data) per delivered event
TICKS: list[bool] = []  # past_due of every timer run
RUNS: dict[str, int] = {}  # activity key -> number of runs


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent):
    RECEIVED.append(("eg", event.id, event.event_type, event.subject, event.get_json()))


@app.event_grid_trigger(arg_name="event")
async def on_cloud_event(event: func.CloudEvent):
    RECEIVED.append(("ce", event.id, event.type, event.source, event.get_json()))


@app.event_grid_trigger(arg_name="event")
def always_throws(event: func.EventGridEvent):
    raise RuntimeError("handler broke")


@app.timer_trigger(schedule="*/1 * * * * *", arg_name="timer", run_on_startup=False)
def every_second(timer: func.TimerRequest) -> None:
    TICKS.append(timer.past_due)


@app.activity_trigger(input_name="key")
def side_effect(key: str) -> int:
    RUNS[key] = RUNS.get(key, 0) + 1
    return RUNS[key]


@app.orchestration_trigger(context_name="context")
def once(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("side_effect", context.get_input()))


_ = (json, os)


@app.event_grid_trigger(arg_name="event")
@app.durable_client_input(client_name="client")
async def start_from_event(event: func.EventGridEvent, client: df.DurableOrchestrationClient):
    await client.start_new("once", f"from-{event.id}", event.get_json()["key"])
