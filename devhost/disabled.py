"""Disabled functions (``AzureWebJobs.<FunctionName>.Disabled``) and the extension's texts
for functions it cannot run.

- WebJobs ``HostListenerFactory.IsDisabled``: a function is disabled when the setting
  ``AzureWebJobs.<name>.Disabled`` or ``AzureWebJobs_<name>_Disabled`` (the form Linux
  environment variables can carry) is enabled; ``IConfigurationExtensions.IsSettingEnabled``
  accepts only ``1`` or ``true`` (case-insensitive). Configuration keys are case-insensitive,
  and the settings come from local.settings.json ``Values`` and the environment.
- A disabled function is still indexed, but gets no listener: an HTTP route answers 404
  (unless the caller has admin rights), a timer never fires, and the Durable extension knows
  the activity/orchestrator by name but has nothing to run it with (see engine.py).
"""
from __future__ import annotations

import json
from collections.abc import Mapping

from .loader import LoadedApp


def _enabled(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true")


def disabled_functions(loaded: LoadedApp, settings: Mapping[str, str]) -> set[str]:
    """Names of the app's functions that the settings disable."""
    by_key = {key.lower(): value for key, value in settings.items()}
    disabled = set()
    for name in loaded.functions:
        for key in (f"AzureWebJobs.{name}.Disabled", f"AzureWebJobs_{name}_Disabled"):
            if _enabled(by_key.get(key.lower())):
                disabled.add(name)
    return disabled


_KINDS = {"orchestrationTrigger": "orchestrator", "activityTrigger": "activity",
          "entityTrigger": "entity"}


def invalid_function_message(loaded: LoadedApp, trigger_type: str, name: str) -> str:
    """DurableTaskExtension.GetInvalid{Activity,Orchestrator,Entity}FunctionMessage.

    The known functions are every indexed one of that kind, disabled ones included (the
    extension registers them at indexing time).
    """
    kind = _KINDS[trigger_type]
    known = [f.durable_name for f in loaded.by_trigger(trigger_type)]
    message = (f"The function '{name}' doesn't exist, is disabled, or is not an {kind} function. "
               "Additional info: ")
    if known:
        names = "', '".join(known)
        return message + f"The following are the known {kind} functions: '{names}'."
    return message + f"No {kind} functions are currently registered!"


def disabled_activity_failure(loaded: LoadedApp, name: str) -> tuple[str, str]:
    """``TaskFailed`` Reason and Details for a call to a disabled activity.

    Since the extension's fix for issue #3471 (PR #3472) such a call fails instead of
    poison-looping. The post-fix source was not readable here, so the text follows the
    extension's existing pattern for a function it cannot run (the orchestrator middleware's
    GetInvalidOrchestratorFunctionMessage, TaskActivityShim's "Activity function '<name>'
    failed: <message>" and a serialized FunctionFailedException as Details).
    """
    message = invalid_function_message(loaded, "activityTrigger", name)
    reason = f"Activity function '{name}' failed: {message}"
    details = json.dumps({
        "$type": "Microsoft.Azure.WebJobs.FunctionFailedException, "
                 "Microsoft.Azure.WebJobs.Extensions.DurableTask",
        "ClassName": "Microsoft.Azure.WebJobs.FunctionFailedException", "Message": message,
        "Data": None, "InnerException": None, "HelpURL": None, "StackTraceString": None,
        "RemoteStackTraceString": None, "RemoteStackIndex": 0, "ExceptionMethod": None,
        "HResult": -2146233088, "Source": None, "WatsonBuckets": None,
    }, separators=(",", ":"))
    return reason, details
