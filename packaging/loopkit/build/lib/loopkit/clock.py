"""The one clock of loopkit: every timestamp is UTC and comes from :func:`utc_now`.

``--now`` (or ``LOOPKIT_NOW``) pins it for tests and replays; §5.5 weakness 11 was a mix of
local time, ``utcnow()`` and ``now(timezone.utc)``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from loopkit.errors import LoopkitError

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def parse_utc(raw: str, what: str = "--now") -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LoopkitError(f"{what}: not an ISO timestamp: {raw!r}") from exc
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def utc_now(override: str | None = None) -> datetime:
    """The current time in UTC, or ``override`` (ISO 8601) when given."""
    return parse_utc(override) if override else datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)
