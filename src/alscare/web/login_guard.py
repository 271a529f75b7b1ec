"""The login guard: failed logins are throttled by client, and password checks are rationed.

Release 1 locked an *account* after five failures, so anyone could lock anyone out, and only
real accounts answered 429, which told which usernames exist. The guard counts failures by
client address instead, in two counters, held in this process's memory:

* by (client address, username): ``ALSCARE_LOGIN_MAX_FAILURES`` failures (default 5) pause the
  logins of that username *from that address* for ``ALSCARE_LOGIN_LOCKOUT_MINUTES`` (15). The
  account's owner, at their own computer, is not affected by a stranger's guesses;
* by client address alone: ``ALSCARE_LOGIN_MAX_CLIENT_FAILURES`` failures (default 50), any
  usernames, pause every login from that address, so one client cannot try many names.

A failure counts in a window of the pause's length from the first failure counted; a success
clears the (address, username) counter. Unknown and known usernames are counted, refused and
timed alike: the same status, the same message, and the same argon2 work (a paused login does
none at all), so no answer tells whether an account exists.

A password check (argon2, some 50 ms of CPU and 64 MiB on purpose) runs only after the login
has its turn: ``ALSCARE_LOGIN_CONCURRENCY`` checks at once (default 1), the others waiting up to
``ALSCARE_LOGIN_WAIT_SECONDS`` (10) and then answered 429 with ``Retry-After``. The waiting
costs no worker thread, so logins from anonymous clients can take at most that much CPU and
never hold up the requests of people already logged in (who present a session, checked by one
SHA-256 and one query, never by argon2).

The counters live in one server process: with ``--workers N`` each worker counts on its own,
so the limits are N times higher. Behind a reverse proxy the client address is the proxy's,
unless uvicorn is told to trust its ``X-Forwarded-For`` (``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request

from alscare.settings import Settings
from alscare.storage.audit import AuditAction
from alscare.storage.database import Database
from alscare.storage.security import (
    AuthenticationError,
    Channel,
    LoginThrottledError,
    audit_login_event,
)

__all__ = ["MAX_TRACKED", "LoginGuard", "client_address"]

#: Counters kept at most; the least recently used are forgotten first.
MAX_TRACKED: Final = 100_000
_NAME_KEY: Final = 65  # longer usernames cannot exist: they share one counter per address
_BUSY_RETRY: Final = dt.timedelta(seconds=1)
_T = TypeVar("_T")


def client_address(request: Request) -> str:
    """The address the request came from (the proxy's, unless uvicorn trusts its headers)."""
    return request.client.host if request.client is not None else "unknown"


@dataclass
class _Counter:
    window_start: dt.datetime | None = None
    failures: int = 0
    paused_until: dt.datetime | None = None


class LoginGuard:
    """The failed-login counters and the password-check turns of one app."""

    def __init__(self, settings: Settings) -> None:
        self._max_pair = settings.login_max_failures
        self._max_client = settings.login_max_client_failures
        self._pause = dt.timedelta(minutes=settings.login_lockout_minutes)
        self._wait = settings.login_wait_seconds
        self._turns = anyio.Semaphore(settings.login_concurrency)
        self._lock = threading.Lock()
        self._counters: OrderedDict[tuple[str, str | None], _Counter] = OrderedDict()

    async def attempt(
        self,
        check: Callable[[], _T],
        database: Database,
        *,
        client: str,
        username: str,
        channel: Channel,
        now: dt.datetime | None = None,
    ) -> _T:
        """Run ``check`` (a password check that raises AuthenticationError when it fails) if
        this client may try this username now, in its turn, and count its failure.

        Raises LoginThrottledError when the client is paused or no turn came in time.
        """
        now = now or dt.datetime.now(dt.UTC)
        pair = (client, username[:_NAME_KEY])
        self._refuse_if_paused(pair, now)
        try:
            result = await self._in_turn(check, now)
        except LoginThrottledError:
            raise
        except AuthenticationError:
            paused = self._count_failure(pair, now)
            if paused is None:
                raise
            await anyio.to_thread.run_sync(
                lambda: audit_login_event(
                    database,
                    username,
                    channel,
                    AuditAction.LOGIN_THROTTLED,
                    detail=f"logins from {client} paused: {paused.args[0]}"[:200],
                    now=now,
                )
            )
            raise paused from None
        with self._lock:
            self._counters.pop(pair, None)
        return result

    async def _in_turn(self, check: Callable[[], _T], now: dt.datetime) -> _T:
        got_turn = False
        with anyio.move_on_after(self._wait):
            await self._turns.acquire()
            got_turn = True
        if not got_turn:
            raise LoginThrottledError(
                now + _BUSY_RETRY, "too many logins at once: try again in a moment"
            )
        try:
            return await anyio.to_thread.run_sync(check)
        finally:
            self._turns.release()

    def _refuse_if_paused(self, pair: tuple[str, str], now: dt.datetime) -> None:
        with self._lock:
            for key, what in (((pair[0], None), None), (pair, "this username")):
                counter = self._counters.get(key)
                if counter and counter.paused_until is not None and counter.paused_until > now:
                    raise self._paused(counter.paused_until, what)

    def _count_failure(self, pair: tuple[str, str], now: dt.datetime) -> LoginThrottledError | None:
        """Count a failure of the pair and of its client; the pause it started, if any."""
        with self._lock:
            paused_client = self._counted((pair[0], None), self._max_client, now)
            paused_pair = self._counted(pair, self._max_pair, now)
        if paused_client is not None:
            return self._paused(paused_client, None)
        if paused_pair is not None:
            return self._paused(paused_pair, "this username")
        return None

    def _counted(
        self, key: tuple[str, str | None], limit: int, now: dt.datetime
    ) -> dt.datetime | None:
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = _Counter()
            if len(self._counters) > MAX_TRACKED:
                self._counters.popitem(last=False)
        self._counters.move_to_end(key)
        if counter.window_start is None or now - counter.window_start >= self._pause:
            counter.window_start, counter.failures = now, 0
        counter.failures += 1
        if counter.failures < limit:
            return None
        counter.window_start, counter.failures = None, 0
        counter.paused_until = now + self._pause
        return counter.paused_until

    @staticmethod
    def _paused(until: dt.datetime, what: str | None) -> LoginThrottledError:
        whose = f"for {what} " if what else ""
        return LoginThrottledError(
            until,
            f"logins {whose}from your address are locked after too many failed logins: "
            f"try again after {until:%H:%M} UTC",
        )
