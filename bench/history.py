"""Long histories: what one more event costs a person with many releases, and whether a big
batch about one person stalls the process.

For each size N, a new person gets N releases (each after a prison treatment start, one every
18 days from 2000 on: recalls inside the pickup window included) in one batch; then five single
events about them, each a community treatment start a few days after a release in the middle of
the history, are posted one at a time and timed by the server's own request duration histogram
(the median counts). The growth exponent is
log(t_largest / t_smallest) / log(N_largest / N_smallest): 1 is linear, 2 quadratic.

Then a 1,000-event batch about one new person goes in while another client asks `/healthz`
every 10 ms: the slowest answer, and the worst event-loop lag the server's own gauge saw.
One server process, so that the lag and the batch are the same event loop's.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from datetime import date, timedelta
from typing import Any

import httpx

from bench.cpu import process_seconds
from bench.infra import ADMIN, joinup
from bench.ingest import make_keys
from bench.report import Report

SIZES = (30, 60, 120, 240, 480)
_ORG = "HMP-BENCH-HISTORY"
_FIRST = date(2000, 1, 10)
_SPACING = 18
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _nomis(n: int) -> str:
    return f"H{n % 10_000:04d}{_LETTERS[n // 10_000 % 24]}{_LETTERS[n // 240_000 % 24]}"


def _release_on(k: int) -> date:
    return _FIRST + timedelta(days=_SPACING * k)


def history(person: int, releases: int) -> list[dict[str, Any]]:
    """`releases` releases of one person, each after a prison treatment start."""
    who = {"nomis": _nomis(person)}
    events: list[dict[str, Any]] = []
    for k in range(releases):
        released = _release_on(k)
        events.append(
            {
                "event_id": f"h{person}-t{k}",
                "type": "prison.treatment.started",
                "occurred_on": str(released - timedelta(days=7)),
                "person": who,
                "data": {"prison": "MDI", "substance_group": "opiate", "on_ost": k % 2 == 0},
            }
        )
        events.append(
            {
                "event_id": f"h{person}-r{k}",
                "type": "prison.released",
                "occurred_on": str(released),
                "person": who,
                "data": {"prison": "MDI", "release_type": "conditional_release"},
            }
        )
    return events


def _start(person: int, after_release: int) -> dict[str, Any]:
    return {
        "event_id": f"h{person}-s{after_release}",
        "type": "community.treatment.started",
        "occurred_on": str(_release_on(after_release) + timedelta(days=3)),
        "person": {"nomis": _nomis(person)},
        "data": {"provider": "PROVIDER-BENCH"},
    }


def _one_more(client: httpx.Client, pid: int, person: int, releases: int) -> tuple[float, float]:
    """The median server time, in ms, of five single events about a person with this history
    (the request duration histogram's sum before and after each); and the server process's CPU
    time per event, in ms, over twenty more (the clock's figure also counts the time a loaded
    machine gave the process no core, its CPU time does not)."""
    answer = client.post("/v1/events/batch", json={"events": history(person, releases)})
    answer.raise_for_status()
    timings = []
    for k in range(5):
        before = _server_seconds(client)
        client.post("/v1/events", json=_start(person, releases // 2 + k)).raise_for_status()
        timings.append((_server_seconds(client) - before) * 1000)
    cpu = process_seconds(pid)
    for k in range(5, 25):
        client.post("/v1/events", json=_start(person, (releases // 2 + k) % releases))
    return statistics.median(timings), (process_seconds(pid) - cpu) * 1000 / 20


def _metrics(client: httpx.Client) -> list[str]:
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN}"})
    return scrape.text.splitlines()


def _server_seconds(client: httpx.Client) -> float:
    """The time the server has spent answering single-event posts so far."""
    total = 0.0
    for line in _metrics(client):
        if line.startswith("joinup_http_request_duration_seconds_sum{") and (
            'route="/v1/events"' in line and 'method="POST"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


LAG, BUSY = "joinup_event_loop_lag_seconds", "joinup_event_loop_busy_seconds"


def lag_buckets(client: httpx.Client, name: str = LAG) -> dict[float, float]:
    """An event-loop histogram's cumulative counts by upper bound (seconds), summed over the
    process's label sets; empty when the server does not measure it."""
    counts: dict[float, float] = {}
    for line in _metrics(client):
        if line.startswith(f"{name}_bucket{{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            upper = math.inf if bound == "+Inf" else float(bound)
            counts[upper] = counts.get(upper, 0.0) + float(line.rsplit(" ", 1)[1])
    return counts


def worst_between(before: dict[float, float], after: dict[float, float]) -> float | None:
    """The smallest bucket bound (seconds) under which every lag sampled between the two
    readings lay."""
    new = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    if not new:
        return None
    total = new[math.inf]
    return min(bound for bound, count in new.items() if count >= total)


def _during_batch(url: str, client: httpx.Client, person: int) -> tuple[float, dict[str, float]]:
    """The slowest /healthz answer (ms) while a 1,000-event batch about one person is stored,
    and the worst event-loop lag and busy time (ms) seen meanwhile."""
    done = threading.Event()
    slowest = [0.0]

    def probe() -> None:
        with httpx.Client(base_url=url, timeout=60) as prober:
            while not done.is_set():
                started = time.perf_counter()
                prober.get("/healthz").raise_for_status()
                slowest[0] = max(slowest[0], (time.perf_counter() - started) * 1000)
                time.sleep(0.01)

    before = {name: lag_buckets(client, name) for name in (LAG, BUSY)}
    thread = threading.Thread(target=probe)
    thread.start()
    try:
        answer = client.post("/v1/events/batch", json={"events": history(person, 500)})
        answer.raise_for_status()
    finally:
        done.set()
        thread.join()
    found = {name: worst_between(before[name], lag_buckets(client, name)) for name in before}
    return slowest[0], {name: seconds * 1000 for name, seconds in found.items() if seconds}


def run(report: Report, label: str, url: str) -> None:
    with joinup(url, workers=1) as server:
        key = make_keys(server.url, ADMIN, [_ORG])[_ORG]
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.url, timeout=600, headers=headers) as client:
            timings = {}
            pid = server.worker_pids()[0]
            for n, releases in enumerate(SIZES):
                timings[releases], cpu = _one_more(client, pid, n + 1, releases)
                report.add(
                    f"{label}: one more event, person with {releases} releases",
                    timings[releases],
                    "ms",
                    note=f"server time, median of 5; server CPU {cpu:.1f} ms an event",
                )
            low, high = SIZES[0], SIZES[-1]
            exponent = math.log(timings[high] / timings[low]) / math.log(high / low)
            report.add(
                f"{label}: growth exponent of one more event, {low} to {high} releases",
                exponent * 100,
                "/100",
                note=f"{exponent:.2f} (1 linear, 2 quadratic)",
            )
            healthz, lag = _during_batch(server.url, client, 100)
            report.add(
                f"{label}: slowest /healthz during a 1,000-event one-person batch", healthz, "ms"
            )
            for name, what in ((LAG, "lag"), (BUSY, "busy time (CPU)")):
                if name in lag:
                    report.add(
                        f"{label}: worst event-loop {what} during that batch",
                        lag[name],
                        "ms",
                        note="at most: the histogram's bucket bound",
                    )
