"""The function list ``func start`` prints once the host is up, in Core Tools' format.

Core Tools (``DisplayFunctionsInfoUtilities``) prints, when at least one function is
enabled, an empty line, ``Functions:`` and an empty line; then each enabled HTTP function as
``\\t<name>: [GET,POST] <base>/<routePrefix>/<route>`` (the methods part is empty when the
trigger names none), then every other enabled function as ``\\t<name>: <triggerType>``, each
followed by an empty line; and last ``Function <name> is disabled.`` for each disabled one.
"""
from __future__ import annotations

from collections.abc import Collection

from .loader import LoadedApp


def function_list_lines(loaded: LoadedApp, base_url: str, route_prefix: str,
                        disabled: Collection[str] = ()) -> list[str]:
    functions = list(loaded.functions.values())
    enabled = [f for f in functions if f.name not in disabled]
    lines: list[str] = []
    if enabled:
        lines += ["", "Functions:", ""]
    prefix = f"{route_prefix.strip('/')}/" if route_prefix.strip("/") else ""
    base = base_url.rstrip("/").replace("0.0.0.0", "localhost") + "/"
    for info in enabled:
        if info.trigger_type != "httpTrigger":
            continue
        methods = info.trigger.get("methods")
        shown = f"[{','.join(str(m).upper() for m in methods)}]" if methods else ""
        route = info.trigger.get("route") or info.name
        lines += [f"\t{info.name}: {shown} {base}{prefix}{route}", ""]
    for info in enabled:
        if info.trigger_type != "httpTrigger":
            lines += [f"\t{info.name}: {info.trigger_type}", ""]
    lines += [f"Function {f.name} is disabled." for f in functions if f.name in disabled]
    return lines
