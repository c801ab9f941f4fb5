"""Queries on stored events."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Row,
    Select,
    and_,
    bindparam,
    func,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.bulk import insert_rows
from app.db.histories import counting
from app.db.sets import one_of, per_dialect
from app.db.tables import EventRow, table
from app.domain.vocabulary import EventType
from app.tuning import EVENTS_PER_READ

event = table(EventRow)


# What deciding a post needs of a stored event: not its data, whose JSON would be decoded for
# every event of a re-posted batch (its few identifiers are: a correction takes them away).
_DECIDING = (
    event.c.seq,
    event.c.event_id,
    event.c.type,
    event.c.content_hash,
    event.c.person_id,
    event.c.root_event_id,
    event.c.corrects,
    event.c.person,
    event.c.superseded_by,
    event.c.retracted_at,
)


@per_dialect
def _find(dialect: str) -> CompoundSelect[Any]:
    # Two lookups, one on each unique index, rather than one OR: PostgreSQL plans the OR as a
    # scan of every event of the organisation unless its statistics are fresh.
    org = event.c.org == bindparam("org")
    return union_all(
        select(*_DECIDING).where(org, one_of(dialect, event.c.event_id, "ids")),
        select(*_DECIDING).where(org, one_of(dialect, event.c.corrects, "ids")),
    )


async def find(conn: AsyncConnection, org: str, event_ids: Collection[str]) -> list[Row[Any]]:
    """The stored events of `org` named by `event_ids`, and those that correct one of them
    (`seq`, `event_id`, `type`, `content_hash`, `person_id`, `root_event_id`, `corrects`,
    `person`, `superseded_by`, `retracted_at`)."""
    if not event_ids:
        return []
    found = await conn.execute(_find(conn.dialect.name), {"org": org, "ids": list(event_ids)})
    # An event named and correcting a named one comes back from both halves.
    return list({row.seq: row for row in found.all()}.values())


async def get(conn: AsyncConnection, org: str, event_id: str) -> Row[Any] | None:
    query = select(event).where(event.c.org == org, event.c.event_id == event_id)
    return (await conn.execute(query)).first()


async def insert_many(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await insert_rows(conn, event, rows)


async def mark_superseded(conn: AsyncConnection, org: str, superseded: Mapping[str, str]) -> None:
    """Mark each stored event `old` of `org` as replaced by the event `superseded[old]`."""
    for old, new in superseded.items():
        await conn.execute(
            update(event)
            .where(event.c.org == org, event.c.event_id == old)
            .values(superseded_by=new)
        )


def _in_chains(roots: Any) -> Any:
    """Stored events of an organisation in the correction chains that start at `roots`.

    An event that corrects nothing starts a chain of its own, so it is never in one that starts
    at another event: asking for corrections alone costs nothing, and lets the small index of
    corrections (`ix_event_correction_root`) answer rather than every event of the organisation.
    """
    # Not named "org": an UPDATE keeps a column's name for the value it sets.
    return and_(event.c.org == bindparam("organisation"), event.c.corrects.is_not(None), roots)


@per_dialect
def _people_of_chains(dialect: str) -> Select[Any]:
    return select(event.c.person_id).where(
        _in_chains(one_of(dialect, event.c.root_event_id, "roots"))
    )


async def people_of_chains(conn: AsyncConnection, org: str, roots: Collection[str]) -> set[str]:
    """The people with stored events in the correction chains that start at `roots`."""
    if not roots:
        return set()
    query = _people_of_chains(conn.dialect.name)
    found = await conn.execute(query, {"organisation": org, "roots": list(roots)})
    return set(found.scalars())


_MOVE_LINEAGE = (
    update(event)
    .where(_in_chains(event.c.root_event_id == bindparam("old")))
    .values(root_event_id=bindparam("new"))
)


async def move_lineage(conn: AsyncConnection, org: str, moves: Mapping[str, str]) -> None:
    """Events whose chain root was `old` now trace back to `moves[old]` (a late arrival)."""
    if moves:
        each = [{"organisation": org, "old": old, "new": new} for old, new in moves.items()]
        await conn.execute(_MOVE_LINEAGE, each)


async def retract(
    conn: AsyncConnection, org: str, event_id: str, at: datetime, reason: str
) -> None:
    await conn.execute(
        update(event)
        .where(event.c.org == org, event.c.event_id == event_id, event.c.retracted_at.is_(None))
        .values(retracted_at=at, retraction_reason=reason)
    )


@per_dialect
def _carrying(dialect: str) -> Select[Any]:
    return select(
        event.c.seq, event.c.org, event.c.event_id, event.c.person_id, event.c.person
    ).where(one_of(dialect, event.c.person_id, "ids"), counting())


async def carrying(conn: AsyncConnection, person_ids: Collection[str]) -> list[Row[Any]]:
    """The identifiers each counting event of these people carries (`seq`, `org`, `event_id`,
    `person_id`, `person`)."""
    if not person_ids:
        return []
    found = await conn.execute(_carrying(conn.dialect.name), {"ids": list(person_ids)})
    return list(found.all())


_MOVE = update(event).where(event.c.seq == bindparam("moved")).values(person_id=bindparam("to"))


async def move_to(conn: AsyncConnection, moves: Mapping[int, str]) -> None:
    """Each event (by `seq`) now belongs to the person `moves[seq]`."""
    if moves:
        await conn.execute(_MOVE, [{"moved": seq, "to": p} for seq, p in moves.items()])


async def timeline(
    conn: AsyncConnection, person_id: str, as_of: date | None = None
) -> list[Row[Any]]:
    """A person's counting events, oldest first (then in the order they were received)."""
    query = select(event).where(event.c.person_id == person_id, counting())
    if as_of is not None:
        query = query.where(event.c.occurred_on <= as_of)
    return list((await conn.execute(query.order_by(event.c.occurred_on, event.c.seq))).all())


async def of_person(conn: AsyncConnection, person_id: str) -> list[Row[Any]]:
    """Every stored event of a person, counting or not, oldest first (then as received).

    Read a page at a time: turning a long history's rows into values is long enough work to
    hold other requests up if done in one go."""
    rows: list[Row[Any]] = []
    last = 0
    while True:
        query = select(event).where(event.c.person_id == person_id, event.c.seq > last)
        page = (await conn.execute(query.order_by(event.c.seq).limit(EVENTS_PER_READ))).all()
        rows += page
        if len(page) < EVENTS_PER_READ:
            return sorted(rows, key=lambda row: (row.occurred_on, row.seq))
        last = page[-1].seq


async def treatment_starts(conn: AsyncConnection, person_id: str) -> Sequence[Any]:
    """The person's counting `community.treatment.started` events (`occurred_on`, `data`)."""
    query = select(event.c.occurred_on, event.c.data).where(
        event.c.person_id == person_id,
        event.c.type == EventType.COMMUNITY_TREATMENT_STARTED,
        counting(),
    )
    return (await conn.execute(query)).all()


@per_dialect
def _described(dialect: str) -> Select[Any]:
    return select(event.c.person_id, event.c.type, event.c.occurred_on, event.c.data).where(
        event.c.org == bindparam("org"), one_of(dialect, event.c.event_id, "ids")
    )


async def described(conn: AsyncConnection, org: str, event_ids: Collection[str]) -> list[Row[Any]]:
    """`person_id`, `type`, `occurred_on` and `data` of these stored events of `org`."""
    if not event_ids:
        return []
    params = {"org": org, "ids": sorted(event_ids)}
    return list((await conn.execute(_described(conn.dialect.name), params)).all())


@per_dialect
def _counted(dialect: str) -> Select[Any]:
    chosen = one_of(dialect, event.c.person_id, "ids")
    query = select(event.c.person_id, func.count().label("n")).where(chosen, counting())
    return query.group_by(event.c.person_id)


async def counts(conn: AsyncConnection, person_ids: Collection[str]) -> dict[str, int]:
    """How many counting events each of these people has (those with none left out)."""
    if not person_ids:
        return {}
    found = await conn.execute(_counted(conn.dialect.name), {"ids": list(person_ids)})
    return {person_id: n for person_id, n in found}


async def posted(
    conn: AsyncConnection,
    org: str,
    after: int,
    limit: int,
    since: datetime | None = None,
    type_: str | None = None,
) -> list[Row[Any]]:
    """The events `org` posted, in the order they were received, from the one after `seq`
    `after`; only those received at or after `since`, and of `type_`, when given."""
    query = select(event).where(event.c.org == org, event.c.seq > after)
    if since is not None:
        query = query.where(event.c.received_at >= since)
    if type_ is not None:
        query = query.where(event.c.type == type_)
    return list((await conn.execute(query.order_by(event.c.seq).limit(limit))).all())
