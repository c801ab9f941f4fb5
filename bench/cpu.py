"""Where the machine's CPU went during a phase: the server's processes, PostgreSQL's, the rest.

Read from /proc (Linux): a process's user and system time, and the whole machine's busy time.
PostgreSQL's share counts every process named `postgres`, and what its postmaster has collected
of backends that ended meanwhile. "The rest" is the load generator (wrk, or the benchmark's own
client threads) and anything else the machine ran. On a virtual machine the hypervisor may give
the cores' time to another guest meanwhile (steal): that is no one's work here, and is shown
apart, as it slows every figure measured while it lasts.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def process_seconds(pid: int, children: bool = False) -> float:
    """CPU seconds of a process (and, with `children`, of the children it has waited for); 0
    once it is gone."""
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0.0
    # The fields after the command name, which may hold spaces and parentheses.
    fields = stat.rsplit(")", 1)[1].split()
    used = int(fields[11]) + int(fields[12])
    if children:
        used += int(fields[13]) + int(fields[14])
    return used / _TICKS


def _postgres_seconds() -> float:
    total = 0.0
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if comm == "postgres":
            # The postmaster (its parent is not a postgres) also counts its ended backends.
            postmaster = _comm(parent) != "postgres"
            total += process_seconds(int(entry.name), children=postmaster)
    return total


def _comm(pid: int) -> str:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def machine_seconds(stat_line: str) -> tuple[float, float]:
    """From the `cpu` line of /proc/stat: the seconds the cores spent busy (neither idle, nor
    waiting on I/O, nor taken by the hypervisor), and those the hypervisor took (steal), summed
    over the cores."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat_line.split()[1:9])
    busy = user + nice + system + irq + softirq
    return busy / _TICKS, steal / _TICKS


def _machine_seconds() -> tuple[float, float]:
    with open(_PROC / "stat") as stat:
        return machine_seconds(stat.readline())


@dataclass(frozen=True)
class _Reading:
    server: float
    postgres: float
    busy: float
    stolen: float


def _read(server_pids: Iterable[int], postgres: bool) -> _Reading:
    return _Reading(
        sum(process_seconds(pid) for pid in server_pids),
        _postgres_seconds() if postgres else 0.0,
        *_machine_seconds(),
    )


@dataclass
class CpuUse:
    """CPU seconds spent during a phase."""

    server: float = 0.0
    postgres: float | None = None  # None: not counted (a server on SQLite)
    busy: float = 0.0
    # Time the hypervisor gave the machine's cores to another guest. Not this machine's work,
    # but it stretches every figure measured meanwhile.
    stolen: float = 0.0

    @property
    def rest(self) -> float:
        return max(self.busy - self.server - (self.postgres or 0.0), 0.0)

    def each(self, units: float) -> float:
        """Microseconds of the machine's CPU per unit of work (an event, a request)."""
        return self.busy * 1e6 / units if units > 0 else float("nan")

    def split(self, units: float) -> str:
        """Who used that CPU, and the rate every core flat out would give at the same cost."""
        if units <= 0 or self.busy <= 0:
            return "no CPU figures"
        each, cores = 1e6 / units, os.cpu_count() or 1
        postgres = "" if self.postgres is None else f" PostgreSQL {self.postgres * each:,.0f} µs,"
        ceiling = units * cores / self.busy
        stolen = f"; the hypervisor took {self.stolen * each:,.0f} µs" if self.stolen else ""
        return (
            f"server {self.server * each:,.0f} µs,{postgres} load generator and the rest"
            f" {self.rest * each:,.0f} µs; {cores} cores flat out: {ceiling:,.0f}/s{stolen}"
        )


@contextmanager
def measured(server_pids: list[int], postgres: bool = True) -> Iterator[CpuUse]:
    """The CPU the server's processes, PostgreSQL (unless `postgres` is false) and the whole
    machine use inside the block."""
    use = CpuUse()
    before = _read(server_pids, postgres)
    try:
        yield use
    finally:
        after = _read(server_pids, postgres)
        use.server = after.server - before.server
        use.postgres = after.postgres - before.postgres if postgres else None
        use.busy = after.busy - before.busy
        use.stolen = after.stolen - before.stolen
