"""Group commit (app/tuning/groups.py). One-event posts that arrive together share a transaction
(app/services/ingest/group_commit.py), and each is answered, stored and audited as if it had
been posted alone, in the order it arrived. Reads that end together store their audit rows in
one insert (app/db/audit.Trail), each before the read ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from app.db import Connection
from app.db.audit import Trail
from app.db.engine import Database, sync_url
from app.domain.rules import Rules
from app.services import audit, ingest
from app.services.ingest import submissions
from app.services.ingest.group_commit import GroupCommit
from app.services.ingest.submissions import Submission
from app.services.principal import Principal
from tests.support.envelopes import crn, nomis, pnc
from tests.support.expected import reset, stored_and_fresh

TODAY = date(2026, 11, 26)
ORG = "PROVIDER-WIGAN"
Posts = Sequence[tuple[Principal, Submission]]


def _who(n: int) -> Principal:
    return Principal(f"key-{n % 2}", ORG, frozenset({"submitter"}), request_id=f"request-{n}")


def _referral(event_id: str, person: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "community.referral.received",
        "occurred_on": "2026-03-03",
        "person": person,
        "data": {"provider": ORG},
        **extra,
    }


def _release(event_id: str, person: dict[str, str], on: str = "2026-03-02") -> dict[str, Any]:
    data = {"prison": "MDI", "release_type": "conditional_release"}
    return {
        "event_id": event_id,
        "type": "prison.released",
        "occurred_on": on,
        "person": person,
        "data": data,
    }


P1 = {"nomis": nomis(1)}
P2 = {"pnc": pnc(2)}
# Every way a one-event post can end, some decided by a post earlier in the same group.
MIXED = [
    _release("rel-1", P1),  # accepted: a new person
    _release("rel-1", P1),  # duplicate of the post before
    _release("rel-1", P1, on="2026-03-05"),  # event-id-conflict with it
    _release("rel-1-fix", P1, on="2026-03-04") | {"corrects": "rel-1"},  # accepted
    _release("rel-1-fix-2", P1) | {"corrects": "rel-1"},  # already-corrected
    _referral("ref-1", P1 | {"crn": crn(1)}),  # accepted: the crn joins P1
    _referral("ref-2", P2),  # accepted: another new person
    _referral("ref-3", {"crn": crn(1)} | P2),  # identity-conflict: two people
    _referral("ref-4", {"crn": crn(1)}) | {"corrects": "rel-1-fix"},  # type mismatch
    {"event_id": "bad-1", "type": "no.such.type"},  # validation-error
    _referral("ref-5", {"crn": crn(1)}),  # accepted: found by the crn ref-1 gave P1
]
STATUSES = [
    ("accepted", None),
    ("duplicate", None),
    ("rejected", "event-id-conflict"),
    ("accepted", None),
    ("rejected", "already-corrected"),
    ("accepted", None),
    ("accepted", None),
    ("rejected", "identity-conflict"),
    ("rejected", "correction-type-mismatch"),
    ("rejected", "validation-error"),
    ("accepted", None),
]


def _posts(bodies: list[dict[str, Any]]) -> list[tuple[Principal, Submission]]:
    return [(_who(n), submissions.parse(body, 0, TODAY)) for n, body in enumerate(bodies)]


def _run(
    database_url: str,
    use: Callable[[GroupCommit], Awaitable[Any]],
    most: int = 100,
    store: Callable[..., Awaitable[list[ingest.Outcome]]] = ingest.ingest_each,
) -> Any:
    async def session() -> Any:
        db = Database(database_url)
        try:
            return await use(GroupCommit(db, Rules(), most, store))
        finally:
            await db.dispose()

    return asyncio.run(session())


def _together(
    database_url: str, bodies: list[dict[str, Any]], **options: Any
) -> list[ingest.Outcome]:
    """Post every body at once: each is queued before the first transaction starts."""

    async def use(group: GroupCommit) -> list[ingest.Outcome]:
        return list(await asyncio.gather(*(group.post(who, item) for who, item in _posts(bodies))))

    result: list[ingest.Outcome] = _run(database_url, use, **options)
    return result


def _one_by_one(database_url: str, bodies: list[dict[str, Any]]) -> list[ingest.Outcome]:
    async def use(group: GroupCommit) -> list[ingest.Outcome]:
        return [await group.post(who, item) for who, item in _posts(bodies)]

    result: list[ingest.Outcome] = _run(database_url, use)
    return result


def _answers(outcomes: list[ingest.Outcome]) -> list[tuple[str, str | None]]:
    results = [outcome.results[0] for outcome in outcomes]
    return [(r.status, r.problem.slug if r.problem else None) for r in results]


def _people(outcomes: list[ingest.Outcome]) -> list[int | None]:
    """Which posts were about the same person, without the person ids themselves."""
    seen: dict[str, int] = {}
    ids = [outcome.results[0].person_id for outcome in outcomes]
    return [seen.setdefault(pid, len(seen)) if pid else None for pid in ids]


def _query(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def test_posts_that_arrive_together_are_answered_as_if_posted_one_by_one(
    database_url: str,
) -> None:
    together = _together(database_url, MIXED)
    assert _answers(together) == STATUSES
    stored, fresh = stored_and_fresh(database_url)
    assert stored == fresh
    stored_events = _query(database_url, "SELECT event_id FROM event ORDER BY event_id")

    reset(database_url)
    alone = _one_by_one(database_url, MIXED)
    assert _answers(alone) == STATUSES
    assert _people(together) == _people(alone)
    assert _query(database_url, "SELECT event_id FROM event ORDER BY event_id") == stored_events


def test_each_post_of_a_group_has_its_own_audit_row(database_url: str) -> None:
    _together(database_url, MIXED)
    rows = _query(database_url, "SELECT request_id, key_id, outcome FROM audit ORDER BY id")
    want = [
        (f"request-{n}", f"key-{n % 2}", "refused" if status == "rejected" else "stored")
        for n, (status, _) in enumerate(STATUSES)
    ]
    assert sorted(rows) == sorted(want)


def test_a_group_holds_at_most_the_configured_number_of_posts(database_url: str) -> None:
    sizes: list[int] = []

    async def counted(conn: Connection, posts: Posts, rules: Rules) -> list[ingest.Outcome]:
        sizes.append(len(posts))
        return await ingest.ingest_each(conn, posts, rules)

    bodies = [_referral(f"ref-{n}", P1) for n in range(5)]
    outcomes = _together(database_url, bodies, most=2, store=counted)
    assert sizes == [2, 2, 1]
    assert [status for status, _ in _answers(outcomes)] == ["accepted"] * 5


def test_a_post_that_fails_its_group_fails_alone(database_url: str) -> None:
    class Broken(Exception):
        pass

    async def failing(conn: Connection, posts: Posts, rules: Rules) -> list[ingest.Outcome]:
        outcomes = await ingest.ingest_each(conn, posts, rules)
        if any(item.event_id == "ref-2" for _, item in posts):
            raise Broken("the database refused this transaction")
        return outcomes

    bodies = [_referral(f"ref-{n}", P1) for n in range(5)]

    async def use(group: GroupCommit) -> list[Any]:
        posted = (group.post(who, item) for who, item in _posts(bodies))
        return list(await asyncio.gather(*posted, return_exceptions=True))

    answers = _run(database_url, use, store=failing)
    assert isinstance(answers[2], Broken)
    assert [a.results[0].status for n, a in enumerate(answers) if n != 2] == ["accepted"] * 4
    stored = _query(database_url, "SELECT event_id FROM event ORDER BY event_id")
    assert [row.event_id for row in stored] == ["ref-0", "ref-1", "ref-3", "ref-4"]


def test_a_post_whose_request_went_away_before_its_turn_is_not_stored(database_url: str) -> None:
    bodies = [_referral(f"ref-{n}", P1) for n in range(3)]

    async def use(group: GroupCommit) -> list[Any]:
        tasks = [asyncio.create_task(group.post(who, item)) for who, item in _posts(bodies)]
        await asyncio.sleep(0)  # every post is queued; the committer has not started
        tasks[1].cancel()
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    answers = _run(database_url, use)
    assert isinstance(answers[1], asyncio.CancelledError)
    stored = _query(database_url, "SELECT event_id FROM event ORDER BY event_id")
    assert [row.event_id for row in stored] == ["ref-0", "ref-2"]


@pytest.mark.parametrize(("most", "sizes"), [(1, [1] * 6), (100, [3, 3])])
def test_posts_that_come_while_a_group_commits_form_the_next_group(
    database_url: str, most: int, sizes: list[int]
) -> None:
    seen: list[int] = []

    async def counted(conn: Connection, posts: Posts, rules: Rules) -> list[ingest.Outcome]:
        seen.append(len(posts))
        return await ingest.ingest_each(conn, posts, rules)

    async def use(group: GroupCommit) -> list[ingest.Outcome]:
        posts = _posts([_referral(f"ref-{n}", P1) for n in range(6)])
        first = [asyncio.create_task(group.post(who, item)) for who, item in posts[:3]]
        await asyncio.sleep(0.01)  # the first group has been taken from the queue
        later = [asyncio.create_task(group.post(who, item)) for who, item in posts[3:]]
        return list(await asyncio.gather(*first, *later))

    outcomes = _run(database_url, use, most=most, store=counted)
    assert seen == sizes
    assert [status for status, _ in _answers(outcomes)] == ["accepted"] * 6
    assert len(set(_people(outcomes))) == 1


def test_reads_that_end_together_store_each_audit_row_before_they_end(database_url: str) -> None:
    class Refused(Exception):
        pass

    def stored(request_id: str) -> list[Any]:
        sql = f"SELECT key_id, action, detail FROM audit WHERE request_id = '{request_id}'"
        rows = _query(database_url, sql)
        return [(key, what, json.loads(d) if isinstance(d, str) else d) for key, what, d in rows]

    async def read(trail: Trail, n: int) -> list[Any]:
        who = _who(n)
        try:
            async with trail.reading() as conn:
                details = {"n": n, "shown": [f"person-{n}"]}
                await audit.record(
                    conn, who, audit.READ_PERSON, subject_type=audit.PERSON, details=details
                )
                await asyncio.sleep(0)  # the other reads get this far too
                if n % 3 == 0:
                    raise Refused(who.request_id)  # a refusal is recorded as well
        except Refused:
            pass
        assert who.request_id is not None
        return await asyncio.to_thread(stored, who.request_id)

    async def session() -> list[list[Any]]:
        db = Database(database_url)
        try:
            trail = Trail(db, most=100)
            return list(await asyncio.gather(*(read(trail, n) for n in range(8))))
        finally:
            await db.dispose()

    want = [[(f"key-{n % 2}", "READ_PERSON", {"n": n, "shown": [f"person-{n}"]})] for n in range(8)]
    assert asyncio.run(session()) == want
