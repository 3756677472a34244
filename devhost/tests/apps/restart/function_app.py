"""Restart test app: activities append to the file named by RESTART_LOG."""
import datetime
import os
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _log(line: str) -> None:
    with open(os.environ["RESTART_LOG"], "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()


@app.activity_trigger(input_name="value")
def step_one(value: str) -> str:
    _log("step_one")
    return value + "-one"


@app.activity_trigger(input_name="value")
def step_two(value: str) -> str:
    _log("step_two:start")
    time.sleep(float(os.environ.get("STEP_TWO_SECONDS", "1.5")))
    _log("step_two:end")
    return value + "-two"


@app.orchestration_trigger(context_name="context")
def two_steps(context: df.DurableOrchestrationContext):
    first = yield context.call_activity("step_one", context.get_input())
    yield context.create_timer(context.current_utc_datetime + datetime.timedelta(milliseconds=200))
    second = yield context.call_activity("step_two", first)
    return second


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + datetime.timedelta(seconds=2))
    return "fired"
