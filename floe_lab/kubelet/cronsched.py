"""The 5-field cron schedule of a CronJob: when its runs are due.

Why our own parser: no cron library is installed in the lab's environment, and the CronJob controller needs only
what its schedule syntax allows (robfig/cron's standard parser): ``minute hour day-of-month month day-of-week``
with ``*``, ``?`` (as ``*``), lists, ranges, ``/step``, month and weekday names, ``7`` for Sunday, and the
``@yearly``/``@annually``/``@monthly``/``@weekly``/``@daily``/``@midnight``/``@hourly`` macros. As in cron, when
both day fields are restricted a day matches if *either* does. Times are computed in the CronJob's zone (wall
clock, so a run follows daylight saving time as cron does); the caller passes zone-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["MISSED_LIMIT", "CronSchedule", "ScheduleError"]

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i + 1 for i, m in enumerate(_MONTH_NAMES)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# (low, high, names) per field: minute, hour, day of month, month, day of week (7 is Sunday too)
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 7, _DAYS),
)
MISSED_LIMIT = 100  # the controller's "too many missed start times"
_HORIZON_DAYS = 366 * 5  # no valid schedule is further apart (29 February on a given weekday aside)


class ScheduleError(ValueError):
    """The schedule cannot be parsed; ``str()`` says why, in the words the API's validation would use."""


def _value(text: str, names: dict[str, int], low: int, high: int) -> int:
    word = text.lower()
    if word in names:
        return names[word]
    if not text.isdigit():
        raise ScheduleError(f"failed to parse int from {text}")
    number = int(text)
    if not low <= number <= high:
        raise ScheduleError(f"end of range ({number}) above maximum ({high}): {text}")
    return number


def _field(text: str, low: int, high: int, names: dict[str, int]) -> tuple[frozenset[int], bool]:
    """The values a field allows, and whether it is unrestricted (``*``/``?``, with no step)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"step must be a positive number: {part}")
            step = int(step_text)
        if span in ("*", "?"):
            first, last = low, high
            star = star or not step_text
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _value(a, names, low, high), _value(b, names, low, high)
            if first > last:
                raise ScheduleError(f"beginning of range ({first}) beyond end of range ({last}): {part}")
        else:
            first = _value(span, names, low, high)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return frozenset(values), star


@dataclass(frozen=True)
class CronSchedule:
    """A parsed schedule; :meth:`times` lists its run times after a moment."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month unrestricted
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> CronSchedule:
        spec = _MACROS.get(text.strip().lower(), text.strip())
        if spec.startswith("@every"):
            raise ScheduleError(f"unsupported schedule: {text}")
        fields = spec.split()
        if len(fields) != 5:
            raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text!r}")
        parsed = [_field(f, low, high, names) for f, (low, high, names) in zip(fields, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in parsed[4][0])
        return cls(parsed[0][0], parsed[1][0], parsed[2][0], parsed[3][0], weekdays, parsed[2][1], parsed[4][1])

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month, in_week = day.day in self.days, (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:  # cron: only a restricted field counts; both restricted: either
            return in_month and in_week
        return in_month or in_week

    def times(self, after: datetime) -> Iterator[datetime]:
        """Run times strictly after ``after`` (zone-aware), in order, in ``after``'s zone."""
        zone = after.tzinfo
        day = after.date()
        for _ in range(_HORIZON_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
                        if moment > after:
                            yield moment
            day += timedelta(days=1)

    def next_after(self, after: datetime) -> datetime | None:
        """The first run time after ``after`` (None: the schedule never runs, e.g. ``0 0 30 2 *``)."""
        return next(self.times(after), None)

    def latest(self, earliest: datetime, now: datetime) -> tuple[datetime | None, int]:
        """The last run time in ``(earliest, now]`` and how many there were (counted up to :data:`MISSED_LIMIT` + 1:
        beyond that the controller only warns, so the latest is then found from ``now`` backwards)."""
        last, count = None, 0
        for moment in self.times(earliest):
            if moment > now:
                return last, count
            last, count = moment, count + 1
            if count > MISSED_LIMIT:
                break
        for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=_HORIZON_DAYS)):
            start = max(earliest, now - window)
            found = None
            for moment in self.times(start):
                if moment > now:
                    break
                found = moment
            if found is not None:
                return found, count
        return last, count
