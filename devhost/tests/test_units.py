"""Small units: NCRONTAB, route templates, settings precedence, status folding, timestamps."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from devhost.function_list import function_list_lines
from devhost.history import format_timestamp, parse_timestamp
from devhost.http_triggers import route_regex
from devhost.loader import FunctionInfo, LoadedApp, load_app
from devhost.ncrontab import NCrontab
from devhost.settings import resolve_settings
from devhost.status import history_for_status

UTC = dt.UTC


def test_ncrontab_six_fields():
    start = dt.datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)  # a Monday
    assert NCrontab("*/5 * * * * *").next_after(start) == start.replace(second=5, microsecond=0)
    assert NCrontab("0 30 9 * * 1-5").next_after(start) == dt.datetime(2024, 1, 1, 9, 30,
                                                                       tzinfo=UTC)
    assert NCrontab("0 0 0 * * Sun").next_after(start) == dt.datetime(2024, 1, 7, tzinfo=UTC)
    assert NCrontab("0 0 12 1 Feb *").next_after(start) == dt.datetime(2024, 2, 1, 12,
                                                                       tzinfo=UTC)
    assert NCrontab("0 */15 * * * *").next_after(start) == dt.datetime(2024, 1, 1, 0, 15,
                                                                       tzinfo=UTC)
    with pytest.raises(ValueError):
        NCrontab("* * *")
    with pytest.raises(ValueError):
        NCrontab("61 * * * * *")


def route_params(template: str, path: str) -> dict[str, str | None]:
    match = route_regex(template).match(path)
    assert match is not None, f"{path} does not match {template}"
    return match.groupdict()


def test_route_templates():
    assert route_params("orders/{id}", "Orders/42") == {"id": "42"}
    assert route_regex("orders/{id:int}").match("orders/x") is None
    assert route_params("items/{id?}", "items") == {"id": None}
    assert route_params("items/{id?}", "items/7") == {"id": "7"}
    assert route_params("files/{*path}", "files/a/b/c") == {"path": "a/b/c"}
    assert route_regex("a/{x}/b").match("a/1/c") is None


def test_settings_precedence(tmp_path):
    (tmp_path / "local.settings.json").write_text(json.dumps(
        {"IsEncrypted": False, "Values": {"A": "file", "B": "file", "C": "file"}}))
    resolved = resolve_settings(str(tmp_path), explicit={"C": "explicit"},
                                environ={"B": "env"})
    assert resolved == {"A": "file", "B": "env", "C": "explicit"}


def test_timestamps():
    moment = dt.datetime(2020, 7, 23, 21, 56, 54, 936700, tzinfo=UTC)
    assert format_timestamp(moment) == "2020-07-23T21:56:54.9367Z"
    assert format_timestamp(moment.replace(microsecond=0)) == "2020-07-23T21:56:54Z"
    assert parse_timestamp("2020-07-23T21:56:54.9367123Z") == moment.replace(microsecond=936712)


def test_status_history_folds_scheduled_events():
    events = [
        {"EventType": 12, "EventId": -1, "IsPlayed": False, "Timestamp": "t0"},
        {"EventType": 0, "EventId": -1, "IsPlayed": True, "Timestamp": "t0", "Name": "orch",
         "Input": None},
        {"EventType": 4, "EventId": 0, "IsPlayed": False, "Timestamp": "t1", "Name": "act",
         "Input": None},
        {"EventType": 5, "EventId": -1, "IsPlayed": True, "Timestamp": "t2",
         "TaskScheduledId": 0, "Result": "\"r\""},
    ]
    folded = history_for_status(events, show_output=True)
    assert folded == [
        {"EventType": "ExecutionStarted", "Timestamp": "t0", "FunctionName": "orch",
         "Input": None},
        {"EventType": "TaskCompleted", "Timestamp": "t2", "TaskScheduledId": 0, "Result": "r",
         "FunctionName": "act", "ScheduledTime": "t1", "Input": None}]
    assert "Result" not in history_for_status(events, show_output=False)[1]


def test_function_list_has_core_tools_format():
    def info(name, trigger):
        return FunctionInfo(name=name, trigger=trigger, bindings=[trigger],
                            user_function=lambda: None, is_async=False)
    loaded = LoadedApp(module=None, app=None, functions={f.name: f for f in [
        info("tick", {"type": "timerTrigger"}),
        info("any_method", {"type": "httpTrigger", "route": "things/{id}"}),
        info("no_route", {"type": "httpTrigger", "methods": ["get", "post"]}),
        info("off", {"type": "activityTrigger"})]})
    assert function_list_lines(loaded, "http://0.0.0.0:7071", "", disabled={"off"}) == [
        "", "Functions:", "",
        "\tany_method:  http://localhost:7071/things/{id}", "",  # no methods: empty part
        "\tno_route: [GET,POST] http://localhost:7071/no_route", "",
        "\ttick: timerTrigger", "",
        "Function off is disabled."]
    assert function_list_lines(LoadedApp(None, None, {}), "http://h:1", "api") == []


_ONE_FUNCTION_APP = '''
import azure.functions as func

app = func.FunctionApp()


@app.route(route="{name}")
def {name}(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("{name}")
'''


def test_an_app_in_a_subfolder_does_not_pass_for_the_app_around_it(tmp_path) -> None:
    """An app's tests may hold apps of their own below it (tests/apps/x/function_app.py);
    loading the outer app after one of those must load the outer app's own module."""
    inner = tmp_path / "tests" / "apps" / "inner"
    inner.mkdir(parents=True)
    (inner / "function_app.py").write_text(_ONE_FUNCTION_APP.replace("{name}", "inner"))
    (tmp_path / "function_app.py").write_text(_ONE_FUNCTION_APP.replace("{name}", "outer"))

    assert set(load_app(str(inner)).functions) == {"inner"}
    assert set(load_app(str(tmp_path)).functions) == {"outer"}
    assert set(load_app(str(inner)).functions) == {"inner"}
