"""Test app for devhost's conformance suite: one orchestrator per protocol behaviour."""
import datetime
import json
import random

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

CALLS: dict[str, int] = {}  # activity name -> number of runs (process-local, for assertions)


def _count(name):
    CALLS[name] = CALLS.get(name, 0) + 1
    return CALLS[name]


@app.activity_trigger(input_name="name")
def hello(name: str) -> str:
    _count("hello")
    return f"Hello {name}!"


@app.activity_trigger(input_name="payload")
async def echo_async(payload):
    _count("echo_async")
    return {"got": payload, "type": type(payload).__name__}


@app.activity_trigger(input_name="payload")
def flaky(payload: dict) -> str:
    """Fails until it has run payload['fail_times'] times in this process."""
    n = _count("flaky:" + payload["key"])
    if n <= payload["fail_times"]:
        raise ValueError(f"boom {n}")
    return f"ok after {n}"


@app.activity_trigger(input_name="payload")
def always_fails(payload) -> str:
    _count("always_fails")
    raise ValueError("always")


@app.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    out = []
    for city in context.get_input()["cities"]:
        out.append((yield context.call_activity("hello", city)))
    return out


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    tasks = [context.call_activity("echo_async", i) for i in range(3)]
    return (yield context.task_all(tasks))


@app.orchestration_trigger(context_name="context")
def retry_then_ok(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    return (yield context.call_activity_with_retry("flaky", options, context.get_input()))


@app.orchestration_trigger(context_name="context")
def retry_exhausted(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry("always_fails", options, None)
    except Exception as error:  # noqa: BLE001
        return {"caught": str(error)}
    return "not reached"


@app.orchestration_trigger(context_name="context")
def failing_activity(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("always_fails", {"x": 1}))


@app.orchestration_trigger(context_name="context")
def event_or_timeout(context: df.DurableOrchestrationContext):
    seconds = context.get_input()["timeout_s"]
    deadline = context.current_utc_datetime + datetime.timedelta(seconds=seconds)
    timer = context.create_timer(deadline)
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timer])
    if winner == event:
        timer.cancel()
        return {"winner": "event", "value": event.result}
    return {"winner": "timer"}


@app.orchestration_trigger(context_name="context")
def two_events(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("E")
    second = yield context.wait_for_external_event("E")
    return [first, second]


@app.orchestration_trigger(context_name="context")
def wait_then_event(context: df.DurableOrchestrationContext):
    # a timer first, so an event raised right after start arrives before the wait
    yield context.create_timer(context.current_utc_datetime + datetime.timedelta(milliseconds=200))
    value = yield context.wait_for_external_event("Early")
    return value


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    value = context.get_input()
    if value.get("fail"):
        raise ValueError("child failed on purpose")
    return (yield context.call_activity("hello", value["name"]))


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    value = context.get_input()
    try:
        result = yield context.call_sub_orchestrator("child", value, f"{context.instance_id}-c")
        return {"child": result}
    except Exception as error:  # noqa: BLE001
        return {"child_error": str(error)}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n < 3:
        context.continue_as_new(n + 1)
        return None
    return n


@app.orchestration_trigger(context_name="context")
def waiter(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting"})
    value = yield context.wait_for_external_event("Go")
    context.set_custom_status({"stage": "done"})
    return value


@app.orchestration_trigger(context_name="context")
def nondeterministic(context: df.DurableOrchestrationContext):
    # different activity names on replay: the extension fails the instance
    name = "hello" if not context.is_replaying else "echo_async"
    yield context.call_activity(name, "x")
    yield context.call_activity("hello", "y")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def flaky_once(context: df.DurableOrchestrationContext):
    """No retry: fails while ``flaky`` fails, so rewind can run the activity again."""
    return (yield context.call_activity("flaky", context.get_input()))


@app.orchestration_trigger(context_name="context")
def parent_of_flaky(context: df.DurableOrchestrationContext):
    return (yield context.call_sub_orchestrator("flaky_once", context.get_input(),
                                                f"{context.instance_id}-child"))


@app.orchestration_trigger(context_name="context")
def calls_missing(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("no_such_activity", 1))


@app.orchestration_trigger(context_name="context")
def crashes(context: df.DurableOrchestrationContext):
    yield context.call_activity("hello", "a")
    raise RuntimeError("orchestrator bug")


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["name"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="hello/{who}", methods=["GET"])
def http_hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"hi {req.route_params['who']} {req.params.get('x', '')}")


@app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def http_open(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"ok": True}), mimetype="application/json")


_ = random


@app.orchestration_trigger(context_name="context")
def event_no_cancel(context: df.DurableOrchestrationContext):
    seconds = context.get_input()["timeout_s"]
    timer = context.create_timer(context.current_utc_datetime + datetime.timedelta(seconds=seconds))
    event = context.wait_for_external_event("Approval")
    winner = yield context.task_any([event, timer])
    return "event" if winner == event else "timer"  # the timer is NOT cancelled


@app.orchestration_trigger(context_name="context")
def two_events_after_timer(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + datetime.timedelta(milliseconds=300))
    first = yield context.wait_for_external_event("E")
    second = yield context.wait_for_external_event("E")
    return [first, second]
