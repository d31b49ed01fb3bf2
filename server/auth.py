"""Accounts and sessions: guests, registered users, opaque session tokens.

A session token is 256 random bits shown to the client once; Redis keeps
only its SHA-256 (the session id), so a copy of the database holds no usable
token. The user is always whoever the token names: no client-supplied user id
is trusted. Ending a session (logout) publishes a revocation on the user's
channel: every instance closes the sockets signed in with it.
"""

import asyncio
import functools
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import orjson
from redis.asyncio import Redis

from server.config import Settings
from server.errors import CroupierError, ErrorCode
from server.redis_client import publish_to_user
from server.redis_scripts import ScriptRunner
from server.wallet import UserKeys, Wallet
from server.wallet.journal import Journal

_HERE = Path(__file__).parent

USERNAME = re.compile(r"^[A-Za-z0-9_]{3,20}$")
USERNAMES_KEY = "croupier:usernames"
SESSION_PREFIX = "croupier:session:"
REVOCATION_PREFIX = '{"revoked_session":'
"""How a revocation message on a user's channel starts (other messages are events)."""
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_NO_USER = "0" * 16
"""An id no account has (ids are random): a login of an unknown name reads its profile."""


@dataclass(frozen=True, slots=True)
class Account:
    """Who a session belongs to."""

    id: str
    name: str
    kind: Literal["guest", "registered"]
    created_at: int


@dataclass(frozen=True, slots=True)
class SessionRef:
    """The session a socket signed in with."""

    id: str
    """The SHA-256 of its token."""
    expires_at: float
    """Unix time (s) at which Redis forgets it."""


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


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches: an unknown name costs the same scrypt as a known one."""
    return hash_password(secrets.token_hex(16))


def session_id(token: str) -> str:
    """The id under which Redis keeps a session: the SHA-256 of its token."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_key(sid: str) -> str:
    """The Redis key of a session (its value is the user id)."""
    return SESSION_PREFIX + sid


def revocation_message(sid: str) -> str:
    """The message on a user's channel that ends the sockets of session `sid`."""
    return orjson.dumps({"revoked_session": sid}).decode()


def revoked_session(message: str) -> str:
    """The session id of a `revocation_message`."""
    sid: str = orjson.loads(message)["revoked_session"]
    return sid


class Accounts:
    """Creates accounts, opens and closes sessions, resolves tokens, throttles logins."""

    def __init__(
        self,
        redis: Redis,
        wallet: Wallet,
        settings: Settings,
        runner: ScriptRunner,
        journal: Journal,
    ) -> None:
        """`runner` and `journal`: an account is journaled (for PostgreSQL) at its first session."""
        self._redis = redis
        self._wallet = wallet
        self._settings = settings
        self._journal_account = runner.script((_HERE / "account_journal.lua").read_text())
        self._upgrade_profile = runner.script((_HERE / "account_upgrade.lua").read_text())
        self._journal = journal
        _dummy_hash()  # made once now, not in the first login of an unknown name

    async def create_guest(self) -> tuple[Account, str]:
        """A new guest account with the starting balance, and its session token."""
        user_id = secrets.token_hex(8)
        account = Account(user_id, f"guest-{user_id[:6]}", "guest", int(time.time() * 1000))
        await self._write_profile(account, password_hash=None)
        await self._credit_signup(account.id)
        return account, await self.open_session(account.id)

    async def register(self, username: str, password: str) -> tuple[Account, str]:
        """A new registered account (unique username, case-insensitive).

        The account is written first, unreachable; claiming the name is the
        commit point. A failure before it leaves the name free, and a lost race
        for the name removes the unreachable account.
        """
        _check_username(username)
        name = username.lower()
        if await self._redis.hexists(USERNAMES_KEY, name):
            raise _taken(username)
        password_hash = await asyncio.to_thread(hash_password, password)
        account = Account(secrets.token_hex(8), username, "registered", int(time.time() * 1000))
        await self._write_profile(account, password_hash)
        if not await self._redis.hsetnx(USERNAMES_KEY, name, account.id):
            await self._redis.delete(UserKeys(account.id).profile)
            raise _taken(username)
        await self._credit_signup(account.id)
        return account, await self.open_session(account.id)

    async def upgrade(
        self, signed_in: Account, token: str, username: str, password: str
    ) -> tuple[Account, str]:
        """Turn the guest `signed_in` with `token` into a registered account with the same id
        (balance and history stay), and replace its session: a new token, the old one ended.

        Claiming the name is the commit point, as in `register`; the profile then
        changes in one script that only a guest passes, so of two racing upgrades
        one wins and the other gives its name back.
        """
        if signed_in.kind != "guest":
            raise CroupierError(ErrorCode.FORBIDDEN, "this account is registered already")
        _check_username(username)
        name = username.lower()
        if await self._redis.hget(USERNAMES_KEY, name) not in (None, signed_in.id):
            raise _taken(username)
        password_hash = await asyncio.to_thread(hash_password, password)
        await self._redis.hsetnx(USERNAMES_KEY, name, signed_in.id)
        if await self._redis.hget(USERNAMES_KEY, name) != signed_in.id:
            raise _taken(username)
        keys = UserKeys(signed_in.id)
        if not await self._upgrade_profile(keys=[keys.profile], args=[username, password_hash]):
            if (await self._redis.hget(keys.profile, "name") or "").lower() != name:
                await self._redis.hdel(USERNAMES_KEY, name)
            raise CroupierError(ErrorCode.FORBIDDEN, "this account is registered already")
        account = await self.get(signed_in.id)
        assert account is not None
        new_token = await self.open_session(account.id)  # journals the registered account
        await self.logout(token)
        return account, new_token

    async def login(self, username: str, password: str) -> tuple[Account, str]:
        """A new session for a registered account; INVALID_CREDENTIALS otherwise.

        Every attempt on a name counts until one succeeds: past
        `login_failures_per_account` in the window, the name is RATE_LIMITED
        whatever the password. Known and unknown names cost the same work.
        """
        name = username.lower()
        attempts_key = f"croupier:login-failures:{name}"
        settings = self._settings
        if await self._count(attempts_key, settings.login_failure_window_s) > (
            settings.login_failures_per_account
        ):
            raise CroupierError(
                ErrorCode.RATE_LIMITED, "too many failed logins for this account; try later"
            )
        user_id = await self._redis.hget(USERNAMES_KEY, name)
        stored = await self._redis.hget(UserKeys(user_id or _NO_USER).profile, "password")
        matches = await asyncio.to_thread(verify_password, password, stored or _dummy_hash())
        if not (stored and matches):
            raise CroupierError(ErrorCode.INVALID_CREDENTIALS, "wrong username or password")
        await self._redis.delete(attempts_key)
        account = await self.get(user_id)
        assert account is not None
        return account, await self.open_session(account.id)

    async def open_session(self, user_id: str) -> str:
        """A fresh session token for a user (whose account is journaled if it was not)."""
        keys = UserKeys(user_id)
        if await self._journal_account(keys=[keys.profile, keys.journal]):
            self._journal.wrote(user_id)
        token = secrets.token_urlsafe(32)
        await self._redis.set(
            session_key(session_id(token)), user_id, ex=self._settings.session_ttl_s
        )
        return token

    async def logout(self, token: str) -> None:
        """End a session: forget it, and close its sockets on every instance."""
        sid = session_id(token)
        user_id = await self._redis.getdel(session_key(sid))
        if user_id:
            await publish_to_user(self._redis, UserKeys(user_id).events, revocation_message(sid))

    async def resolve(self, token: str | None) -> Account | None:
        """The account a session token belongs to, or None."""
        signed_in = await self.resolve_session(token)
        return signed_in[0] if signed_in else None

    async def resolve_session(self, token: str | None) -> tuple[Account, SessionRef] | None:
        """The account a session token belongs to and that session, or None."""
        if not token or len(token) > 256:
            return None
        sid = session_id(token)
        async with self._redis.pipeline(transaction=True) as pipe:
            user_id, ttl_ms = await pipe.get(session_key(sid)).pttl(session_key(sid)).execute()
        account = await self.get(user_id) if user_id else None
        if account is None:
            return None
        expires_at = time.time() + ttl_ms / 1000 if ttl_ms > 0 else float("inf")
        return account, SessionRef(sid, expires_at)

    async def get(self, user_id: str) -> Account | None:
        """An account by id."""
        profile = await self._redis.hgetall(UserKeys(user_id).profile)
        if not profile:
            return None
        return Account(profile["id"], profile["name"], profile["kind"], int(profile["created_at"]))

    async def check_login_rate(self, client: str) -> None:
        """RATE_LIMITED after too many login or register attempts from one client."""
        key = f"croupier:login-attempts:{client}"
        if await self._count(key, 60) > self._settings.login_attempts_per_minute:
            raise CroupierError(ErrorCode.RATE_LIMITED, "too many attempts, wait a minute")

    async def _count(self, key: str, window_s: int) -> int:
        """Add one to a counter that lives `window_s` from its first count; its new value."""
        async with self._redis.pipeline(transaction=True) as pipe:
            _, count = await pipe.set(key, 0, ex=window_s, nx=True).incr(key).execute()
        return int(count)

    async def _write_profile(self, account: Account, password_hash: str | None) -> None:
        profile = {
            "id": account.id,
            "name": account.name,
            "kind": account.kind,
            "created_at": str(account.created_at),
        }
        if password_hash is not None:
            profile["password"] = password_hash
        await self._redis.hset(UserKeys(account.id).profile, mapping=profile)

    async def _credit_signup(self, user_id: str) -> None:
        for currency, amount in self._settings.starting_balance.items():
            if amount > 0:
                await self._wallet.credit(
                    user_id, amount, currency, key=f"signup:{currency}", kind="deposit",
                    ref="signup",
                )  # fmt: skip


def _check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise CroupierError(
            ErrorCode.BAD_REQUEST, "username must be 3-20 of [A-Za-z0-9_]", "username"
        )


def _taken(username: str) -> CroupierError:
    return CroupierError(ErrorCode.USERNAME_TAKEN, f"username {username!r} is taken")
