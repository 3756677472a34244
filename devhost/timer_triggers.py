"""Timer-triggered functions on their NCRONTAB schedules.

Disabled with ``DEVHOST_DISABLE_TIMERS=1`` (or ``timers=False`` / ``--no-timers``); a
disabled timer function can still be run by hand through ``POST /admin/functions/<name>``.
``runOnStartup`` functions run once when the host starts. Schedules written as
``%SettingName%`` are resolved from the app settings, as the host does.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import os
from collections.abc import Collection, Mapping

from azure.functions import meta

from .bindings import Invocation, Invoker
from .history import format_timestamp, utc_now
from .loader import FunctionInfo, LoadedApp
from .ncrontab import NCrontab

log = logging.getLogger("devhost")


class TimerTriggers:
    def __init__(self, loaded: LoadedApp, invoker: Invoker, settings: Mapping[str, str],
                 enabled: bool, disabled: Collection[str] = ()) -> None:
        self.loaded = loaded
        self.invoker = invoker
        self.enabled = enabled
        self._tasks: list[asyncio.Task] = []
        self._last: dict[str, _dt.datetime] = {}
        self.schedules: dict[str, NCrontab] = {}
        for info in loaded.by_trigger("timerTrigger"):
            if info.name in disabled:
                continue  # no listener for a disabled function: it never fires
            schedule = str(info.trigger.get("schedule", ""))
            if schedule.startswith("%") and schedule.endswith("%"):
                setting_name = schedule.strip("%")
                schedule = settings.get(setting_name) or os.environ.get(setting_name, "")
                if not schedule:
                    # the real host refuses to start the function; devhost skips it loudly
                    log.warning("devhost: timer function %s: setting %s is not defined; the "
                                "function will not run on a schedule", info.name, setting_name)
                    continue
            self.schedules[info.name] = NCrontab(schedule)

    def timer_datum(self, info: FunctionInfo, past_due: bool) -> meta.Datum:
        now = utc_now()
        schedule = self.schedules.get(info.name)
        upcoming = schedule.next_after(now) if schedule else now
        last = self._last.get(info.name, now)
        return meta.Datum(json.dumps({
            "Schedule": {"AdjustForDST": True},
            "ScheduleStatus": {"Last": format_timestamp(last), "Next": format_timestamp(upcoming),
                               "LastUpdated": format_timestamp(now)},
            "IsPastDue": past_due}), "json")

    def start(self) -> None:
        if not self.schedules:
            return
        if not self.enabled:
            log.info("devhost: timer triggers disabled (%s)", ", ".join(self.schedules))
            return
        loop = asyncio.get_running_loop()
        for info in self.loaded.by_trigger("timerTrigger"):
            if info.name in self.schedules:
                self._tasks.append(loop.create_task(self._run_schedule(info)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except BaseException:  # noqa: BLE001 - shutting down
                pass
        self._tasks.clear()

    async def _fire(self, info: FunctionInfo) -> None:
        try:
            await self.invoker.invoke(info, Invocation(trigger=self.timer_datum(info, False)))
        except Exception:
            log.exception("devhost: timer function %s failed", info.name)
        self._last[info.name] = utc_now()

    async def _run_schedule(self, info: FunctionInfo) -> None:
        schedule = self.schedules[info.name]
        if info.trigger.get("runOnStartup"):
            await self._fire(info)
        while True:
            due = schedule.next_after(utc_now())
            await asyncio.sleep(max(0.0, (due - utc_now()).total_seconds()))
            await self._fire(info)

