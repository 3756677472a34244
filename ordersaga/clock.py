"""Wall-clock time for activities and triggers (never for orchestrators, which use
`context.current_utc_datetime`)."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
