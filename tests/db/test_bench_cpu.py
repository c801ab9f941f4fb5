"""The benchmark's CPU accounting (bench/cpu.py) finds the time where it was spent: in the
server's processes, in PostgreSQL's (backends that ended meanwhile too), and on the machine."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from bench.cpu import CpuUse, machine_seconds, measured, process_seconds

BURN = "SELECT count(*) FROM generate_series(1, 4000000)"
TICKS = os.sysconf("SC_CLK_TCK")


def _spin(seconds: float) -> None:
    until = time.process_time() + seconds
    while time.process_time() < until:
        pass


def _libpq(engine: Engine) -> str:
    return make_url(engine.url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_process_cpu_time_grows_as_it_works() -> None:
    before = process_seconds(os.getpid())
    _spin(0.3)
    assert process_seconds(os.getpid()) - before >= 0.25


def test_a_process_that_is_gone_has_used_nothing() -> None:
    assert process_seconds(2**22 + 1) == 0.0


def test_the_server_processes_and_the_machine_are_counted(
    postgres_database: tuple[str, Engine],
) -> None:
    _, engine = postgres_database
    with psycopg.connect(_libpq(engine)) as conn:
        backend = conn.info.backend_pid
        with measured([os.getpid()]) as cpu:
            _spin(0.3)
            before = process_seconds(backend)
            conn.execute(BURN).fetchone()
            burnt = process_seconds(backend) - before
    assert cpu.server >= 0.25
    assert cpu.busy >= (cpu.server + burnt) * 0.9
    # What this test's backend spent is in PostgreSQL's share (which also holds whatever other
    # backends spent meanwhile), not in the server's.
    assert burnt >= 0.05
    assert cpu.postgres is not None and cpu.postgres >= burnt * 0.9, (cpu, burnt)
    assert cpu.server < 0.3 + burnt * 0.5, (cpu, burnt)


def test_a_postgres_backend_that_ended_meanwhile_is_counted(
    postgres_database: tuple[str, Engine],
) -> None:
    _, engine = postgres_database
    with measured([]) as cpu:
        with psycopg.connect(_libpq(engine)) as conn:
            pid = conn.info.backend_pid
            before = process_seconds(pid)
            conn.execute(BURN).fetchone()
            burnt = process_seconds(pid) - before
        # The postmaster has waited for the backend: its time is in the postmaster's account.
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")
    # The backend's own time, read just before it ended, is still counted once it has gone.
    assert burnt >= 0.05
    assert cpu.postgres is not None and cpu.postgres >= burnt * 0.9, (cpu, burnt)
    assert cpu.server == 0.0


def test_postgres_is_left_out_when_the_server_has_none() -> None:
    with measured([os.getpid()], postgres=False) as cpu:
        _spin(0.1)
    assert cpu.postgres is None
    assert "PostgreSQL" not in cpu.split(10)


def test_the_figures_per_unit_name_each_share_and_the_ceiling() -> None:
    with measured([os.getpid()]) as cpu:
        _spin(0.2)
    line = cpu.split(100)
    assert line.startswith(f"server {cpu.server * 1e4:,.0f} µs, PostgreSQL")
    assert f"{os.cpu_count()} cores flat out: {100 * (os.cpu_count() or 1) / cpu.busy:,.0f}/s" in (
        line
    )
    assert cpu.each(100) == pytest.approx(cpu.busy * 1e4)


def test_the_machine_is_busy_with_its_own_work_not_with_what_the_hypervisor_took() -> None:
    # /proc/stat's fields, in clock ticks: user nice system idle iowait irq softirq steal guest
    # guest_nice (guest time is already counted in user).
    busy, stolen = machine_seconds("cpu  100 5 20 900 30 1 2 40 7 0")
    assert busy == pytest.approx(128 / TICKS)
    assert stolen == pytest.approx(40 / TICKS)


def test_the_time_the_hypervisor_took_is_shown_apart() -> None:
    taken = CpuUse(server=1.0, busy=2.0, stolen=0.5).split(1000)
    assert taken.endswith("/s; the hypervisor took 500 µs")
    assert "hypervisor" not in CpuUse(server=1.0, busy=2.0).split(1000)
