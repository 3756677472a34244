"""Import a v2-programming-model function app and index its functions.

Indexing uses the library's own API, like the Python worker does: find the
``FunctionRegister`` instance (``func.FunctionApp`` / ``df.DFApp``) in the module, call
``get_functions()``, read each function's raw bindings and its user function.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func

log = logging.getLogger("devhost")

TRIGGER_TYPES = ("httpTrigger", "orchestrationTrigger", "activityTrigger", "entityTrigger",
                 "timerTrigger", "eventGridTrigger")


@dataclass
class FunctionInfo:
    """One indexed function, with what devhost needs to trigger and invoke it."""

    name: str
    trigger: dict
    bindings: list[dict]
    user_function: Callable[..., Any]
    is_async: bool
    parameters: list[str] = field(default_factory=list)

    @property
    def trigger_type(self) -> str:
        return self.trigger.get("type", "")

    @property
    def durable_name(self) -> str:
        """Orchestrator/activity name the Durable extension knows this function by."""
        return (self.trigger.get("orchestration") or self.trigger.get("activity")
                or self.trigger.get("entityName") or self.name)


@dataclass
class LoadedApp:
    module: Any
    app: Any
    functions: dict[str, FunctionInfo]

    def by_trigger(self, trigger_type: str) -> list[FunctionInfo]:
        return [f for f in self.functions.values() if f.trigger_type == trigger_type]

    def orchestrator(self, name: str) -> FunctionInfo | None:
        return self._durable("orchestrationTrigger", name)

    def activity(self, name: str) -> FunctionInfo | None:
        return self._durable("activityTrigger", name)

    def _durable(self, trigger_type: str, name: str | None) -> FunctionInfo | None:
        if not name:
            return None
        # the extension looks function names up case-insensitively
        for info in self.functions.values():
            if info.trigger_type == trigger_type and info.durable_name.lower() == name.lower():
                return info
        return None


def _belongs_to_app_dir(module_name: str, app_dir: str) -> bool:
    """True for the other app's own code: a top-level module or package that sits directly
    in its folder. Never the host itself, the test modules pytest holds, or installed
    packages (a virtualenv often lives inside the app folder, and evicting
    ``azure.functions`` would make the next app's FunctionApp a different class)."""
    top = module_name.split(".")[0]
    if top == __name__.split(".")[0] or top.startswith(("test", "conftest")):
        return False
    module = sys.modules.get(top)
    path = os.path.abspath(getattr(module, "__file__", "") or "")
    if not path or "site-packages" in path.split(os.sep):
        return False
    if os.path.basename(path) == "__init__.py":
        path = os.path.dirname(path)  # a package: its folder must sit in the app dir
    return os.path.dirname(path) == app_dir


def _evict_foreign_module(module_name: str, app_dir: str) -> None:
    """Drop an already-imported module of the same name that comes from another app dir.

    Re-using a module imported from the same file keeps module-level clients alive across
    DevHost instances in one test session (like one long-lived worker process).
    """
    existing = sys.modules.get(module_name)
    if existing is None:
        return
    existing_file = os.path.abspath(getattr(existing, "__file__", "") or "")
    # The same file, not merely one under app_dir: an app's tests often hold apps of their
    # own in subfolders (tests/apps/x/function_app.py), which must not pass for the app.
    own = os.path.join(app_dir, *module_name.split("."))
    if existing_file in (own + ".py", os.path.join(own, "__init__.py")):
        return
    old_dir = os.path.dirname(existing_file)
    for name in [n for n in sys.modules if _belongs_to_app_dir(n, old_dir)]:
        del sys.modules[name]
    sys.modules.pop(module_name, None)
    if old_dir in sys.path:
        sys.path.remove(old_dir)


def load_app(app_dir: str, module_name: str = "function_app") -> LoadedApp:
    app_dir = os.path.abspath(app_dir)
    _evict_foreign_module(module_name, app_dir)
    if app_dir in sys.path:
        sys.path.remove(app_dir)
    sys.path.insert(0, app_dir)
    module = __import__(module_name)
    for part in module_name.split(".")[1:]:
        module = getattr(module, part)

    registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not registers:
        raise RuntimeError(f"devhost: module '{module_name}' in {app_dir} defines no "
                           "FunctionApp / DFApp instance")
    if len(registers) > 1:
        # the Python worker refuses this too
        raise RuntimeError(f"devhost: module '{module_name}' defines {len(registers)} "
                           "FunctionApp instances; the worker allows exactly one")
    app = registers[0]
    cached = _INDEXED.get(id(app))
    if cached is not None and cached.app is app:
        return cached

    functions: dict[str, FunctionInfo] = {}
    # get_functions() remembers names it has seen and rejects them on a second call (e.g.
    # when the app's own tests indexed it already): start from a clean slate.
    app.functions_bindings = None
    for function in app.get_functions():
        bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
        trigger = next((b for b in bindings if b.get("type", "").endswith("Trigger")), None)
        if trigger is None:
            log.warning("devhost: function %s has no trigger; skipped",
                        function.get_function_name())
            continue
        user_function = function.get_user_function()
        name = function.get_function_name()
        if name is None:  # azure.functions names every function (decorator or __name__)
            raise RuntimeError(f"devhost: azure.functions gave {user_function!r} no name")
        functions[name] = FunctionInfo(
            name=name, trigger=trigger, bindings=bindings, user_function=user_function,
            is_async=inspect.iscoroutinefunction(user_function),
            parameters=list(inspect.signature(user_function).parameters))
        if trigger["type"] not in TRIGGER_TYPES:
            log.warning("devhost: function %s has a %s trigger, which devhost does not "
                        "drive; it will never run here", name, trigger["type"])
    loaded = LoadedApp(module=module, app=app, functions=functions)
    _INDEXED[id(app)] = loaded
    return loaded


# get_functions() may run once per app object (it rejects "duplicate" names on a second
# call), like the worker's single indexing per process: keep the index per app object.
_INDEXED: dict[int, LoadedApp] = {}
