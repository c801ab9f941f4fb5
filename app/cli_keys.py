"""`joinup keys`: create, list and revoke API keys from the console (docs/security.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from app.db.engine import Database
from app.domain.filters import DIMENSIONS, Scope, scope_of
from app.domain.vocabulary import EventType
from app.services import keys
from app.services.errors import ServiceError
from app.settings import Settings


def add_parser(sub: Any) -> None:
    key = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = key.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--org", required=True)
    create.add_argument("--role", action="append", required=True, choices=keys.ROLES)
    create.add_argument("--label", default="made with joinup keys create")
    create.add_argument(
        "--scope",
        type=_scope,
        metavar="JSON",
        help='the releases the key may read, e.g. \'{"prisons": ["MDI"]}\' (default: unscoped)',
    )
    create.add_argument(
        "--event-types",
        type=_event_types,
        metavar="TYPE,...",
        help="the event types a submitter key may post, comma-separated, or 'all' "
        "(required with --role submitter)",
    )
    key.add_parser("list", help="list the active keys (no secrets), one JSON object a line")
    revoke = key.add_parser("revoke", help="revoke a key: it stops working at once")
    revoke.add_argument("key_id")


def _scope(text: str) -> Scope | None:
    try:
        limits = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not JSON") from None
    if not isinstance(limits, dict) or not set(limits) <= set(DIMENSIONS):
        raise argparse.ArgumentTypeError(f"a JSON object with some of {', '.join(DIMENSIONS)}")
    if not all(_strings(values) for values in limits.values()):
        raise argparse.ArgumentTypeError("each dimension is a non-empty list of strings")
    return scope_of(limits)


def _strings(values: Any) -> bool:
    return isinstance(values, list) and bool(values) and all(isinstance(v, str) for v in values)


def _event_types(text: str) -> list[str]:
    if text.strip() == "all":
        return [str(kind) for kind in EventType]
    types = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(types) - set(EventType))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {unknown}; known: {', '.join(EventType)}")
    return types


def run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        for line in asyncio.run(_run(settings, args)):
            print(json.dumps(line, default=str))
    except ServiceError as refused:
        print(f"joinup keys {args.action}: {refused.detail}", file=sys.stderr)
        return 2
    return 0


async def _run(settings: Settings, args: argparse.Namespace) -> list[dict[str, Any]]:
    db = Database(settings.database_url)
    try:
        if args.action == "list":
            async with db.read() as conn:
                return await keys.listing(conn, None)
        async with db.write() as conn:
            if args.action == "revoke":
                await keys.revoke(conn, None, args.key_id)
                return [{"key_id": args.key_id, "revoked": True}]
            issued = await keys.create(
                conn,
                args.org,
                args.role,
                args.label,
                scope=args.scope,
                event_types=args.event_types,
            )
    finally:
        await db.dispose()
    return [{k: v for k, v in vars(issued).items() if k != "label"}]
