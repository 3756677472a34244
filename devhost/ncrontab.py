"""NCRONTAB expressions as Azure Functions timer triggers use them (UTC).

Six fields: ``{second} {minute} {hour} {day} {month} {day-of-week}``; a five-field
expression is read with second 0. Each field takes ``*``, numbers, ranges ``a-b``, lists
``a,b``, steps ``*/n`` / ``a-b/n``, and month/day names (``Jan``, ``Mon``; 0 or 7 =
Sunday). Day-of-month and day-of-week must both match (NCrontab semantics).
"""
from __future__ import annotations

import datetime as _dt

_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]


def _value(text: str, names: dict) -> int:
    lowered = text.strip().lower()
    if lowered[:3] in names and not lowered.isdigit():
        return names[lowered[:3]]
    return int(lowered)


def _parse_field(text: str, low: int, high: int, names: dict) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step <= 0:
                raise ValueError(f"bad step in '{text}'")
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = high if "/" in text and step > 1 else start
        if start < low or end > high or start > end:
            raise ValueError(f"value out of range in '{text}' ({low}-{high})")
        values.update(range(start, end + 1, step))
    return values


class NCrontab:
    def __init__(self, expression: str) -> None:
        fields = expression.split()
        if len(fields) == 5:
            fields = ["0", *fields]
        if len(fields) != 6:
            raise ValueError(f"NCRONTAB needs 6 fields (second minute hour day month "
                             f"day-of-week): {expression!r}")
        self.expression = expression
        names: list[dict] = [{}, {}, {}, {}, _MONTHS, _DAYS]
        parsed = [_parse_field(f, lo, hi, n) for f, (lo, hi), n in zip(fields, _RANGES, names, strict=True)]
        self.seconds, self.minutes, self.hours, self.days, self.months, days_of_week = parsed
        self.days_of_week = {d % 7 for d in days_of_week}

    def _day_matches(self, moment: _dt.datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # Monday=0 in Python, Sunday=0 in cron
        return moment.day in self.days and weekday in self.days_of_week

    def next_after(self, after: _dt.datetime) -> _dt.datetime:
        """The first occurrence strictly after ``after`` (timezone-aware UTC)."""
        moment = after.replace(microsecond=0) + _dt.timedelta(seconds=1)
        for _ in range(2_000_000):
            if moment.month not in self.months:
                year, month = (moment.year + 1, 1) if moment.month == 12 else (
                    moment.year, moment.month + 1)
                moment = moment.replace(year=year, month=month, day=1, hour=0, minute=0,
                                        second=0)
                continue
            if not self._day_matches(moment):
                moment = (moment + _dt.timedelta(days=1)).replace(hour=0, minute=0, second=0)
                continue
            if moment.hour not in self.hours:
                moment = (moment + _dt.timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if moment.minute not in self.minutes:
                moment = (moment + _dt.timedelta(minutes=1)).replace(second=0)
                continue
            if moment.second not in self.seconds:
                moment += _dt.timedelta(seconds=1)
                continue
            return moment
        raise ValueError(f"NCRONTAB {self.expression!r} never fires")
