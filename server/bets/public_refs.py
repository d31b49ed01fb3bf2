"""Public references of bets: how the live feed names a bet without its player's user id.

A reference is `<bet id>.<sealed user id>`: the user id XOR a pad derived
(HMAC-SHA256) from a secret of the deployment and the bet id, in base64url.
Anyone may look a bet up by its reference (its public record and seeds, as
Stake shows a bet's details); nobody learns the user id from it, and two bets
of one player share no part but their shape. A forged reference names a user
id that does not exist, or a bet that is not there: not found either way.
"""

import base64
import hashlib
import hmac
import re
import secrets

from redis.asyncio import Redis

SECRET_KEY = "croupier:public-refs:secret"
"""String: the deployment's secret (hex), set once by the first instance that starts."""
USER_ID = re.compile(r"^[0-9a-f]{16}$")
"""What an account's id looks like (secrets.token_hex(8)); a reference opens to one or none."""


class PublicRefs:
    """Seals and opens the public references of bets."""

    def __init__(self) -> None:
        self._secret: bytes | None = None

    async def load(self, redis: Redis) -> None:
        """Read the deployment's secret, creating it if this is the first instance."""
        await redis.set(SECRET_KEY, secrets.token_hex(32), nx=True)
        self._secret = bytes.fromhex(await redis.get(SECRET_KEY))

    def ref(self, user_id: str, bet_id: int) -> str | None:
        """The public reference of bet `bet_id` of `user_id` (None if that is no account id)."""
        if not USER_ID.match(user_id):
            return None
        sealed = bytes(a ^ b for a, b in zip(user_id.encode(), self._pad(bet_id), strict=False))
        return f"{bet_id}.{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"

    def open(self, ref: str) -> tuple[str, int] | None:
        """(user id, bet id) of a reference; None if it cannot be one."""
        bet, _, sealed = ref.partition(".")
        if not (bet.isascii() and bet.isdigit()) or len(bet) > 16 or len(sealed) != 22:
            return None
        try:
            raw = base64.urlsafe_b64decode(sealed + "==")
            if base64.urlsafe_b64encode(raw).decode().rstrip("=") != sealed:
                return None  # one reference per bet: no other spelling of the same bytes
            user_id = bytes(a ^ b for a, b in zip(raw, self._pad(int(bet)), strict=False))
            opened = user_id.decode("ascii")
        except (ValueError, UnicodeDecodeError):
            return None
        return (opened, int(bet)) if USER_ID.match(opened) else None

    def _pad(self, bet_id: int) -> bytes:
        if self._secret is None:
            raise RuntimeError("PublicRefs.load() has not run")
        return hmac.new(self._secret, f"bet:{bet_id}".encode(), hashlib.sha256).digest()
