"""``DevHost``: the programmatic face of devhost (and what the CLI runs).

    async with DevHost(app_dir=".", module="function_app", port=0, store=":memory:") as host:
        iid = await host.start_orchestration("order_saga", {"orderId": "o-1"})
        status = await host.wait_for_completion(iid, timeout=30)

Every public coroutine can be awaited from any event loop: the work happens on devhost's
own long-lived worker loop (see ``worker_loop``).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web
from azure.functions import meta

from . import sdk_speedups
from . import settings as app_settings
from .admin import AdminApi
from .auth import Keys
from .bindings import Invoker
from .dashboard import Dashboard
from .disabled import disabled_functions
from .durable_client import DurableClientOps
from .endpoints import Endpoints
from .engine import DurableEngine
from .eventgrid import EventGridWebhook
from .faults import FaultPlan
from .function_list import function_list_lines
from .host_status import HostStatus
from .http_triggers import HttpTriggers
from .loader import LoadedApp, load_app
from .management_api import ManagementApi
from .replay import compact_json
from .store import Store
from .timer_triggers import TimerTriggers
from .worker_loop import on_worker_loop, worker_loop

log = logging.getLogger("devhost")

T = TypeVar("T")


def _started(part: T | None, what: str) -> T:
    """``part`` of a started host; the HTTP handlers and client calls only run after start()."""
    if part is None:
        raise RuntimeError(f"devhost: the {what} exists only once DevHost.start() has run")
    return part


class DevHost:
    def __init__(self, app_dir: str = ".", module: str = "function_app", port: int = 7071,
                 store: str | None = None, settings: Mapping[str, str] | None = None,
                 anonymous: bool = False, faults: dict[str, Any] | None = None,
                 activity_overrides: dict[str, Callable] | None = None,
                 host: str = "127.0.0.1", timers: bool | None = None) -> None:
        self.app_dir = os.path.abspath(app_dir)
        self.module = module
        self.requested_port = port
        self.bind_host = host
        self.store_path = store or os.path.join(self.app_dir, ".devhost", "devhost.sqlite")
        self.explicit_settings = dict(settings or {})
        self.anonymous_requested = anonymous
        self.fault_spec = faults
        self.activity_overrides = dict(activity_overrides or {})
        self.timers_requested = timers
        self.port: int | None = None
        self.settings: dict[str, str] = {}
        self._loaded: LoadedApp | None = None
        self._engine: DurableEngine | None = None
        self._invoker: Invoker | None = None
        self._keys: Keys | None = None
        self._endpoints: Endpoints | None = None
        self._client_ops: DurableClientOps | None = None
        self.store: Store | None = None
        self._runner: web.AppRunner | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._timer_triggers: TimerTriggers | None = None
        self.route_prefix = "api"
        self.hub_name = "TestHubName"
        self.overridable_existing_instance_states = "NonRunningStates"
        self.disabled_functions: set[str] = set()
        self.host_status = HostStatus(app_dir=self.app_dir)

    # -- parts that exist once started ------------------------------------------------
    @property
    def loaded(self) -> LoadedApp:
        return _started(self._loaded, "loaded app")

    @property
    def engine(self) -> DurableEngine:
        return _started(self._engine, "durable engine")

    @property
    def invoker(self) -> Invoker:
        return _started(self._invoker, "invoker")

    @property
    def keys(self) -> Keys:
        return _started(self._keys, "key set")

    @property
    def timer_triggers(self) -> TimerTriggers:
        return _started(self._timer_triggers, "timer trigger scheduler")

    @property
    def endpoints(self) -> Endpoints:
        return _started(self._endpoints, "endpoint set")

    @property
    def client_ops(self) -> DurableClientOps:
        """The management operations with the extension's state checks (what the HTTP API
        and the programmatic client methods below use)."""
        return _started(self._client_ops, "durable client")

    # -- URLs -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.endpoints.base_url

    @property
    def rpc_base_url(self) -> str:
        return self.endpoints.rpc_base_url

    @property
    def webhook_base_url(self) -> str:
        return self.endpoints.webhook_base_url

    @property
    def webhook_query(self) -> str:
        return self.endpoints.webhook_query

    def function_list(self) -> list[str]:
        """The lines ``func start`` prints for this app (functions, triggers, HTTP URLs)."""
        return function_list_lines(self.loaded, self.base_url, self.route_prefix,
                                   self.disabled_functions)

    def client_binding(self, task_hub: str | None = None,
                       connection_name: str | None = None) -> str:
        """The durableClient binding JSON a function of this host gets (for SDK clients)."""
        return self.endpoints.client_binding(task_hub, connection_name)

    @property
    def function_key(self) -> str:
        return self.keys.function_key

    @property
    def master_key(self) -> str:
        return self.keys.master_key

    # -- lifecycle --------------------------------------------------------------------
    async def __aenter__(self) -> DevHost:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> DevHost:
        await on_worker_loop(self._start)
        return self

    async def stop(self) -> None:
        await on_worker_loop(self._stop)

    max_concurrent_activities: int | None = None  # host.json, else the extension's default

    def _read_host_json(self) -> None:
        path = os.path.join(self.app_dir, "host.json")
        if not os.path.exists(path):
            return
        try:
            with open(path, encoding="utf-8-sig") as handle:
                document = json.load(handle)
        except (OSError, ValueError):
            return
        extensions = document.get("extensions") or {}
        prefix = (extensions.get("http") or {}).get("routePrefix")
        if prefix is not None:
            self.route_prefix = prefix.strip("/")
        hub = (extensions.get("durableTask") or {}).get("hubName")
        if hub and hub.startswith("%") and hub.endswith("%") and len(hub) > 2:
            hub = os.environ.get(hub[1:-1], "")  # an app-setting reference, resolved like the host does
        if hub and "%" not in hub:
            self.hub_name = hub
        concurrent = (extensions.get("durableTask") or {}).get("maxConcurrentActivityFunctions")
        if isinstance(concurrent, int) and concurrent > 0:
            self.max_concurrent_activities = concurrent
        overridable = (extensions.get("durableTask") or {}).get("overridableExistingInstanceStates")
        if isinstance(overridable, str) and overridable.lower() in ("anystate", "nonrunningstates"):
            self.overridable_existing_instance_states = overridable

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self.host_status.state = "Starting"
        self.settings = app_settings.resolve_settings(self.app_dir, self.explicit_settings)
        app_settings.apply_to_environment(self.settings)
        self.hub_name = os.environ.get("WEBSITE_SITE_NAME") or "TestHubName"
        self._read_host_json()
        anonymous = self.anonymous_requested or app_settings.truthy(
            app_settings.setting(self.settings, "DEVHOST_ANONYMOUS"))
        keys = self._keys = Keys.from_settings(self.settings, anonymous)
        fault_plan = (FaultPlan(self.fault_spec) if self.fault_spec is not None else
                      FaultPlan.from_setting(app_settings.setting(self.settings,
                                                                  "DEVHOST_FAULTS")))
        memo = app_settings.setting(self.settings, "DEVHOST_SDK_TIMESTAMP_MEMO") or "1"
        if memo.strip().lower() in ("0", "false"):
            sdk_speedups.uninstall()
        else:
            sdk_speedups.install()
        loaded = self._loaded = load_app(self.app_dir, self.module)
        # the settings are in os.environ by now, next to the process's own variables
        disabled = self.disabled_functions = disabled_functions(loaded, os.environ)
        for name in sorted(disabled):
            log.warning("devhost: Function '%s' is disabled", name)
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="devhost-sync")
        invoker = self._invoker = Invoker(loop, self._executor, self.app_dir,
                                          input_provider=self._host_input)
        self.store = Store(self.store_path)
        engine = self._engine = DurableEngine(store=self.store, app=loaded, invoker=invoker,
                                              loop=loop, faults=fault_plan,
                                              activity_overrides=self.activity_overrides,
                                              disabled=disabled,
                                              max_concurrent_activities=self.max_concurrent_activities)
        for name in self.activity_overrides:
            if loaded.activity(name) is None:
                raise ValueError(f"devhost: activity_overrides names '{name}', which is not "
                                 "an activity of the app")

        endpoints = self._endpoints = Endpoints(bind_host=self.bind_host, hub_name=self.hub_name,
                                                keys=keys)
        timers_on = self.timers_requested
        if timers_on is None:
            timers_on = not app_settings.truthy(
                app_settings.setting(self.settings, "DEVHOST_DISABLE_TIMERS"))
        timer_triggers = self._timer_triggers = TimerTriggers(
            loaded, invoker, self.settings, enabled=timers_on, disabled=disabled)

        web_app = web.Application(client_max_size=100 * 1024 * 1024)
        client_ops = self._client_ops = DurableClientOps(
            engine, self.overridable_existing_instance_states)
        ManagementApi(client_ops, endpoints, keys).register(web_app)
        EventGridWebhook(loaded, invoker, keys).register(web_app)
        AdminApi(loaded, invoker, keys, timer_triggers, spawn=engine._spawn,
                 host_status=self.host_status).register(web_app)
        Dashboard(engine).register(web_app)
        HttpTriggers(loaded, invoker, keys, self.route_prefix, disabled).register(web_app)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind_host, self.requested_port)
        await site.start()
        self.port = endpoints.port = self._runner.addresses[0][1]

        if anonymous:
            log.warning("devhost: ANONYMOUS MODE — function keys are not checked "
                        "(explicitly enabled)")
        else:
            # Keys the settings provide are never logged; generated ones are shown once, since
            # nobody could call the host otherwise.
            generated = {name: value for name, setting, value in (
                ("function key", "DEVHOST_FUNCTION_KEY", keys.function_key),
                ("master key", "DEVHOST_MASTER_KEY", keys.master_key))
                if not app_settings.setting(self.settings, setting)}
            if generated:
                log.warning("devhost: generated %s (set %s to choose them)",
                            ", ".join(f"{name} {value}" for name, value in generated.items()),
                            "DEVHOST_FUNCTION_KEY / DEVHOST_MASTER_KEY")
            else:
                log.info("devhost: keys from settings (not logged)")
        engine.recover()
        timer_triggers.start()
        self.host_status.state = "Running"
        log.info("devhost: %d function(s) loaded from %s/%s.py, listening on %s",
                 len(loaded.functions), self.app_dir, self.module, self.base_url)

    def _host_input(self, binding: dict[str, Any]) -> meta.Datum | None:
        """Datums for input bindings the host provides: the durableClient JSON string."""
        if binding.get("type") == "durableClient":
            return meta.Datum(self.client_binding(binding.get("taskHub"),
                                                  binding.get("connectionName")), "string")
        return None

    async def _stop(self) -> None:
        self.host_status.state = "Stopping"
        if self._timer_triggers is not None:
            await self._timer_triggers.stop()
        if self._engine is not None:
            await self._engine.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- programmatic client API --------------------------------------------------------
    async def start_orchestration(self, name: str, input: Any = None,
                                  instance_id: str | None = None) -> str:
        """Start like ``DurableOrchestrationClient.start_new`` does (input double-encoded)."""
        from azure.durable_functions.models.utils.df_serialization import df_dumps
        input_text = None if input is None else compact_json(df_dumps(input))

        async def start() -> str:
            return self.client_ops.start_new(name, instance_id, input_text)
        return await on_worker_loop(start)

    async def raise_event(self, instance_id: str, event_name: str, data: Any = None) -> None:
        """Raise like ``DurableOrchestrationClient.raise_event`` (json.dumps, then JSON body).

        The orchestrator therefore receives a *string* of JSON, as on Azure.
        """
        input_text = compact_json(json.dumps(data))

        async def raise_() -> str:
            return self.client_ops.raise_event(instance_id, event_name, input_text)
        result = await on_worker_loop(raise_)
        if result == "not_found":
            raise KeyError(f"No instance with ID {instance_id} found.")
        if result == "gone":
            raise RuntimeError(f"Instance with ID {instance_id} is gone: either completed or "
                               "failed")

    async def terminate(self, instance_id: str, reason: str = "") -> str:
        async def terminate_() -> str:
            return self.client_ops.terminate(instance_id, reason)
        return await on_worker_loop(terminate_)

    async def suspend(self, instance_id: str, reason: str = "") -> str:
        async def suspend_() -> str:
            return self.client_ops.suspend(instance_id, reason)
        return await on_worker_loop(suspend_)

    async def resume(self, instance_id: str, reason: str = "") -> str:
        async def resume_() -> str:
            return self.client_ops.resume(instance_id, reason)
        return await on_worker_loop(resume_)

    async def get_status(self, instance_id: str, show_history: bool = False,
                         show_history_output: bool = False) -> dict | None:
        async def status_() -> dict | None:
            return self.engine.status(instance_id, show_history=show_history,
                                      show_history_output=show_history_output)
        return await on_worker_loop(status_)

    async def wait_for_completion(self, instance_id: str, timeout: float = 30.0) -> dict:
        return await on_worker_loop(self.engine.wait_for_completion, instance_id, timeout)

    async def wait_for_status(self, instance_id: str, predicate: Callable[[dict], bool],
                              timeout: float = 10.0, interval: float = 0.02) -> dict:
        """Poll until ``predicate(status)`` holds (e.g. a custom status reached)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            current = await self.get_status(instance_id)
            if current is not None and predicate(current):
                return current
            if loop.time() > deadline:
                raise TimeoutError(f"devhost: condition not met for {instance_id}; "
                                   f"last status {current}")
            await asyncio.sleep(interval)

    async def history(self, instance_id: str) -> list[dict]:
        """The raw stored DTFx history (PascalCase events, EventId, IsPlayed)."""
        async def history_() -> list[dict]:
            return self.engine.history(instance_id)
        return await on_worker_loop(history_)

    async def purge(self, instance_id: str) -> int:
        async def purge_() -> int:
            return self.client_ops.purge(instance_id)
        return await on_worker_loop(purge_)


__all__ = ["DevHost", "worker_loop"]
