"""The `joinup` command: migrate the database, manage keys, print the OpenAPI document."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.db.engine import Database
from app.services import keys
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def migrate(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings.database_url), revision)


async def _create_key(settings: Settings, org: str, roles: list[str], label: str) -> None:
    db = Database(settings.database_url)
    try:
        async with db.write() as conn:
            issued = await keys.create(conn, org, roles, label)
    finally:
        await db.dispose()
    print(
        json.dumps({"key_id": issued.key_id, "secret": issued.secret, "org": org, "roles": roles})
    )


def _openapi() -> None:
    from app.main import create_app

    spec = create_app(Settings()).openapi()
    print(json.dumps(spec, indent=2, sort_keys=True))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="joinup", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    key = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="action", required=True
    )
    create = key.add_parser("create", help="create a key and print its secret once")
    create.add_argument("--org", required=True)
    create.add_argument("--role", action="append", required=True, choices=keys.ROLES)
    create.add_argument("--label", default="made with joinup keys create")
    sub.add_parser("openapi", help="print the OpenAPI document")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        migrate(settings)
    elif args.command == "keys":
        asyncio.run(_create_key(settings, args.org, args.role, args.label))
    elif args.command == "openapi":
        _openapi()
    return 0


if __name__ == "__main__":
    sys.exit(main())
