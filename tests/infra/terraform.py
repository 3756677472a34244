"""Static reading of the Terraform under infra/ with python-hcl2 (no terraform binary needed).

python-hcl2 8.x keeps HCL quoting: labels and string literals come back as '"name"', and
expressions as '${...}'. `unquote` undoes the first; references are found with regexes over
the text of every attribute value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
ROOTS = ("azure", "aws", "shared")

# Provider resource-type prefixes used in this project; a reference like `azurerm_x.y` must
# name a declared resource of that root.
RESOURCE_PREFIXES = ("azurerm_", "azapi_", "aws_")

_PREFIXES = "|".join(RESOURCE_PREFIXES)
_RESOURCE_REF = re.compile(rf"(?<![\w.\-/])((?:{_PREFIXES})[a-z0-9_]+)\.([A-Za-z_][\w-]*)")
_DATA_REF = re.compile(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")
_NAMED_REF = re.compile(r"(?<![\w.])(var|local|module)\.([A-Za-z_][\w-]*)")
_MODULE_OUTPUT_REF = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)")


def unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def strip_meta(value: Any) -> Any:
    """Drop python-hcl2's `__is_block__` markers and unquote keys and strings, recursively."""
    if isinstance(value, dict):
        return {unquote(k): strip_meta(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("__"))}
    if isinstance(value, list):
        return [strip_meta(v) for v in value]
    return unquote(value)


@dataclass
class Root:
    """Everything one Terraform root (or module) declares, merged over its .tf files."""

    path: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)


def parse_file(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return strip_meta(hcl2.load(handle))


def _typed_blocks(blocks: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for block in blocks:
        for type_name, named in block.items():
            for name, body in named.items():
                found[(type_name, name)] = body
    return found


def _named_blocks(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: body for block in blocks for name, body in block.items()}


def load_root_from(path: Path) -> Root:
    root = Root(path=path)
    for tf in sorted(path.glob("*.tf")):
        parsed = parse_file(tf)
        root.files[tf.name] = parsed
        root.resources |= _typed_blocks(parsed.get("resource", []))
        root.data |= _typed_blocks(parsed.get("data", []))
        root.variables |= _named_blocks(parsed.get("variable", []))
        root.modules |= _named_blocks(parsed.get("module", []))
        root.outputs |= _named_blocks(parsed.get("output", []))
        root.terraform += parsed.get("terraform", [])
        for block in parsed.get("locals", []):
            root.locals |= block
    return root


@cache
def load_root(name: str) -> Root:
    return load_root_from(INFRA / name)


def references(root: Root) -> dict[str, set[tuple[str, ...]]]:
    """Every reference in the root's blocks, by kind."""
    text = json.dumps({name: body for name, body in root.files.items()})
    found: dict[str, set[tuple[str, ...]]] = {"resource": set(), "data": set(), "var": set(), "local": set(),
                                              "module": set(), "module_output": set()}
    found["resource"] = {(t, n) for t, n in _RESOURCE_REF.findall(text)}
    found["data"] = {(t, n) for t, n in _DATA_REF.findall(text)}
    for kind, name in _NAMED_REF.findall(text):
        found[kind].add((name,))
    found["module_output"] = {(m, o) for m, o in _MODULE_OUTPUT_REF.findall(text)}
    return found


def unresolved(root: Root) -> list[str]:
    """References that name nothing declared in this root (or an output its module lacks)."""
    refs = references(root)
    problems = [f"{t}.{n}" for t, n in refs["resource"] if (t, n) not in root.resources]
    problems += [f"data.{t}.{n}" for t, n in refs["data"] if (t, n) not in root.data]
    problems += [f"var.{n}" for (n,) in refs["var"] if n not in root.variables]
    problems += [f"local.{n}" for (n,) in refs["local"] if n not in root.locals]
    problems += [f"module.{n}" for (n,) in refs["module"] if n not in root.modules]
    for module, output in refs["module_output"]:
        if module in root.modules:
            source = unquote(root.modules[module].get("source", ""))
            target = load_root_from((root.path / source).resolve())
            if output not in target.outputs:
                problems.append(f"module.{module}.{output} (no such output in {source})")
    return sorted(problems)


def map_keys(value: Any) -> set[str]:
    assert isinstance(value, dict), f"expected a literal map, got {value!r}"
    return set(value)
