"""stored identifiers and places in the one form the service now writes

Revision ID: 0120
Revises: 0080
Create Date: 2026-12-07

CONTRACT §3.1 (2026-12-07): a PNC is compared and shown in its long form `YYYY/NNNNNNNC`;
`local_authority` is an ONS code, upper-cased; `probation_region` is one of the twelve regions in
the contract's spelling; `prison` is upper-cased. Events, filters, scopes and lookups are now
normalised so (app/domain/identifiers.py). This brings what was stored before to the same forms:

- every PNC an event carries, and every stored PNC identifier, to its long form (two-digit
  years by the contract's rule, as of the year the migration runs);
- people split only by the spelling of their PNC (`12/52834K` and `2012/0052834K`) are merged
  into the one made first: the others' events, identifiers, release records, changes and the
  audit rows about them move to it, and they are deleted. Two people who also hold different
  values of another scheme are not one person by that alone: they are left apart, the PNC
  staying with the one made first, and a warning names them;
- `prison`, `local_authority` and `probation_region` in stored events, release records,
  changes, key scopes and subscription filters. A value no rule can read (a local authority
  given by name, an unknown region) is left as it was, and a warning counts them;
- the content hash of each event it changes, so that posting the same event again is still a
  duplicate.

The merged people's records are marked out of date (their stored record is cleared); `joinup
migrate`, which `scripts/serve` runs, re-derives them from their events once the upgrade is done
(until then a read derives them from their events). Nothing is undone by a downgrade.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0120"
down_revision: str | None = "0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# The contract's forms, as of this revision (a static copy: migrations never import the app).
_PNC = re.compile(r"(?P<year>[0-9]{2}|[0-9]{4})/(?P<serial>[0-9]{1,26})(?P<check>[A-Z])")
_ONS = re.compile(r"[EWSN][0-9]{8}")
_PRISON = re.compile(r"[A-Z]{3}")
REGIONS = (
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "Greater Manchester",
    "East Midlands",
    "West Midlands",
    "East of England",
    "Kent, Surrey and Sussex",
    "London",
    "South West",
    "South Central",
    "Wales",
)
SCHEMES = ("nomis", "crn", "nhs", "pnc")
CHUNK = 2000


def long_pnc(value: str, this_year: int) -> str:
    match = _PNC.fullmatch(value)
    if match is None:
        return value
    year, serial = match["year"], match["serial"].lstrip("0").zfill(7)
    if len(year) == 2:
        century = this_year // 100 * 100
        year = str(
            century + int(year) if int(year) <= this_year % 100 else century - 100 + int(year)
        )
    return f"{year}/{serial}{match['check']}"


def _region_key(value: str) -> str:
    words = re.findall(r"[a-z0-9]+", value.lower().replace("&", " and "))
    return "".join(word for word in words if word != "and")


_REGION_OF = {_region_key(region): region for region in REGIONS}


def _code(pattern: re.Pattern[str]) -> Callable[[str], str | None]:
    def normalised(value: str) -> str | None:
        upper = value.strip().upper()
        return upper if pattern.fullmatch(upper) else None

    return normalised


PLACES: dict[str, Callable[[str], str | None]] = {
    "prison": _code(_PRISON),
    "local_authority": _code(_ONS),
    "probation_region": lambda value: _REGION_OF.get(_region_key(value)),
}
SCOPES = {
    "prisons": "prison",
    "local_authorities": "local_authority",
    "probation_regions": "probation_region",
}


class Unreadable:
    """Values no rule could read, counted for the closing warning."""

    def __init__(self) -> None:
        self.seen: dict[str, set[str]] = defaultdict(set)

    def place(self, field: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        normalised = PLACES[field](value)
        if normalised is None:
            self.seen[field].add(value)
            return value
        return normalised


event = sa.table(
    "event",
    sa.column("seq", sa.BigInteger),
    sa.column("event_id", sa.String),
    sa.column("person_id", sa.String),
    sa.column("type", sa.String),
    sa.column("occurred_on", sa.Date),
    sa.column("person", sa.JSON),
    sa.column("data", sa.JSON),
    sa.column("corrects", sa.String),
    sa.column("content_hash", sa.String),
)
identifier = sa.table(
    "identifier",
    sa.column("scheme", sa.String),
    sa.column("value", sa.String),
    sa.column("person_id", sa.String),
)
person = sa.table("person", sa.column("person_id", sa.String), sa.column("created_at", sa.DateTime))
version = sa.table(
    "release_version",
    sa.column("release_id", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("person_id", sa.String),
    sa.column("prison", sa.String),
    sa.column("local_authority", sa.String),
    sa.column("probation_region", sa.String),
    sa.column("record", sa.JSON),
)
change = sa.table(
    "change",
    sa.column("change_id", sa.BigInteger),
    sa.column("person_id", sa.String),
    sa.column("prison", sa.String),
    sa.column("local_authority", sa.String),
    sa.column("probation_region", sa.String),
    sa.column("body", sa.JSON),
)


def _hash(row: Any, person_known: dict[str, str], data: dict[str, Any]) -> str:
    """The content hash the service computes (sha256 of the event as validated, keys sorted)."""
    dumped = {
        "event_id": row.event_id,
        "type": row.type,
        "occurred_on": row.occurred_on.isoformat(),
        "person": {scheme: person_known.get(scheme) for scheme in SCHEMES},
        "data": data,
        "corrects": row.corrects,
    }
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _chunks(
    bind: sa.Connection, query: sa.Select[Any], key: sa.ColumnElement[Any]
) -> Iterator[Sequence[Any]]:
    last: Any = None
    while True:
        page = query.order_by(key).limit(CHUNK)
        if last is not None:
            page = page.where(key > last)
        rows = bind.execute(page).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _events(bind: sa.Connection, this_year: int, unreadable: Unreadable) -> int:
    """Long PNCs and normalised places in every stored event, with their hashes kept true."""
    columns = (event.c.seq, event.c.event_id, event.c.type, event.c.occurred_on, event.c.person)
    query = sa.select(*columns, event.c.data, event.c.corrects, event.c.content_hash)
    changed = 0
    for rows in _chunks(bind, query, event.c.seq):
        for row in rows:
            known = dict(row.person)
            if "pnc" in known:
                known["pnc"] = long_pnc(known["pnc"], this_year)
            data = dict(row.data)
            for field in PLACES:
                if field in data:
                    data[field] = unreadable.place(field, data[field])
            if known == row.person and data == row.data:
                continue
            digest = row.content_hash
            # Only a hash this rule reproduces is replaced: any other is left as it was.
            if _hash(row, row.person, row.data) == row.content_hash:
                digest = _hash(row, known, data)
            bind.execute(
                sa.update(event)
                .where(event.c.seq == row.seq)
                .values(person=known, data=data, content_hash=digest)
            )
            changed += 1
    return changed


def _places(
    bind: sa.Connection,
    table: sa.TableClause,
    keys: Sequence[str],
    json: str,
    unreadable: Unreadable,
) -> None:
    """Normalise the place columns of `table`, and the same fields of its JSON column."""
    for field in PLACES:
        column = table.c[field]
        values = bind.execute(sa.select(column).where(column.is_not(None)).distinct()).scalars()
        for value in list(values):
            normalised = unreadable.place(field, value)
            if normalised == value:
                continue
            selected = sa.select(*(table.c[k] for k in keys), table.c[json]).where(column == value)
            for row in bind.execute(selected).all():
                body = row[-1]
                if isinstance(body, dict) and field in body:
                    body = {**body, field: normalised}
                bind.execute(
                    sa.update(table)
                    .where(*(table.c[k] == row[i] for i, k in enumerate(keys)))
                    .values({field: normalised, json: body})
                )


def _limits(
    bind: sa.Connection, name: str, key: str, columns: Sequence[str], unreadable: Unreadable
) -> None:
    """Normalise the places a key's scope or a subscription's filter lists."""
    table = sa.table(name, sa.column(key, sa.String), *(sa.column(c, sa.JSON) for c in columns))
    for row in bind.execute(sa.select(table)).all():
        values = {}
        for column in columns:
            limits = getattr(row, column)
            if not isinstance(limits, dict):
                continue
            normalised = {
                dimension: [unreadable.place(SCOPES[dimension], v) for v in listed]
                if dimension in SCOPES and isinstance(listed, list)
                else listed
                for dimension, listed in limits.items()
            }
            if normalised != limits:
                values[column] = normalised
        if values:
            bind.execute(sa.update(table).where(table.c[key] == getattr(row, key)).values(values))


def _schemes_of(bind: sa.Connection, person_id: str) -> set[str]:
    held = sa.select(identifier.c.scheme).where(identifier.c.person_id == person_id)
    return set(bind.execute(held).scalars())


def _merge(bind: sa.Connection, absorbed: str, into: str) -> None:
    """Everything of `absorbed` becomes `into`'s; `absorbed` is deleted."""
    moves = [(event, "person_id"), (identifier, "person_id"), (change, "person_id")]
    for table, column in moves:
        bind.execute(sa.update(table).where(table.c[column] == absorbed).values({column: into}))
    bind.execute(sa.update(version).where(version.c.person_id == absorbed).values(person_id=into))
    for name, column in (("delivery", "person_id"), ("audit", "subject")):
        table = sa.table(name, sa.column(column, sa.String))
        bind.execute(sa.update(table).where(table.c[column] == absorbed).values({column: into}))
    bind.execute(sa.delete(person).where(person.c.person_id == absorbed))


def _pncs(bind: sa.Connection, this_year: int) -> tuple[dict[str, list[str]], list[list[str]]]:
    """Every PNC identifier in its long form, people split only by its spelling merged: the
    people merged (each into the one made first, whose records must be derived again), and
    those left apart (each group first the one the PNC stays with)."""
    held = bind.execute(
        sa.select(identifier.c.value, identifier.c.person_id).where(identifier.c.scheme == "pnc")
    ).all()
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in held:
        groups[long_pnc(row.value, this_year)].append(row)
    made = dict(bind.execute(sa.select(person.c.person_id, person.c.created_at)).all())
    merged: dict[str, list[str]] = defaultdict(list)
    apart: list[list[str]] = []
    for long, rows in groups.items():
        if [row.value for row in rows] == [long]:
            continue
        people = sorted({row.person_id for row in rows}, key=lambda p: (made.get(p), p))
        first, others = people[0], people[1:]
        kept_apart = []
        for other in others:
            if _schemes_of(bind, first) & _schemes_of(bind, other) - {"pnc"}:
                kept_apart.append(other)
            else:
                _merge(bind, other, first)
                merged[first].append(other)
        if kept_apart:
            apart.append([first, *kept_apart])
        values = [row.value for row in rows]
        bind.execute(
            sa.delete(identifier).where(
                identifier.c.scheme == "pnc", identifier.c.value.in_(values)
            )
        )
        bind.execute(sa.insert(identifier).values(scheme="pnc", value=long, person_id=first))
    return merged, apart


_CARRIERS_POSTGRESQL = sa.text(
    "UPDATE identifier SET carriers = (SELECT count(*) FROM event AS e"
    " WHERE e.person_id = identifier.person_id AND e.person ->> 'pnc' = identifier.value"
    " AND e.superseded_by IS NULL AND e.retracted_at IS NULL) WHERE scheme = 'pnc'"
)
_CARRIERS_SQLITE = sa.text(
    "UPDATE identifier SET carriers = (SELECT count(*) FROM event AS e"
    " WHERE e.person_id = identifier.person_id AND json_extract(e.person, '$.pnc') ="
    " identifier.value AND e.superseded_by IS NULL AND e.retracted_at IS NULL)"
    " WHERE scheme = 'pnc'"
)


def upgrade() -> None:
    bind = op.get_bind()
    this_year = date.today().year
    unreadable = Unreadable()
    changed = _events(bind, this_year, unreadable)
    merged, apart = _pncs(bind, this_year)
    bind.execute(_CARRIERS_POSTGRESQL if bind.dialect.name == "postgresql" else _CARRIERS_SQLITE)
    if merged:
        # Out of date: `joinup migrate` derives them again from their events.
        out_of_date = version.c.person_id.in_(sorted(merged))
        bind.execute(sa.update(version).where(out_of_date).values(record=None))
    _places(bind, version, ("release_id", "valid_from"), "record", unreadable)
    _places(bind, change, ("change_id",), "body", unreadable)
    _limits(bind, "api_key", "key_id", ("scope",), unreadable)
    _limits(bind, "subscription", "subscription_id", ("scope", "filter"), unreadable)
    log.info("normalised %d stored events", changed)
    for into, absorbed in sorted(merged.items()):
        log.warning(
            "people %s and %s were one person split by a PNC's spelling: merged into %s",
            into,
            ", ".join(absorbed),
            into,
        )
    for group in apart:
        log.warning(
            "people %s share a PNC but hold other identifiers that differ: left apart, "
            "the PNC stays with %s",
            ", ".join(group),
            group[0],
        )
    for field, values in sorted(unreadable.seen.items()):
        log.warning(
            "%d stored %s values are not in the contract's form; left as they were",
            len(values),
            field,
        )


def downgrade() -> None:
    # The old spellings were the same identifiers and places; there is nothing to bring back.
    pass
