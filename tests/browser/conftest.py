"""Browser tests of the saga console: the app on devhost (the end-to-end fixtures) and the
system's chromium driven by Playwright (no browser download: `playwright install` is never run)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.e2e.conftest import app_keys, start_app

__all__ = ["app_keys", "browser", "screenshots", "start_app"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "no chromium on PATH (scripts/bootstrap.sh installs it with apt-get where it can)"
        if os.environ.get("CONSOLE_BROWSER_REQUIRED") == "1":  # CI: a skipped browser test is a failure
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        # root (CI containers) cannot use chromium's user-namespace sandbox
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        launched = await playwright.chromium.launch(executable_path=path, args=args)
        yield launched
        await launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where the tests save their screenshots: CONSOLE_SCREENSHOTS (docs/screenshots for the
    README's pictures), else this test's temporary directory."""
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
