"""The CVL and HMPPS Auth clients against real HTTP servers on loopback: the token kept until
shortly before it expires, a 5xx tried again within the call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

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
