"""/metrics with several workers and PROMETHEUS_MULTIPROC_DIR: any worker reports every worker's
requests, not just its own."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import ADMIN, serve


def _writers(directory: Path) -> set[str]:
    """The processes that have counted something (prometheus_client names files by pid)."""
    return {path.stem.split("_")[-1] for path in directory.glob("counter_*.db")}


def _healthz_count(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "joinup_http_requests_total" and sample.labels["route"] == "/healthz"
    )


def test_every_worker_is_counted(tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "JOINUP_ADMIN_KEY": ADMIN}
    database_url = f"sqlite:///{tmp_path / 'joinup.db'}"
    with serve(database_url, tmp_path / "server.log", workers=2, env=env) as server:
        sent = 0
        # A new connection each time, so that both workers get some (the kernel picks one).
        while (sent < 20 or len(_writers(directory)) < 2) and sent < 400:
            assert httpx.get(f"{server.url}/healthz").status_code == 200
            sent += 1
        assert len(_writers(directory)) == 2, "one worker answered every request"
        admin = {"Authorization": f"Bearer {ADMIN}"}
        scrapes = [httpx.get(f"{server.url}/metrics", headers=admin).text for _ in range(4)]
    assert [_healthz_count(text) for text in scrapes] == [sent] * 4
