"""joinup's benchmark: one command, one table, every figure measured in the same run.

    scripts/bench                 # everything (national scale takes a while: see --releases)
    scripts/bench --quick         # small volumes, for a look in a minute or two
    scripts/bench --releases N    # national-scale read benchmark size (default 1,000,000)

The load generators (wrk, and Python threads for batches) run on this machine, beside the
server and the database, and take a share of its cores: the figures are for the whole box. For
batch and single-event ingestion it also says whose CPU each event used (bench/cpu.py), and so the
rate both cores flat out would give: the ceiling an ingestion figure is up against.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
from collections.abc import Callable
from typing import Any

from app.cli import migrate
from app.settings import Settings
from bench import history, ingest, lua, national, notifications, raw
from bench.cpu import CpuUse, measured
from bench.infra import (
    ADMIN,
    Server,
    WrkResult,
    free_port,
    joinup,
    peak_rss_mb,
    postgres_database,
    serve,
    sqlite_database,
    wrk,
)
from bench.report import Report


def _bare_ceiling(report: Report, seconds: int) -> None:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-access-log",
    ]
    with serve(argv, {}, port) as server:
        script = lua.script(lua.BARE_POST)
        for path, kind in (("def", "def"), ("async", "async def")):
            result = wrk(f"{server.url}/{path}", script, 64, seconds, {})
            report.add(
                f"bare FastAPI POST, `{kind}`, 2 workers, 64 conns",
                result.requests_per_s,
                "req/s",
            )


def _keys(server: Server, orgs: list[str]) -> dict[str, str]:
    made = ingest.make_keys(server.url, ADMIN, orgs)
    made.update(ingest.make_keys(server.url, ADMIN, ["BENCH-PROBATION"], "probation"))
    made.update(ingest.make_keys(server.url, ADMIN, ["BENCH-COORDINATOR"], "coordinator"))
    made.update(ingest.make_keys(server.url, ADMIN, ["PROVIDER-BENCH"], "submitter"))
    return made


def _reads(server: Server, keys: dict[str, str], people: int, seconds: int) -> dict[str, WrkResult]:
    env = {"BENCH_PEOPLE": str(people)}
    person = lua.script(lua.PERSON_VIEW)
    gaps = lua.script(lua.GAP_LIST)
    return {
        "person view": wrk(
            server.url, person, 16, seconds, {**env, "BENCH_KEY": keys["BENCH-PROBATION"]}
        ),
        "gap list page 1": wrk(
            server.url, gaps, 16, seconds, {**env, "BENCH_KEY": keys["BENCH-COORDINATOR"]}
        ),
    }


def _during(background: Callable[[], Any], foreground: Callable[[], Any]) -> Any:
    thread = threading.Thread(target=background)
    thread.start()
    try:
        return foreground()
    finally:
        thread.join()


def _cpu_row(report: Report, what: str, cpu: CpuUse, units: float) -> None:
    """The whole machine's CPU per unit of work, and whose it was."""
    report.add(what, cpu.each(units), "µs", note=cpu.split(units))


def _joinup(
    report: Report, label: str, url: str, args: argparse.Namespace, raw_rates: dict[str, float]
) -> None:
    migrate(Settings(database_url=url))
    people = ingest.people(args.people)
    work = ingest.batches(people)
    with joinup(url, workers=2) as server:
        keys = _keys(server, sorted({org for org, _ in work}))
        postgres = url.startswith("postgresql")
        with measured(server.worker_pids(), postgres) as cpu:
            posted = ingest.post_batches(server.url, keys, work)
        report.add(
            f"{label}: joinup batch ingest, 1,000-event batches, 4 clients",
            posted.rate,
            "events/s",
            ratio=(posted.rate, raw_rates.get("executemany")),
            note=f"{posted.events:,} events, {posted.failures} failed batches",
        )
        _cpu_row(report, f"{label}: CPU per batch-ingested event", cpu, posted.events)
        with measured(server.worker_pids(), postgres) as cpu:
            single = wrk(
                server.url,
                lua.script(lua.SINGLE_EVENT),
                16,
                args.seconds,
                {"BENCH_PEOPLE": str(len(people)), "BENCH_KEY": keys["PROVIDER-BENCH"]},
            )
        report.add(
            f"{label}: joinup single-event POST, 16 clients",
            single.requests_per_s,
            "events/s",
            ratio=(single.requests_per_s, raw_rates.get("single")),
            p50=single.p50_ms,
            p99=single.p99_ms,
            note=f"{single.errors} non-2xx",
        )
        _cpu_row(
            report, f"{label}: CPU per single-event POST", cpu, single.requests_per_s * args.seconds
        )
        for name, result in _reads(server, keys, len(people), args.seconds).items():
            report.add(
                f"{label}: {name}, 16 clients, alone",
                result.requests_per_s,
                "req/s",
                p50=result.p50_ms,
                p99=result.p99_ms,
                note=f"{result.errors} non-2xx",
            )
        more = ingest.batches(ingest.people(args.people // 2, first=2_000_000))
        during = _during(
            lambda: ingest.post_batches(server.url, keys, more),
            lambda: _reads(server, keys, len(people), args.seconds),
        )
        for name, result in during.items():
            report.add(
                f"{label}: {name}, 16 clients, during batch ingest",
                result.requests_per_s,
                "req/s",
                p50=result.p50_ms,
                p99=result.p99_ms,
                note=f"{result.errors} non-2xx",
            )
        for pid in server.worker_pids():
            report.add(f"{label}: peak RSS of server process {pid}", peak_rss_mb(pid), "MB")


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small volumes, short runs")
    parser.add_argument("--people", type=int, default=100_000, help="people posted through the API")
    parser.add_argument("--releases", type=int, default=1_000_000, help="national-scale releases")
    parser.add_argument(
        "--national-url", help="a database loaded by an earlier national run: time its reads only"
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["raw", "bare", "postgres", "sqlite", "history", "national", "notifications"],
    )
    args = parser.parse_args()
    if args.quick:
        args.people, args.releases, args.seconds = 5_000, 50_000, 4
    report = Report()
    print(
        f"joinup bench: {os.cpu_count()} cores, Python {platform.python_version()}; the load"
        " generators run on this same machine, beside the server and the database.",
        flush=True,
    )
    raw_rates: dict[str, float] = {}
    if "raw" not in args.skip:
        with postgres_database() as url:
            migrate(Settings(database_url=url))
            raw_rates["multi"] = raw.multi_row(url)
            raw_rates["single"] = raw.one_per_transaction(url)
            work = ingest.batches(ingest.people(args.people))
            raw_rates["executemany"] = raw.executemany(url, work)
        report.add(
            "PostgreSQL raw: 1,000-row multi-VALUES insert per commit", raw_rates["multi"], "rows/s"
        )
        report.add(
            "PostgreSQL raw: executemany of joinup's batch rows, 1,000 per commit",
            raw_rates["executemany"],
            "rows/s",
            note="the same events as joinup's batch ingest; its ratio's denominator",
        )
        report.add("PostgreSQL raw: one row per transaction", raw_rates["single"], "rows/s")
    if "postgres" not in args.skip:
        with postgres_database() as url:
            _joinup(report, "PostgreSQL", url, args, raw_rates)
    if "sqlite" not in args.skip:
        with sqlite_database() as url:
            _joinup(report, "SQLite", url, args, {})
    if "history" not in args.skip:
        for label, database in (("PostgreSQL", postgres_database), ("SQLite", sqlite_database)):
            with database() as url:
                migrate(Settings(database_url=url))
                history.run(report, label, url)
    if "notifications" not in args.skip:
        for label, database in (("PostgreSQL", postgres_database), ("SQLite", sqlite_database)):
            people = 2_000 if args.quick else 20_000
            notifications.run(report, label, database, people, args.seconds)
    # After joinup's figures: on these shared machines the two cores flat out for its wrk runs
    # slowed whatever ran next (joinup's batch ingest measured 2,400 events/s right after it,
    # 5,000-6,000 otherwise), and nothing here depends on its figures.
    if "bare" not in args.skip:
        _bare_ceiling(report, args.seconds)
    if "national" not in args.skip:
        national.run(report, args.releases, args.national_url)
    report.print()


if __name__ == "__main__":
    main()
