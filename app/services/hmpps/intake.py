"""Taking in HMPPS domain events (CONTRACT §8): one path for the HTTP endpoint, the SQS consumer
and the retries of pending events.

A domain event is mapped (`app.domain.hmpps`) and its joinup events go through the same ingest
service as `POST /v1/events` (validation, identity, idempotency, derivation, audit), in one
atomic post. A licence activation first reads its licence from CVL; while CVL or HMPPS Auth
cannot be reached the domain event is kept pending (once, by the id of the event it will make)
and retried with growing delays (app/services/hmpps/retries.py). Each message's outcome is
counted by type (app/services/hmpps/tally.py).

Unlike the other services, this one opens its own transactions: a licence is fetched over the
network between reading what is stored and storing the event, and no transaction (on SQLite, no
write lock) is held across that wait.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import httpx

from app.db import Connection
from app.db import events as event_store
from app.db import hmpps as pending_store
from app.db.engine import Database
from app.domain import hmpps, licences
from app.domain.rules import Rules
from app.domain.vocabulary import EventType
from app.services import audit, clock, ingest
from app.services.errors import Invalid, ServiceError
from app.services.hmpps import cvl, sns, tally
from app.services.ingest import submissions
from app.services.principal import Principal
from app.settings import Settings

log = logging.getLogger("joinup.hmpps")

ACCEPTED, DUPLICATE, IGNORED, PENDING = "accepted", "duplicate", "ignored", "pending"
STATUSES: Final = (ACCEPTED, DUPLICATE, IGNORED, PENDING)
# The organisation `joinup hmpps consume` posts as when it is given none.
CONSUMER_ORG: Final = "HMPPS"
# Longest wait between two retries of a pending domain event.
LONGEST_DELAY: Final = timedelta(hours=1)


@dataclass(frozen=True)
class Answer:
    """What became of one message: `status` (§8), the joinup event ids, and why if ignored."""

    status: str
    events: list[str]
    event_type: str
    reason: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "events": self.events}
        if self.reason is not None:
            body["reason"] = self.reason
        return body


@dataclass
class Hmpps:
    """The process's HMPPS intake: database, rules, HTTP clients for SNS, CVL and HMPPS Auth."""

    db: Database
    rules: Rules
    settings: Settings

    def __post_init__(self) -> None:
        self._http = httpx.AsyncClient(timeout=cvl.TIMEOUT)
        ca_file = self.settings.sns_ca_file
        trust = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._sns_http = httpx.AsyncClient(timeout=cvl.TIMEOUT, verify=trust)
        hosts = frozenset(h.strip() for h in self.settings.sns_cert_hosts.split(",") if h.strip())
        self.sns = sns.Sns(self._sns_http, verify=self.settings.sns_verify, hosts=hosts)
        secret = self.settings.hmpps_client_secret
        tokens = cvl.Tokens(
            self._http,
            self.settings.hmpps_auth_url,
            self.settings.hmpps_client_id,
            secret.get_secret_value() if secret else None,
        )
        self.cvl = cvl.Cvl(self._http, self.settings.cvl_url, tokens)

    async def close(self) -> None:
        await self._http.aclose()
        await self._sns_http.aclose()


def consumer(org: str = CONSUMER_ORG) -> Principal:
    """Who `joinup hmpps consume` posts as: the organisation, with no key."""
    return Principal("hmpps-consumer", org, frozenset({"submitter"}))


async def receive(hub: Hmpps, who: Principal, body: bytes) -> Answer:
    """One posted message: a domain event, or an SNS message (verified) around one; counted by
    type and outcome, a refusal too."""
    event_type = tally.UNREAD
    try:
        message = sns.parse(body)
        event_type = _type_of(message)
        await hub.sns.verify(message)
        answer = await _answer(hub, who, message)
    except ServiceError:
        await tally.count(hub.db, event_type, tally.REFUSED)
        raise
    await tally.count(hub.db, answer.event_type, answer.status)
    return answer


def _type_of(message: sns.Message) -> str:
    if message.kind in (sns.SUBSCRIPTION_CONFIRMATION, sns.UNSUBSCRIBE_CONFIRMATION):
        return f"sns.{message.kind}"
    envelope = message.envelope
    kind = envelope.get("eventType") if isinstance(envelope, dict) else None
    return kind if isinstance(kind, str) else tally.UNREAD


async def _answer(hub: Hmpps, who: Principal, message: sns.Message) -> Answer:
    if message.kind == sns.SUBSCRIPTION_CONFIRMATION:
        await hub.sns.confirm(message)
        return await _subscription(hub, who, message, "confirmed")
    if message.kind == sns.UNSUBSCRIBE_CONFIRMATION:
        return await _subscription(hub, who, message, "unsubscribed")
    return await take(hub, who, message.envelope)


async def _subscription(hub: Hmpps, who: Principal, message: sns.Message, what: str) -> Answer:
    topic = str(message.fields.get("TopicArn", ""))[:200]
    async with hub.db.write() as conn:
        await audit.record(
            conn,
            who,
            audit.HMPPS_SUBSCRIPTION,
            subject=topic,
            subject_type=audit.QUERY,
            outcome=what,
            details={"topic": topic, "type": message.kind},
        )
    log.info("SNS subscription %s", what, extra={"topic": topic})
    return Answer(IGNORED, [], f"sns.{message.kind}", f"subscription {what}")


def _read(envelope: Any) -> hmpps.DomainEvent:
    try:
        return hmpps.read(envelope)
    except hmpps.InvalidDomainEvent as error:
        raise Invalid(f"not a domain event joinup can read: {error}") from None


async def take(hub: Hmpps, who: Principal, envelope: Any, *, audited: bool = True) -> Answer:
    """One domain event: stored, a duplicate, ignored, or kept pending. A licence activation
    the key may not post is refused with an audit row, unless not `audited` (a retry writes its
    own, with the domain event)."""
    event = _read(envelope)
    try:
        mapped = hmpps.map_event(event)
    except hmpps.InvalidDomainEvent as error:
        raise Invalid(f"the {event.event_type} event cannot be mapped: {error}") from None
    if isinstance(mapped, hmpps.Ignored):
        await note(hub, who, event.event_type, IGNORED, event.event_type, mapped.reason)
        return Answer(IGNORED, [], event.event_type, mapped.reason)
    if isinstance(mapped, hmpps.Mapped):
        return await _store(hub, who, event.event_type, list(mapped.events))
    # Refused before CVL is asked, as ingest would refuse the event it makes: a key that may not
    # post licence.activated has nothing kept pending for it (CONTRACT §2.1).
    refused = who.may_write(EventType.LICENCE_ACTIVATED)
    if refused is not None:
        if audited:
            await note(hub, who, mapped.event_id, tally.REFUSED, event.event_type, refused.detail)
        raise refused
    try:
        return await _licence(hub, who, event.event_type, mapped)
    except cvl.Unavailable as error:
        return await _park(hub, who, envelope, mapped.event_id, event.event_type, str(error))


async def note(
    hub: Hmpps, who: Principal, subject: str, outcome: str, event_type: str, reason: str
) -> None:
    """The audit row of a domain event ignored or refused (HMPPS_EVENT)."""
    async with hub.db.write() as conn:
        await noted(conn, who, subject, outcome, {"event_type": event_type, "reason": reason})


async def noted(
    conn: Connection, who: Principal, subject: str, outcome: str, details: Mapping[str, Any]
) -> None:
    await audit.record(
        conn,
        who,
        audit.HMPPS_EVENT,
        subject=subject[:200],
        subject_type=audit.EVENT,
        outcome=outcome,
        details=details,
    )


async def _licence(
    hub: Hmpps, who: Principal, event_type: str, request: hmpps.LicenceToFetch
) -> Answer:
    async with hub.db.read() as conn:
        stored = await event_store.get(conn, who.org, request.event_id)
        waiting = await pending_store.get(conn, who.org, request.event_id)
    if stored is not None:
        # Delivered again after it was stored: no need to ask CVL, nor to retry it any more.
        if waiting is not None:
            async with hub.db.write() as conn:
                await pending_store.done(conn, who.org, request.event_id)
        return Answer(DUPLICATE, [request.event_id], event_type)
    licence = await hub.cvl.licence(request.licence_id, request.detail_url)
    try:
        made = licences.licence_event(request, licence)
    except hmpps.InvalidDomainEvent as error:
        raise cvl.Refused(f"CVL's licence {request.licence_id} cannot be read: {error}") from None
    return await _store(hub, who, event_type, [made], done=request.event_id)


async def _store(
    hub: Hmpps, who: Principal, event_type: str, events: list[Mapping[str, Any]], done: str = ""
) -> Answer:
    """Post the joinup events as one atomic post, as `POST /v1/events/batch` does."""
    today = clock.today()
    items = [submissions.parse(event, index, today) for index, event in enumerate(events)]
    async with hub.db.write() as conn:
        outcome = await ingest.ingest(conn, who, items, atomic=True, rules=hub.rules)
        if outcome.stored and done:
            await pending_store.done(conn, who.org, done)
    # Out of the transaction, so that a refusal's audit line is kept.
    refused = next((r.problem for r in outcome.results if r.problem is not None), None)
    if refused is not None:
        raise refused
    ids = [str(r.event_id) for r in outcome.results]
    status = DUPLICATE if outcome.count(ingest.DUPLICATE) == len(ids) else ACCEPTED
    return Answer(status, ids, event_type)


async def _park(
    hub: Hmpps, who: Principal, envelope: Any, event_id: str, event_type: str, error: str
) -> Answer:
    now = clock.now()
    row = {
        "org": who.org,
        "event_id": event_id,
        "key_id": who.key_id if who.key_id != consumer().key_id else None,
        "event_type": event_type[:200],
        "envelope": envelope,
        "attempts": 1,
        "next_attempt_at": now + delay(hub, 1),
        "last_error": error[:1000],
        "received_at": now,
    }
    async with hub.db.write() as conn:
        if await pending_store.keep(conn, row):
            await noted(conn, who, event_id, PENDING, {"event_type": event_type, "reason": error})
    log.warning("domain event kept pending: %s", error, extra={"event_id": event_id})
    return Answer(PENDING, [event_id], event_type, error)


def delay(hub: Hmpps, attempts: int) -> timedelta:
    """The wait after `attempts` failed tries: the first setting's, then doubling, at most 1 h."""
    first = timedelta(seconds=hub.settings.hmpps_retry_seconds)
    later: timedelta = first * 2 ** min(attempts - 1, 20)
    return min(later, LONGEST_DELAY)
