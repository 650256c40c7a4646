"""Time in one place: UTC everywhere inside; SQLite hands back naive datetimes, stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    value = aware(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def next_local(after: datetime, at: time, zone: tzinfo) -> datetime:
    """The next `at` o'clock in `zone` strictly after `after`, in UTC (as every job is stored): the
    daily jobs' next run."""
    local = after.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=zone)
    return candidate.astimezone(UTC)
