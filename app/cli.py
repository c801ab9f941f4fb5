"""The `joinup` command: migrate, manage keys, load the demo year, import events, print OpenAPI."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from app import cli_import, cli_keys
from app.cli_import import chunks
from app.db.engine import Database
from app.demo import year as demo_data
from app.domain.metrics import SUMMARY_NAMES
from app.services import clock, derivation, importing, loading, metrics
from app.services.notifications import worker
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FUNNEL = SUMMARY_NAMES
DEMO_CHUNK = 4000  # people posted per round of `joinup demo`


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    """Upgrade the schema, then derive again the records a revision left out of date (one that
    merged people split by a PNC's spelling clears theirs)."""
    command.upgrade(alembic_config(settings.database_url), revision)
    if revision == "head":
        asyncio.run(_refresh_out_of_date(settings))


async def _refresh_out_of_date(settings: Settings) -> None:
    db = Database(settings.database_url, settings.pool_size)
    try:
        refreshed = await derivation.refresh_out_of_date(db, settings.rules())
    finally:
        await db.dispose()
    if refreshed:
        logging.getLogger("joinup").warning("derived the records of %d people again", refreshed)


def _progress(done: int, total: int, width: int = 40) -> None:
    filled = width * done // max(total, 1)
    bar = "#" * filled + "-" * (width - filled)
    end = "\n" if done >= total else ""
    print(f"\r[{bar}] {done:,}/{total:,} people", end=end, file=sys.stderr, flush=True)


async def load_demo(settings: Settings, scale: float) -> dict[str, Any]:
    """Load the demonstration year; answer the metrics for its releases as of today."""
    rules, totals = settings.rules(), loading.Totals()
    total = demo_data.people_count(scale)
    db = Database(settings.database_url, settings.pool_size)
    try:
        done = 0
        # An organisation's events of a chunk go in as one batch; the year has 89 organisations,
        # so small chunks would make many small batches, each paying a transaction's overhead.
        for chunk in chunks(demo_data.people(scale), DEMO_CHUNK):
            by_org: dict[str, list[loading.Posting]] = defaultdict(list)
            for posting in (posting for person in chunk for posting in person):
                by_org[posting.org].append(posting)
            # One organisation per transaction: the writers' lock order (app/db/locks.py).
            for org in sorted(by_org):
                async with db.write() as conn:
                    await loading.post_as_organisations(conn, by_org[org], rules, totals)
            done += len(chunk)
            _progress(done, total)
        async with db.read() as conn:
            first, last = demo_data.FIRST_DAY, demo_data.LAST_DAY
            answer = await metrics.continuity(conn, clock.today(), first, last, None)
    finally:
        await db.dispose()
    print(
        f"events: {totals.accepted:,} stored, {totals.duplicates:,} already stored, "
        f"{totals.rejected:,} refused"
    )
    return answer


def export_demo(path: Path, scale: float) -> int:
    """Write the demonstration year to an NDJSON file for `joinup import`; answer its events."""
    written = 0
    with path.open("wb") as sink:
        for person in demo_data.people(scale):
            sink.writelines(importing.ndjson_of(posting) for posting in person)
            written += len(person)
    return written


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if isinstance(value, float) else f"{value:,}"


def print_funnel(answer: dict[str, Any]) -> None:
    print(f"releases {answer['released_from']} to {answer['released_to']}, as of {answer['as_of']}")
    for name in FUNNEL:
        print(f"  {name.replace('_', ' '):<24}{_shown(answer['total'][name]):>10}")


async def _work(settings: Settings) -> None:
    """Deliver webhooks and run the periodic jobs until SIGTERM or SIGINT."""
    import signal

    from app.main import delivering, worker_of
    from app.services.hmpps import intake

    clock.set_offset_days(settings.clock_offset_days)
    db = Database(settings.database_url, settings.pool_size)
    hub = intake.Hmpps(db, settings.rules(), settings)
    running, stop = worker.start(worker_of(db, settings, delivering(settings), hub))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("joinup worker: delivering webhooks; SIGTERM or Ctrl-C stops it", file=sys.stderr)
    try:
        await running
    finally:
        await hub.close()
        await db.dispose()


def _openapi() -> None:
    from app.main import create_app

    spec = create_app(Settings()).openapi()
    print(json.dumps(spec, indent=2, sort_keys=True))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="joinup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    cli_keys.add_parser(sub)
    demo = sub.add_parser("demo", help="load the synthetic 2019-20 national year")
    demo.add_argument("--scale", type=float, default=1.0, help="shrink the year (e.g. 0.01)")
    demo.add_argument(
        "--export",
        type=Path,
        metavar="FILE",
        help="write the year's events to this .ndjson file (for joinup import), not the database",
    )
    imports = sub.add_parser("import", help="post the events of an .ndjson/.jsonl or .csv file")
    imports.add_argument("file", type=Path)
    imports.add_argument("--org", help="the posting organisation of every line")
    sub.add_parser("openapi", help="print the OpenAPI document")
    hmpps = sub.add_parser("hmpps", help="HMPPS domain events").add_subparsers(
        dest="action", required=True
    )
    consume = hmpps.add_parser(
        "consume", help="take in the domain events of an SQS queue until SIGTERM (docs/hmpps.md)"
    )
    consume.add_argument("--queue-url", required=True)
    consume.add_argument("--org", default="HMPPS", help="the organisation the events are from")
    consume.add_argument(
        "--wait-seconds",
        type=int,
        default=20,
        choices=range(21),
        metavar="0..20",
        help="how long one receive waits for messages (SQS long polling)",
    )
    sub.add_parser(
        "worker",
        help="deliver webhooks, find time-driven changes, retry pending HMPPS events "
        "(for JOINUP_INLINE_WORKER=0; docs/notifications.md)",
    )
    return parser


def _consume(settings: Settings, queue_url: str, org: str, wait_seconds: int) -> int:
    from app.services.hmpps import consumer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    report = asyncio.run(consumer.consume(settings, settings.rules(), queue_url, org, wait_seconds))
    print(f"joinup hmpps consume: stopped; {report.line()}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "keys":
        return cli_keys.run(settings, args)
    elif args.command == "demo" and args.export:
        written = export_demo(args.export, args.scale)
        print(f"wrote {written:,} events to {args.export}")
    elif args.command == "demo":
        migrate(settings)
        print_funnel(asyncio.run(load_demo(settings, args.scale)))
    elif args.command == "import":
        return cli_import.run(settings, args.file, args.org)
    elif args.command == "openapi":
        _openapi()
    elif args.command == "worker":
        from app.api.observability import configure_logging

        configure_logging()
        asyncio.run(_work(settings))
    elif args.command == "hmpps":
        return _consume(settings, args.queue_url, args.org, args.wait_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
