"""The limits context of a script call: the clock's time and the periods in the
user's zone, as the one ARGV string `_limits.lua` reads.

Each process keeps the zones of the users it served (UTC for the others). A
script that finds another zone in the user's limits changes nothing and answers
{'ZONE', zone}: the call is made again in that zone, as a bet does with a stale
seed pair. A user without limits costs no read here and one in the script.
"""

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from server.errors import CroupierError, ErrorCode
from server.limits.periods import DEFAULT_ZONE, Clock
from server.redis_scripts import Arg, Script

CACHED_ZONES = 65_536
"""Users whose zone (other than UTC) a process keeps, least recently used dropped first."""
ZONE_ATTEMPTS = 3


class LimitContexts:
    """Builds the limits context of a user's script calls."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._zones: OrderedDict[str, str] = OrderedDict()

    def zone(self, user_id: str) -> str:
        """The zone this process believes the user has."""
        return self._zones.get(user_id, DEFAULT_ZONE)

    def context(self, user_id: str) -> str:
        """ "<now ms> <zone> <day id> <day end> <week id> <week end> <month id> <month end>"."""
        zone = self._zones.get(user_id, DEFAULT_ZONE)
        now = self.clock.now_ms()
        p = self.clock.periods(zone, now)
        return f"{now} {zone} {p.day} {p.day_end} {p.week} {p.week_end} {p.month} {p.month_end}"

    def learn(self, user_id: str, zone: str) -> None:
        """Remember the user's zone (as a script or a change of it said)."""
        if zone == DEFAULT_ZONE:
            self._zones.pop(user_id, None)
            return
        self._zones[user_id] = zone
        self._zones.move_to_end(user_id)
        if len(self._zones) > CACHED_ZONES:
            self._zones.popitem(last=False)

    async def run(
        self, script: Script, user_id: str, keys: Sequence[str], args: Sequence[Arg]
    ) -> Any:
        """Call a script that checks or counts limits (`keys` include the user's limits
        key) with the context appended to `args`; a ZONE answer is retried in that zone."""
        for _ in range(ZONE_ATTEMPTS):
            reply = await script(keys=keys, args=[*args, self.context(user_id)])
            if reply[0] != "ZONE":
                return reply
            self.learn(user_id, reply[1])
        raise CroupierError(ErrorCode.BUSY, "the account's time zone is changing; try again")
