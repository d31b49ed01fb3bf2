"""Redis keys of the Crash game. They are global (not per user) and share the
hash tag {live}, so every round script touches one Redis Cluster slot."""

from server.slots import key_slot, slot_key
from server.wallet.keys import JOURNAL as JOURNAL_NAME

_PREFIX = "crash:{live}:"

CHAIN = _PREFIX + "chain"
"""String: JSON of the hash chain (checkpoints, length, terminating hash, salt); set once."""
LEASE = _PREFIX + "lease"
"""String `<fence>/<token>` of the leader, with the lease expiry."""
FENCE = _PREFIX + "fence"
"""Counter: the fencing number, incremented by every lease acquisition."""
ROUND = _PREFIX + "round"
"""Hash: the current round (id, phase, fence, commitment, times, last tick, sums)."""
BETS = _PREFIX + "bets"
"""Hash: user id -> bet record JSON of the current round."""
TARGETS = _PREFIX + "targets"
"""Sorted set: user id of each open bet, scored by its cashout target x 100."""
HISTORY = _PREFIX + "history"
"""List: JSON of the last rounds (newest first)."""
JOURNAL = slot_key(key_slot(ROUND), JOURNAL_NAME)
"""Stream: the journal of the rounds' slot (finished rounds, for the archive)."""
