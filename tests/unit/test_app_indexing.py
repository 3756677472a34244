"""Importing the app yields every function with the bindings the host will index."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.fixture(scope="module")
def functions() -> dict:
    sys.modules.pop("function_app", None)  # a fresh app: get_functions() may run once per app
    app = importlib.import_module("function_app").app
    return {f.get_function_name(): f for f in app.get_functions()}


def binding_types(function) -> list[str]:
    return sorted(b.type for b in function.get_bindings())


def test_the_orchestrators_and_every_activity_are_registered(functions: dict) -> None:
    assert binding_types(functions["order_saga"]) == ["orchestrationTrigger"]
    assert binding_types(functions["order_saga_repair"]) == ["orchestrationTrigger"]
    activities = {name for name, f in functions.items() if binding_types(f) == ["activityTrigger"]}
    assert activities == {"create_order", "cancel_order", "reserve_inventory", "release_inventory",
                          "request_payment", "request_payment_compensation", "confirm_order",
                          "request_payment_capture", "schedule_shipment", "complete_order", "park_order"}


def test_the_aws_events_trigger_takes_event_grid_events_and_a_durable_client(functions: dict) -> None:
    assert binding_types(functions["aws_events"]) == ["durableClient", "eventGridTrigger"]


@pytest.mark.parametrize(("name", "route", "method", "auth", "durable_client"), [
    ("start_order", "orders", "POST", "FUNCTION", True),
    ("get_order", "orders/{orderId}", "GET", "FUNCTION", True),
    ("cancel_order_request", "orders/{orderId}/cancel", "POST", "FUNCTION", True),
    ("put_inventory", "inventory/{sku}", "PUT", "ADMIN", False),
    ("get_inventory", "inventory/{sku}", "GET", "ADMIN", False),
    ("list_orders", "orders", "GET", "ADMIN", False),
    ("resolve_order", "orders/{orderId}/resolve", "POST", "ADMIN", True),
])
def test_http_routes(functions: dict, name: str, route: str, method: str, auth: str, durable_client: bool) -> None:
    function = functions[name]
    trigger = next(b for b in function.get_bindings() if b.type == "httpTrigger")
    assert trigger.route == route
    assert [str(m.value) for m in trigger.methods] == [method]
    assert str(trigger.auth_level.name) == auth
    assert ("durableClient" in binding_types(function)) is durable_client


def test_the_sweeper_runs_on_the_schedule_setting(functions: dict) -> None:
    trigger = next(b for b in functions["saga_sweeper"].get_bindings() if b.type == "timerTrigger")
    assert trigger.schedule == "%SWEEPER_SCHEDULE%"
    assert "durableClient" in binding_types(functions["saga_sweeper"])
