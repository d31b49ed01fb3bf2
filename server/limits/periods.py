"""The limits' clock and periods: which day, week and month it is in a player's zone.

Lua has no time zones, so the periods are computed here from one clock and passed
to the scripts. The clock is the server's, moved by `clock_offset_s` (a testing aid:
a process can live "25 hours later" than another on the same Redis).
"""

import time as _time
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

DEFAULT_ZONE = "UTC"


@cache
def known_zones() -> frozenset[str]:
    """The IANA zone names this machine knows."""
    return frozenset(available_timezones())


@dataclass(frozen=True, slots=True)
class Periods:
    """The current day, week (from Monday) and month in one zone: each one's id (the ISO
    date it starts on) and the ms its next one starts."""

    day: str
    day_end: int
    week: str
    week_end: int
    month: str
    month_end: int
    day_start: int

    def ends(self) -> dict[str, int]:
        """Period kind -> the ms the next one starts."""
        return {"day": self.day_end, "week": self.week_end, "month": self.month_end}


def periods(zone: str, now_ms: int) -> Periods:
    """The periods around `now_ms` in `zone`: a day starts at local midnight, a week on
    Monday, a month on the 1st."""
    tz = ZoneInfo(zone)

    def start_ms(day: date) -> int:
        return int(datetime.combine(day, time(), tzinfo=tz).timestamp() * 1000)

    today = datetime.fromtimestamp(now_ms / 1000, tz).date()
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return Periods(
        day=today.isoformat(),
        day_end=start_ms(today + timedelta(days=1)),
        week=monday.isoformat(),
        week_end=start_ms(monday + timedelta(days=7)),
        month=first.isoformat(),
        month_end=start_ms(next_month),
        day_start=start_ms(today),
    )


class Clock:
    """The time that decides periods and pending raises: the server's, plus an offset."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self._offset_ms = int(offset_s * 1000)
        self._periods: dict[str, Periods] = {}

    def now_ms(self) -> int:
        return int(_time.time() * 1000) + self._offset_ms

    def periods(self, zone: str, now_ms: int) -> Periods:
        """`periods(zone, now_ms)`, computed once a day per zone."""
        known = self._periods.get(zone)
        if known is None or not known.day_start <= now_ms < known.day_end:
            known = self._periods[zone] = periods(zone, now_ms)
        return known
