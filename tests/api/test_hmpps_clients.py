"""The CVL and HMPPS Auth clients against real HTTP servers on loopback: the token kept until
shortly before it expires, a 5xx or 429 tried again within the call, and where a detailUrl may
lead."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate

import httpx
import pytest

from app.services.errors import Invalid
from app.services.hmpps import cvl
from tests.support import hmpps as published
from tests.support.hmpps_servers import CLIENT_ID, CLIENT_SECRET, Hmpps, hmpps_servers


@pytest.fixture(scope="module")
def hmpps() -> Iterator[Hmpps]:
    with hmpps_servers() as state:
        state.licences["1"] = published.cvl_licence("1", "X123456", "A1234BC")
        yield state


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _reads(hmpps: Hmpps, clock: Clock, steps: list[float]) -> None:
    async with httpx.AsyncClient(timeout=cvl.TIMEOUT) as http:
        tokens = cvl.Tokens(http, hmpps.auth_url, CLIENT_ID, CLIENT_SECRET, clock)
        client = cvl.Cvl(http, hmpps.cvl_url, tokens)
        for step in steps:
            clock.now += step
            licence = await client.licence("1", None)
            assert licence["id"] == 1


def test_a_token_is_kept_until_a_minute_before_it_expires(hmpps: Hmpps) -> None:
    hmpps.issued.clear()
    hmpps.expires_in = 1200
    # Read at once, 19 minutes later (1140 s: the last second it is kept), then one second more.
    asyncio.run(_reads(hmpps, Clock(), [0, 1139, 1]))
    assert hmpps.issued == ["token-1", "token-2"]


def test_a_short_lived_token_is_kept_for_half_its_life(hmpps: Hmpps) -> None:
    hmpps.issued.clear()
    hmpps.expires_in = 60
    asyncio.run(_reads(hmpps, Clock(), [0, 29, 1]))
    assert hmpps.issued == ["token-1", "token-2"]
    hmpps.expires_in = 1200


def test_a_5xx_is_tried_again_within_the_call(hmpps: Hmpps) -> None:
    hmpps.failures = cvl.TRIES - 1
    asyncio.run(_reads(hmpps, Clock(), [0]))
    assert hmpps.failures == 0


def test_cvl_failing_every_try_is_unavailable(hmpps: Hmpps) -> None:
    hmpps.failures = cvl.TRIES
    with pytest.raises(cvl.Unavailable, match="HTTP 503"):
        asyncio.run(_reads(hmpps, Clock(), [0]))
    assert hmpps.failures == 0


def test_a_server_that_is_not_there_is_unavailable() -> None:
    async def read() -> None:
        async with httpx.AsyncClient(timeout=cvl.TIMEOUT) as http:
            tokens = cvl.Tokens(http, "http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET)
            await cvl.Cvl(http, "http://127.0.0.1:9/cvl", tokens).licence("1", None)

    with pytest.raises(cvl.Unavailable, match="HMPPS Auth could not be reached"):
        asyncio.run(read())


def test_a_cvl_that_does_not_answer_in_time_is_unavailable(hmpps: Hmpps) -> None:
    async def read() -> None:
        async with httpx.AsyncClient(timeout=0.2) as http:
            tokens = cvl.Tokens(http, hmpps.auth_url, CLIENT_ID, CLIENT_SECRET)
            await cvl.Cvl(http, hmpps.cvl_url, tokens).licence("1", None)

    hmpps.hold = threading.Event()
    try:
        with pytest.raises(cvl.Unavailable, match="ReadTimeout"):
            asyncio.run(read())
    finally:
        hmpps.hold.set()
        hmpps.hold = None


def _http_date(seconds_from_now: float) -> str:
    return formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize("retry_after", [None, "0", "1", "a date just past"])
def test_a_429_is_tried_again_within_the_call(hmpps: Hmpps, retry_after: str | None) -> None:
    given = _http_date(-5) if retry_after == "a date just past" else retry_after
    hmpps.throttled, hmpps.retry_after = cvl.TRIES - 1, given
    started = time.monotonic()
    try:
        asyncio.run(_reads(hmpps, Clock(), [0]))
    finally:
        hmpps.retry_after = None
    assert hmpps.throttled == 0
    if retry_after == "1":
        assert time.monotonic() - started >= 2.0  # waited as long as asked, twice


@pytest.mark.parametrize("retry_after", ["120", "a date ten minutes on"])
def test_a_429_asking_for_a_long_wait_is_unavailable_at_once(
    hmpps: Hmpps, retry_after: str
) -> None:
    given = _http_date(600) if retry_after == "a date ten minutes on" else retry_after
    hmpps.throttled, hmpps.retry_after = cvl.TRIES, given
    try:
        with pytest.raises(cvl.Unavailable, match="HTTP 429"):
            asyncio.run(_reads(hmpps, Clock(), [0]))
        # Asked once, not again: the domain event waits pending for the worker's retries.
        assert hmpps.throttled == cvl.TRIES - 1
    finally:
        hmpps.throttled, hmpps.retry_after = 0, None


BASE = "https://cvl.example.org/api"


def _cvl() -> cvl.Cvl:
    """A client of CVL at BASE, for where it reads (it sends nothing)."""
    http = httpx.AsyncClient()
    return cvl.Cvl(http, BASE, cvl.Tokens(http, None, None, None))


@pytest.mark.parametrize(
    "detail_url",
    [
        f"{BASE}/public/licences/id/1",
        f"{BASE}/public/licences/id/1?view=full",
        f"{BASE}/public/licences/./id/1",
    ],
)
def test_a_detail_url_under_cvl_is_read(detail_url: str) -> None:
    assert _cvl().url_of("1", detail_url) == detail_url


@pytest.mark.parametrize(
    "detail_url",
    [
        f"{BASE}/../auth/oauth/token",
        f"{BASE}/%2e%2e/auth",
        f"{BASE}/%2E%2E/auth",
        f"{BASE}/.%2e/auth",
        f"{BASE}/public/..%2f..%2f..%2fauth",
        f"{BASE}/public/..%5c..%5cauth",
        f"{BASE}/public\\..\\..\\auth",
        f"{BASE}/%252e%252e/auth",
        f"{BASE}/%25252525252e%25252525252e/auth",
        "https://cvl.example.org/apix/public/licences/id/1",
        "https://cvl.example.org/elsewhere/%2e%2e/api/public/licences/id/1",
        "http://cvl.example.org/api/public/licences/id/1",
        "https://user@cvl.example.org/api/public/licences/id/1",
        f"{BASE}/public/licences/id/1#fragment",
    ],
)
def test_a_detail_url_outside_cvl_is_refused(detail_url: str) -> None:
    with pytest.raises(Invalid, match="not under JOINUP_CVL_URL"):
        _cvl().url_of("1", detail_url)
