"""Every speed trick of joinup, in one place: the knobs, and the machinery of turn-taking
(`turns`) and group commit (`groups`).

The rest of the code reads as if the machine were infinitely fast: it takes these values from
here and says only what they are for. Each knob below carries one line on what it buys and the
`scripts/bench` line that shows it (a `postgres:` line also comes as `sqlite:`); the figures,
dated and with their commands, are in docs/performance.md, and comments carry none. Knobs an
operator may turn are settings instead (app/settings.py): JOINUP_POOL_SIZE,
JOINUP_GROUP_COMMIT (posts and audit rows per shared transaction), JOINUP_BATCH_CONCURRENCY
(batches a process works on at once) and JOINUP_ANALYZE_SECONDS (planner statistics).

Standard library only: app/db, app/services and the app factory all read it.
"""

from __future__ import annotations

import gc
from typing import Final

# --- Connection pools and statements (app/db/engine.py) -------------------------------------
# Reads run in autocommit on a pool of their own, which may open as many again under load: no
# BEGIN/COMMIT round trips per read. Bench: "postgres: handover view, 16 clients, alone".
READ_OVERFLOW_PER_POOL: Final = 1
# psycopg prepares a statement on this use + 1: a single post's dozen small statements are
# parsed once per connection. Bench: "postgres: joinup single-event POST, 16 clients".
PREPARE_THRESHOLD: Final = 5
# A write's statements are planned for their values, never by a generic plan kept for the
# connection's life (which scanned whole tables as they grew). Bench: "postgres: joinup batch
# ingest, 1,000-event batches, 4 clients".
WRITE_PLANS: Final = "-c plan_cache_mode=force_custom_plan"
# JIT compiling a query's expressions costs more than it saves on joinup's queries, the
# metrics' scan included. Bench: "national: a year's metrics by region".
JIT: Final = "-c jit=off"

# --- The garbage collector (app/main.py) -----------------------------------------------------
# Container allocations, net of frees, between two young collections: nearly everything joinup
# makes is freed by reference counting, so the collector runs rarely and stalls the event loop
# less. Bench: "postgres: joinup batch ingest" and "postgres: joinup single-event POST".
GC_YOUNG_THRESHOLD: Final = 50_000
# Python's own middle and old generation thresholds, kept.
GC_OLDER_THRESHOLDS: Final = (20, 10)
# Start-up's objects (modules, models, routes, pools) are frozen out of full collections, and
# the routes built before the first request, so that no request pays either. Bench:
# "postgres: handover view, 16 clients, alone" (its p99).

# --- Turn-taking (app/tuning/turns.py) --------------------------------------------------------
# Long CPU-bound loops of a batch hand the event loop back between chunks of this many items
# (each a few milliseconds of work), so that reads arriving meanwhile are not held behind them.
# Bench: "postgres: handover view, 16 clients, during batch ingest".
PARSE_TURN: Final = 25  # events parsed (app/services/ingest/submissions.py)
DECIDE_TURN: Final = 50  # events decided (app/services/ingest/)
# People whose events are read in one query: turning a query's rows into events cannot be split
# into turns, so a query is kept small. Bench: as above, "during batch ingest".
FETCH_PEOPLE: Final = 200
# Seconds of work after which a loop whose steps differ in cost (a release of a long history
# derived, a release's record compared for the change feed) hands the event loop back: well
# under the 50 ms a request may wait. Bench: "postgres: worst event-loop lag during that batch".
SLICE_SECONDS: Final = 0.01
# Rows handled between two turns of the event loop: SQLite's bulk inserts (SQLAlchemy prepares
# every row's parameters on the loop) and stored rows turned into values. Bench: "sqlite: worst
# event-loop lag during that batch".
ROWS_PER_TURN: Final = 200
# Events read per query when a whole history is read (a subject access export): the rows of one
# query become values in one go on the event loop. Shown by a subject access export of a
# person at JOINUP_MAX_EVENTS_PER_PERSON (docs/performance.md, "Long loops").
EVENTS_PER_READ: Final = 2000
# Seconds work yielding to readers pauses between chunks while a read is in flight: a read
# takes several steps, each waiting behind a chunk. Bench: as above, "during batch ingest".
READER_PAUSE: Final = 0.002

# --- Group commit (app/tuning/groups.py) ------------------------------------------------------
# Turns of the event loop a group waits before it is taken, so that posts whose bodies have
# arrived (a few awaits from queueing) join it rather than the next transaction. Bench:
# "postgres: joinup single-event POST, 16 clients" and "postgres: CPU per single-event POST".
GATHER_TURNS: Final = 3


def tune_the_garbage_collector() -> None:
    """Collect cyclic garbage rarely, and keep the objects built by start-up (modules, models,
    routes, pools) out of its full passes: they live as long as the process does.

    A full pass over the start-up objects stalls every request in flight in the worker, every
    few seconds under load (see above). Only the process's first app freezes: a process that
    starts many apps (the tests) would otherwise freeze each earlier app's garbage with the next
    app's start-up, for good.
    """
    gc.set_threshold(GC_YOUNG_THRESHOLD, *GC_OLDER_THRESHOLDS)
    if gc.get_freeze_count() == 0:
        gc.freeze()
