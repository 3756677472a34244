"""Invoke user functions the way the Python worker does.

Trigger and input values are handed over as ``meta.Datum`` objects of the type the host
would send, and decoded with azure.functions' own converters (``get_binding_registry()``);
return values go back through the converter of the ``$return`` binding (or the trigger's
implicit output for orchestration/activity triggers). ``async def`` functions run on the
host's single long-lived worker event loop; plain functions run in a thread pool — both
as the worker does it.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions import meta

from .loader import FunctionInfo

log = logging.getLogger("devhost")


class _Out(func.Out):
    """Output parameter object (the worker's ``Out``)."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class _TraceContext(func._abc.TraceContext):
    def __init__(self, trace_parent: str = "", trace_state: str = "") -> None:
        self._trace_parent = trace_parent
        self._trace_state = trace_state

    @property
    def trace_state(self) -> str:
        return self._trace_state

    @property
    def trace_parent(self) -> str:
        return self._trace_parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func._abc.RetryContext):
    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> Any:
        return None


class _Context(func.Context):
    """``context: func.Context`` parameter."""

    _storage = threading.local()

    def __init__(self, invocation_id: str, function_name: str, function_directory: str,
                 trace_parent: str = "", trace_state: str = "") -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._trace = _TraceContext(trace_parent, trace_state)

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self):
        return self._storage

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self):
        return self._trace

    @property
    def retry_context(self):
        return _RetryContext()


@dataclass
class Invocation:
    """What devhost hands to a function: the trigger datum and extra input datums."""

    trigger: meta.Datum
    inputs: dict[str, meta.Datum] = field(default_factory=dict)
    trigger_metadata: dict[str, Any] = field(default_factory=dict)
    instance_id: str | None = None  # for log lines
    trace_parent: str = ""
    trace_state: str = ""


@dataclass
class InvocationResult:
    return_datum: meta.Datum | None
    raw_return: Any
    outputs: dict[str, Any]
    invocation_id: str
    duration_ms: float


class UnsupportedBinding(Exception):
    pass


class Invoker:
    def __init__(self, loop: asyncio.AbstractEventLoop, executor: Executor | None, app_dir: str,
                 input_provider: Callable[[dict[str, Any]], meta.Datum | None] | None = None
                 ) -> None:
        self._loop = loop
        self._executor = executor
        self._app_dir = app_dir
        self._registry = func.get_binding_registry()
        # binding dict -> Datum for input bindings the host supplies (durableClient)
        self._input_provider = input_provider

    def _converter(self, binding_type: str | None) -> Any:
        converter = self._registry.get(binding_type)
        if converter is None:
            raise UnsupportedBinding(f"no azure.functions converter for binding '{binding_type}'")
        return converter

    def _build_arguments(self, info: FunctionInfo, invocation: Invocation,
                         invocation_id: str) -> tuple[dict[str, Any], dict[str, _Out]]:
        kwargs: dict[str, Any] = {}
        outs: dict[str, _Out] = {}
        for binding in info.bindings:
            name = binding.get("name")
            if name == "$return":
                continue
            if not isinstance(name, str):
                raise UnsupportedBinding(f"function '{info.name}': a binding has no name")
            direction = str(binding.get("direction", "IN")).upper()
            binding_type = binding.get("type")
            if binding is info.trigger:
                kwargs[name] = self._converter(binding_type).decode(
                    invocation.trigger, trigger_metadata=invocation.trigger_metadata)
            elif direction == "OUT":
                outs[name] = kwargs[name] = _Out()
            elif (datum := self._input_datum(name, binding, invocation)) is not None:
                kwargs[name] = self._converter(binding_type).decode(
                    datum, trigger_metadata=invocation.trigger_metadata)
            else:
                raise UnsupportedBinding(
                    f"function '{info.name}': devhost cannot provide the '{binding_type}' "
                    f"input binding '{name}'")
        if "context" in info.parameters and "context" not in kwargs:
            kwargs["context"] = _Context(invocation_id, info.name, self._app_dir,
                                         invocation.trace_parent, invocation.trace_state)
        return kwargs, outs

    def _input_datum(self, name: str, binding: dict[str, Any],
                     invocation: Invocation) -> meta.Datum | None:
        """The invocation's datum for an input binding, else the one the host provides."""
        datum = invocation.inputs.get(name)
        if datum is None and self._input_provider is not None:
            datum = self._input_provider(binding)
        return datum

    def _encode_return(self, info: FunctionInfo, value: Any) -> meta.Datum | None:
        return_binding = next((b for b in info.bindings if b.get("name") == "$return"), None)
        if return_binding is not None:
            if value is None:
                return None
            return self._converter(return_binding["type"]).encode(value, expected_type=None)
        trigger_converter = self._converter(info.trigger_type)
        if getattr(trigger_converter, "has_implicit_output", lambda: False)():
            return trigger_converter.encode(value, expected_type=None)
        return None

    async def invoke(self, info: FunctionInfo, invocation: Invocation,
                     override: Any | None = None) -> InvocationResult:
        """Run one invocation; exceptions raised by user code propagate unchanged.

        ``override`` (activity_overrides) replaces the user function body: it receives the
        decoded trigger value and its return value is encoded exactly like the real one's.
        """
        invocation_id = str(uuid.uuid4())
        started = time.perf_counter()
        outcome = "Failed"
        try:
            kwargs, outs = self._build_arguments(info, invocation, invocation_id)
            if override is not None:
                target = override
                call_kwargs = None
                argument = kwargs[info.trigger["name"]]
                is_async = asyncio.iscoroutinefunction(override)
            else:
                target = info.user_function
                call_kwargs = kwargs
                is_async = info.is_async
            if is_async:
                value = await (target(argument) if call_kwargs is None else target(**call_kwargs))
            else:
                context = contextvars.copy_context()
                call = (functools.partial(context.run, target, argument) if call_kwargs is None
                        else functools.partial(context.run, target, **call_kwargs))
                value = await self._loop.run_in_executor(self._executor, call)
                if asyncio.iscoroutine(value):  # sync override returning an awaitable
                    value = await value
            datum = self._encode_return(info, value)
            outputs = {name: out.get() for name, out in outs.items()}
            for binding in info.bindings:
                if (binding.get("name") in outputs and outputs[binding["name"]] is not None
                        and binding.get("type") != "http"):
                    log.warning("devhost: %s set output binding '%s' (%s); devhost does not "
                                "deliver it anywhere", info.name, binding["name"],
                                binding.get("type"))
            outcome = "Succeeded"
            return InvocationResult(datum, value, outputs, invocation_id,
                                    (time.perf_counter() - started) * 1000)
        finally:
            duration = (time.perf_counter() - started) * 1000
            log.info("Executed 'Functions.%s' (%s, Id=%s, Duration=%.1fms)%s", info.name,
                     outcome, invocation_id, duration,
                     f" instance={invocation.instance_id}" if invocation.instance_id else "")
