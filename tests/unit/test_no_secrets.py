"""No secret in the repository: the well-known local keys appear only in the example
settings (which hold local-emulator values and nothing else), and nothing shaped like a real
credential is committed anywhere."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_SETTINGS = "local.settings.example.json"
THIS_FILE = str(Path(__file__).resolve().relative_to(REPO))

# Shapes of real credentials. (This file names prefixes only; it is excluded from its own scan.)
SECRET_SHAPES = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private key block": re.compile(r"-----BEGIN (RSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "Azure storage account key": re.compile(r"AccountKey=[A-Za-z0-9+/]{80,}={0,2}"),
    "Azurite's well-known key": re.compile(r"Eby8vdM02xNOcqFl"),
    "SAS signature": re.compile(r"[?&]sig=[A-Za-z0-9%+/]{30,}"),
    "bearer token": re.compile(r"Bearer\s+ey[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"),
    "Application Insights key": re.compile(r"InstrumentationKey=[0-9a-f]{8}-[0-9a-f]{4}-"),
}


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=False)
    if listed.returncode == 0 and listed.stdout:
        return [name for name in listed.stdout.decode().split("\0") if name]
    skip = {".git", ".venv", "node_modules", ".local", ".devhost", "__pycache__"}
    return [str(p.relative_to(REPO)) for p in REPO.rglob("*") if p.is_file() and not skip & set(p.parts)]


def text_of(name: str) -> str | None:
    try:
        return (REPO / name).read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary files (none are expected) are not scanned as text


def test_the_local_keys_live_only_in_the_example_settings() -> None:
    values = json.loads((REPO / EXAMPLE_SETTINGS).read_text())["Values"]
    local_keys = {name: values[name] for name in ("COSMOS_KEY", "EVENTGRID_TOPIC_KEY")}
    assert all(len(v) >= 16 for v in local_keys.values())
    found = [(name, setting) for name in tracked_files() if name != EXAMPLE_SETTINGS
             for setting, key in local_keys.items() if key in (text_of(name) or "")]
    assert found == [], f"local keys copied outside {EXAMPLE_SETTINGS}: {found}"


def test_nothing_shaped_like_a_credential_is_committed() -> None:
    files = tracked_files()
    assert EXAMPLE_SETTINGS in files and len(files) > 100, "the scan must see the tree"
    found = [(name, shape) for name in files if name != THIS_FILE
             for shape, pattern in SECRET_SHAPES.items() if pattern.search(text_of(name) or "")]
    assert found == [], found


def test_local_settings_are_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "local.settings.json"], cwd=REPO, check=False)
    assert ignored.returncode == 0, "local.settings.json must stay out of git"
