"""Composition root: create the app, register each blueprint, check the saga's wiring."""

import azure.durable_functions as df

from activities import activity_names, inventory, orders, payment, shipping
from orchestrators import order_saga
from orchestrators.saga_steps import ORDER_SAGA, validate_step_table
from ordersaga.log_setup import quiet_sdk_http_logging
from ordersaga.telemetry import configure_telemetry
from triggers import aws_events, console, http_api, operator_api, sweeper

ACTIVITY_MODULES = (orders, inventory, payment, shipping)

quiet_sdk_http_logging()
configure_telemetry()

app = df.DFApp()
for module in (order_saga, *ACTIVITY_MODULES, http_api, operator_api, console, aws_events, sweeper):
    app.register_functions(module.bp)

# The real host hangs a saga that calls an unregistered activity: fail at import instead.
validate_step_table(ORDER_SAGA, activity_names(*ACTIVITY_MODULES))
