"""Redis key names. Every key of a user carries the hash tag {u:<id>}, so all
of them live in one Redis Cluster slot and one script may touch them all.
Per-slot indexes that those scripts also update share that slot (server/slots.py)."""

from dataclasses import dataclass

from server.slots import key_slot, slot_key

JOURNAL = "journal"
"""Name of the per-slot stream of money records not yet archived in PostgreSQL:
fields `k` (kind: entry, bet or seed), `u` (user id), `d` (the record's JSON)."""
GAMES_DUE = "games:due"
"""Name of the per-slot sorted set of step games the expiry sweep must look at:
member `<game>:<bet id>:<user id>`, score the time (ms) the game is due."""


@dataclass(frozen=True, slots=True)
class UserKeys:
    """The Redis keys and pub/sub channel of one user."""

    user_id: str

    @property
    def tag(self) -> str:
        return f"{{u:{self.user_id}}}"

    @property
    def wallet(self) -> str:
        """Hash: currency -> balance in minor units, plus `version`."""
        return f"{self.tag}:wallet"

    @property
    def ledger(self) -> str:
        """Hash: entry id (= the version it created) -> entry JSON."""
        return f"{self.tag}:ledger"

    @property
    def profile(self) -> str:
        """Hash: id, name, kind, created_at and the password hash if registered."""
        return f"{self.tag}:profile"

    @property
    def limits(self) -> str:
        """Hash: the user's responsible-play limits and their counters (server/limits)."""
        return f"{self.tag}:limits"

    @property
    def events(self) -> str:
        """Pub/sub channel of this user's balance and game events."""
        return f"{self.tag}:events"

    @property
    def seeds(self) -> str:
        """Hash: the active seed pair (server_seed, server_seed_hash, client_seed, nonce)."""
        return f"{self.tag}:seeds"

    @property
    def open_on_seeds(self) -> str:
        """Set: ids of the bets open on the active seed pair (no rotation while any)."""
        return f"{self.tag}:seeds:open"

    @property
    def revealed_seeds(self) -> str:
        """Hash: server seed hash -> JSON of a rotated-out (revealed) seed pair."""
        return f"{self.tag}:seeds:revealed"

    @property
    def bets(self) -> str:
        """Hash: bet id -> settled bet record JSON."""
        return f"{self.tag}:bets"

    @property
    def games(self) -> str:
        """Hash: game -> state JSON of the user's game in progress, `<game>:v` -> its version."""
        return f"{self.tag}:games"

    @property
    def history(self) -> str:
        """Hash: `floor` and `bets_floor`, from which ids Redis holds the whole ledger and
        every bet record (older ones are in PostgreSQL), and `open:<id>` of bets kept open."""
        return f"{self.tag}:history"

    @property
    def journal(self) -> str:
        """The journal stream of this user's cluster slot (see JOURNAL)."""
        return slot_key(key_slot(self.tag), JOURNAL)

    @property
    def games_due(self) -> str:
        """The games-due index of this user's cluster slot (see GAMES_DUE)."""
        return slot_key(key_slot(self.tag), GAMES_DUE)

    def idempotency(self, key: str) -> str:
        """String: fingerprint and first result of an operation key."""
        return f"{self.tag}:idem:{key}"
