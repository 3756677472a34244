"""Activity functions, one module per saga participant. Each activity decodes the saga's
request, calls the domain code in `ordersaga`, and returns a typed outcome as JSON
(business refusals are returned; transient faults raise so Durable retries them)."""

from __future__ import annotations

from types import ModuleType

from azure.functions.decorators.function_app import FunctionBuilder


def activity_names(*modules: ModuleType) -> set[str]:
    """Names of the activity functions the given modules define (what the host will index)."""
    names: set[str] = set()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, FunctionBuilder):
                function = value.build()
                if any(binding.type == "activityTrigger" for binding in function.get_bindings()):
                    names.add(str(function.get_function_name()))
    return names
