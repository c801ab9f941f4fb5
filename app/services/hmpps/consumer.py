"""`joinup hmpps consume`: domain events from an SQS queue subscribed to the HMPPS SNS topic.

Each message goes through the same code as `POST /v1/integrations/hmpps/events`
(`intake.receive`: SNS verification, mapping, ingest, pending, and the count by type and outcome
that any server's /metrics shows). A message is deleted only once
it is stored, a duplicate, ignored or kept pending; any other outcome (a message joinup cannot
read, the database away) leaves it on the queue, to come back after its visibility timeout and,
after the queue's `maxReceiveCount`, to go to its dead-letter queue by the redrive policy.

On SIGTERM or SIGINT the consumer finishes the message in hand, hands the rest of its batch back
at once (visibility timeout 0), and stops. A long poll in progress ends first (at most
`wait_seconds`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import boto3  # type: ignore[import-untyped]

from app.db.engine import Database
from app.db.errors import DatabaseUnavailable
from app.domain.rules import Rules
from app.services.errors import ServiceError
from app.services.hmpps import intake
from app.settings import Settings

log = logging.getLogger("joinup.hmpps.consumer")

BATCH: Final = 10  # the most SQS hands over in one receive


@dataclass
class Report:
    """What a consumer did: messages by outcome (`left` stayed on the queue)."""

    outcomes: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        names = (*intake.STATUSES, "left", "handed back")
        return ", ".join(f"{name} {self.outcomes[name]:,}" for name in names)


class Consumer:
    """Receives, hands each message to the intake, deletes what it took."""

    def __init__(self, hub: intake.Hmpps, queue_url: str, org: str, wait_seconds: int) -> None:
        self.hub = hub
        self.queue_url = queue_url
        self.who = intake.consumer(org)
        self.wait_seconds = wait_seconds
        self.sqs: Any = boto3.client("sqs")
        self.stopping = asyncio.Event()
        self.report = Report()

    def stop(self) -> None:
        log.info("stopping after the message in hand")
        self.stopping.set()

    async def run(self) -> Report:
        while not self.stopping.is_set():
            messages = await asyncio.to_thread(self._receive)
            await self._handle(messages)
        return self.report

    def _receive(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=self.wait_seconds,
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    async def _handle(self, messages: list[dict[str, Any]]) -> None:
        for index, message in enumerate(messages):
            if self.stopping.is_set():
                await asyncio.to_thread(self._hand_back, messages[index:])
                return
            outcome = await self._take(message)
            self.report.outcomes[outcome] += 1
            if outcome != "left":
                await asyncio.to_thread(
                    self.sqs.delete_message,
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                )

    async def _take(self, message: dict[str, Any]) -> str:
        message_id = message.get("MessageId")
        try:
            answer = await intake.receive(self.hub, self.who, str(message["Body"]).encode())
        except (ServiceError, DatabaseUnavailable) as error:
            # Left for the queue to deliver again, and in the end to its dead-letter queue.
            log.warning("message %s left on the queue: %s", message_id, error)
            return "left"
        except Exception:
            log.exception("message %s left on the queue", message_id)
            return "left"
        log.info("message %s %s: %s", message_id, answer.status, answer.events)
        return answer.status

    def _hand_back(self, messages: list[dict[str, Any]]) -> None:
        for message in messages:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
            self.report.outcomes["handed back"] += 1


async def consume(
    settings: Settings, rules: Rules, queue_url: str, org: str, wait_seconds: int = 20
) -> Report:
    """Consume the queue until SIGTERM or SIGINT."""
    db = Database(settings.database_url, 2, 1)
    hub = intake.Hmpps(db, rules, settings)
    consumer = Consumer(hub, queue_url, org, wait_seconds)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, consumer.stop)
    try:
        return await consumer.run()
    finally:
        await hub.close()
        await db.dispose()
