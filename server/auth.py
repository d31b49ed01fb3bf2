"""Accounts and sessions: guests, registered users, opaque session tokens.

A session token is 256 random bits shown to the client once; Redis keeps
only its SHA-256, so a copy of the database holds no usable token. The user
is always whoever the token names: no client-supplied user id is trusted.
"""

import asyncio
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from server.config import Settings
from server.errors import CroupierError, ErrorCode
from server.wallet import UserKeys, Wallet

USERNAME = re.compile(r"^[A-Za-z0-9_]{3,20}$")
USERNAMES_KEY = "croupier:usernames"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True, slots=True)
class Account:
    """Who a session belongs to."""

    id: str
    name: str
    kind: Literal["guest", "registered"]
    created_at: int


def hash_password(password: str) -> str:
    """scrypt hash with a random salt, as `scrypt$n$r$p$salt$hash` (hex)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against `hash_password`'s output."""
    _, n, r, p, salt, expected = stored.split("$")
    digest = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(digest.hex(), expected)


def _session_key(token: str) -> str:
    return "croupier:session:" + hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Creates accounts, opens and closes sessions, resolves tokens."""

    def __init__(self, redis: Redis, wallet: Wallet, settings: Settings) -> None:
        self._redis = redis
        self._wallet = wallet
        self._settings = settings

    async def create_guest(self) -> tuple[Account, str]:
        """A new guest account with the starting balance, and its session token."""
        user_id = secrets.token_hex(8)
        account = Account(user_id, f"guest-{user_id[:6]}", "guest", int(time.time() * 1000))
        await self._create(account, password_hash=None)
        return account, await self.open_session(account.id)

    async def register(self, username: str, password: str) -> tuple[Account, str]:
        """A new registered account (unique username, case-insensitive)."""
        if not USERNAME.match(username):
            raise CroupierError(
                ErrorCode.BAD_REQUEST, "username must be 3-20 of [A-Za-z0-9_]", "username"
            )
        password_hash = await asyncio.to_thread(hash_password, password)
        user_id = secrets.token_hex(8)
        if not await self._redis.hsetnx(USERNAMES_KEY, username.lower(), user_id):
            raise CroupierError(ErrorCode.USERNAME_TAKEN, f"username {username!r} is taken")
        account = Account(user_id, username, "registered", int(time.time() * 1000))
        await self._create(account, password_hash)
        return account, await self.open_session(account.id)

    async def login(self, username: str, password: str) -> tuple[Account, str]:
        """A new session for a registered account; INVALID_CREDENTIALS otherwise."""
        user_id = await self._redis.hget(USERNAMES_KEY, username.lower())
        stored = user_id and await self._redis.hget(UserKeys(user_id).profile, "password")
        if not stored or not await asyncio.to_thread(verify_password, password, stored):
            raise CroupierError(ErrorCode.INVALID_CREDENTIALS, "wrong username or password")
        account = await self.get(user_id)
        assert account is not None
        return account, await self.open_session(account.id)

    async def open_session(self, user_id: str) -> str:
        """A fresh session token for a user."""
        token = secrets.token_urlsafe(32)
        await self._redis.set(_session_key(token), user_id, ex=self._settings.session_ttl_s)
        return token

    async def logout(self, token: str) -> None:
        """Revoke a session token."""
        await self._redis.delete(_session_key(token))

    async def resolve(self, token: str | None) -> Account | None:
        """The account a session token belongs to, or None."""
        if not token or len(token) > 256:
            return None
        user_id = await self._redis.get(_session_key(token))
        return await self.get(user_id) if user_id else None

    async def get(self, user_id: str) -> Account | None:
        """An account by id."""
        profile = await self._redis.hgetall(UserKeys(user_id).profile)
        if not profile:
            return None
        return Account(profile["id"], profile["name"], profile["kind"], int(profile["created_at"]))

    async def check_login_rate(self, client: str) -> None:
        """RATE_LIMITED after too many login or register attempts from one client."""
        key = f"croupier:login-attempts:{client}"
        async with self._redis.pipeline(transaction=True) as pipe:
            _, count = await pipe.set(key, 0, ex=60, nx=True).incr(key).execute()
        if count > self._settings.login_attempts_per_minute:
            raise CroupierError(ErrorCode.RATE_LIMITED, "too many attempts, wait a minute")

    async def _create(self, account: Account, password_hash: str | None) -> None:
        profile = {
            "id": account.id,
            "name": account.name,
            "kind": account.kind,
            "created_at": str(account.created_at),
        }
        if password_hash is not None:
            profile["password"] = password_hash
        await self._redis.hset(UserKeys(account.id).profile, mapping=profile)
        for currency, amount in self._settings.starting_balance.items():
            if amount > 0:
                await self._wallet.credit(
                    account.id, amount, currency, key=f"signup:{currency}", kind="deposit",
                    ref="signup",
                )  # fmt: skip
