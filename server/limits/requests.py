"""The requests that change a player's limits (HTTP `PUT /api/limits` and WS `limits.set`)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from server.limits.periods import known_zones
from server.protocol import Amount, Currency, Params

LimitKind = Literal["loss", "wager", "deposit"]
Period = Literal["day", "week", "month"]
Pause = Literal[
    "cool_off_24h", "cool_off_7d", "cool_off_30d", "self_exclusion_6m", "self_exclusion_permanent"
]
DAY_MS = 86_400_000
PAUSES: dict[str, tuple[str, int | None]] = {
    "cool_off_24h": ("cool_off", DAY_MS),
    "cool_off_7d": ("cool_off", 7 * DAY_MS),
    "cool_off_30d": ("cool_off", 30 * DAY_MS),
    "self_exclusion_6m": ("self_exclusion", 183 * DAY_MS),
    "self_exclusion_permanent": ("self_exclusion", None),
}
"""Each pause choice: its kind and how long it lasts (None: for ever)."""
REALITY_CHECK_MINUTES = (0, 15, 30, 45, 60, 90, 120)
"""Reality-check intervals a player may choose (0: off)."""


def _known_zone(value: str) -> str:
    if value not in known_zones():
        raise PydanticCustomError("unknown_zone", "unknown time zone {zone}", {"zone": value})
    return value


Zone = Annotated[StrictStr, Field(max_length=64), AfterValidator(_known_zone)]
"""An IANA time zone name this machine knows (e.g. "Europe/Paris")."""


class LimitChange(Params):
    """One change: a limit (`currency`, `kind`, `period` and `amount`, null to remove it),
    the `zone` periods follow, a `pause`, or the `reality_check_min` interval."""

    currency: Currency | None = None
    kind: LimitKind | None = None
    period: Period | None = None
    amount: Amount | None = None
    zone: Zone | None = None
    pause: Pause | None = None
    reality_check_min: StrictInt | None = None

    @model_validator(mode="after")
    def _one_change(self) -> "LimitChange":
        limit_fields = {"currency", "kind", "period", "amount"}
        given = self.model_fields_set
        if given & limit_fields:
            missing = limit_fields - given
            if missing:
                raise ValueError(f"a limit needs {', '.join(sorted(missing))} too")
            if self.currency is None or self.kind is None or self.period is None:
                raise ValueError("currency, kind and period name the limit: none may be null")
            others = given - limit_fields
        else:
            others = given
            if len(others) != 1:
                raise ValueError("change one thing: a limit, zone, pause or reality_check_min")
            if getattr(self, next(iter(others))) is None:
                raise ValueError(f"{next(iter(others))} may not be null")
        if given & limit_fields and others:
            raise ValueError("change one thing: a limit, zone, pause or reality_check_min")
        if self.reality_check_min not in (None, *REALITY_CHECK_MINUTES):
            raise ValueError(f"reality_check_min is one of {list(REALITY_CHECK_MINUTES)}")
        return self

    @property
    def setting(self) -> str:
        """The setting changed: "<currency>:<kind>:<period>", zone, pause or reality_check."""
        if self.currency is not None:
            return f"{self.currency}:{self.kind}:{self.period}"
        if self.zone is not None:
            return "zone"
        if self.pause is not None:
            return "pause"
        return "reality_check"
