"""Reading licences from Create and Vary a Licence (CVL) with an HMPPS Auth token.

The token comes from HMPPS Auth's client-credentials grant and is kept until shortly before it
expires; a 401 from CVL drops it and the request is tried once more with a new one. A request
that gets no answer, times out, or gets a 5xx or a 429 is tried again a few times within the
call (after the answer's Retry-After, when that is short); if CVL or Auth still cannot be
reached, or asks for a longer wait, `Unavailable` is raised and the caller keeps the domain event
pending for a later retry.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, Final
from urllib.parse import quote, unquote, urlsplit

import httpx

from app.services.errors import Invalid, ServiceError

# Seconds before its expiry that a token is no longer used.
TOKEN_MARGIN: Final = 60.0
TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
# Tries of one request within a call, and the pause after the first failure (doubling).
TRIES: Final = 3
PAUSE: Final = 0.25
# The longest Retry-After (seconds) waited for within a call; a longer one leaves the domain
# event pending, for the worker's own, growing delays.
LONGEST_RETRY_AFTER: Final = 2.0
# Answers tried again: the upstream is away (5xx) or asks for fewer requests (429).
TOO_MANY_REQUESTS: Final = 429


class Unavailable(Exception):
    """CVL or HMPPS Auth could not be reached: no answer, a timeout, a 5xx or a 429."""


class Refused(ServiceError):
    """CVL or HMPPS Auth answered, but not with what was asked for (a 4xx)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, slug="upstream-refused", title="Upstream refused")


async def _send(client: httpx.AsyncClient, request: Callable[[], Any], what: str) -> httpx.Response:
    """The answer to a request, tried again while it gets none, a 5xx or a 429."""
    pause = PAUSE
    for attempt in range(TRIES):
        wait: float | None = pause
        try:
            answer: httpx.Response = await request()
        except httpx.HTTPError as error:
            failure = f"{what} could not be reached: {type(error).__name__}"
        else:
            if answer.status_code < 500 and answer.status_code != TOO_MANY_REQUESTS:
                return answer
            failure = f"{what} answered HTTP {answer.status_code}"
            wait = _retry_after(answer.headers.get("retry-after"), pause)
        if wait is None or attempt + 1 == TRIES:
            break
        await asyncio.sleep(wait)
        pause *= 2
    raise Unavailable(failure)


def _retry_after(value: str | None, pause: float) -> float | None:
    """How long to wait before trying again: the Retry-After (seconds or an HTTP date) if there
    is one, else `pause`; None when it asks for longer than a call waits."""
    if value is None:
        return pause
    value = value.strip()
    try:
        seconds = float(value) if value.isdigit() else _until(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return pause
    return max(seconds, 0.0) if seconds <= LONGEST_RETRY_AFTER else None


def _until(moment: datetime) -> float:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


class Tokens:
    """HMPPS Auth access tokens (client credentials), each kept until shortly before it expires."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        auth_url: str | None,
        client_id: str | None,
        client_secret: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._url = f"{auth_url.rstrip('/')}/oauth/token" if auth_url else None
        self._credentials = (client_id or "", client_secret or "")
        self._clock = clock
        self._token: str | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or self._clock() >= self._until:
                self._token, lifetime = await self._fetch()
                self._until = self._clock() + max(lifetime - TOKEN_MARGIN, lifetime / 2)
            return self._token

    def drop(self, token: str) -> None:
        """Forget a token CVL refused (unless a newer one has replaced it meanwhile)."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[str, float]:
        if self._url is None:
            raise Unavailable("JOINUP_HMPPS_AUTH_URL is not set")
        answer = await _send(
            self._client,
            partial(
                self._client.post,
                self._url,
                params={"grant_type": "client_credentials"},
                auth=self._credentials,
            ),
            "HMPPS Auth",
        )
        if answer.status_code != 200:
            raise Refused(f"HMPPS Auth refused the client credentials: HTTP {answer.status_code}")
        try:
            body = answer.json()
            return str(body["access_token"]), float(body.get("expires_in", 300))
        except (ValueError, KeyError, TypeError):
            raise Refused("HMPPS Auth answered without an access_token") from None


class Cvl:
    """Licences from CVL's API at `base_url` (JOINUP_CVL_URL)."""

    def __init__(self, client: httpx.AsyncClient, base_url: str | None, tokens: Tokens) -> None:
        self._client = client
        self._base = base_url.rstrip("/") if base_url else None
        self._tokens = tokens

    def url_of(self, licence_id: str, detail_url: str | None) -> str:
        """Where the licence is read: its detailUrl, which must lie under JOINUP_CVL_URL."""
        if self._base is None:
            raise Unavailable("JOINUP_CVL_URL is not set")
        if detail_url is None:
            return f"{self._base}/public/licences/id/{quote(licence_id, safe='')}"
        base, given = urlsplit(self._base + "/"), urlsplit(detail_url)
        # As a server or proxy on the way may read the path: percent-decoded (%2e%2e is ..).
        path = _decoded(given.path)
        inside = (
            (given.scheme, given.netloc) == (base.scheme, base.netloc)
            and path is not None
            and path.startswith(base.path)
            and ".." not in _SEGMENT_BREAK.split(path)
            and not given.fragment
        )
        if not inside:
            raise Invalid(f"detailUrl {detail_url!r} is not under JOINUP_CVL_URL")
        return detail_url

    async def licence(self, licence_id: str, detail_url: str | None) -> Any:
        """The licence as CVL answers it (JSON)."""
        url = self.url_of(licence_id, detail_url)
        for _ in range(2):
            token = await self._tokens.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            answer = await _send(
                self._client, partial(self._client.get, url, headers=headers), "CVL"
            )
            if answer.status_code != 401:
                break
            self._tokens.drop(token)
        if answer.status_code != 200:
            raise Refused(f"CVL answered HTTP {answer.status_code} for licence {licence_id}")
        try:
            return answer.json()
        except ValueError:
            raise Refused(f"CVL's answer for licence {licence_id} is not JSON") from None


# What a server may take for the end of a path segment: / and, on some, a backslash.
_SEGMENT_BREAK: Final = re.compile(r"[/\\]")


def _decoded(path: str, rounds: int = 3) -> str | None:
    """The path percent-decoded until nothing changes (an encoded %2e is decoded too); None
    if it still changes after `rounds`."""
    for _ in range(rounds):
        decoded = unquote(path)
        if decoded == path:
            return path
        path = decoded
    return None
