"""What the edges hold of storage, named once so that nothing above the services imports app/db.

The API, the pages and the app factory open units of work on the `Database` and pass their
`Connection` to the services; reads leave their audit rows on the `Trail`; and
`DatabaseUnavailable` is what any of them meets while the database is away (answered 503).
"""

from __future__ import annotations

from app.db import Connection
from app.db.audit import Trail
from app.db.engine import Database
from app.db.errors import DatabaseUnavailable

__all__ = ["Connection", "Database", "DatabaseUnavailable", "Trail"]
