"""What a process does as it starts, before it serves a request (app/main.py)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import routing

from tests.support.api import running


def test_every_route_is_built_before_the_first_request(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastAPI builds a router's routes when a request first reaches it, unless start-up has:
    # count the builds through its (private) hook, the one place they are made.
    built: list[str] = []
    build = routing._EffectiveRouteContext.from_api_route.__func__  # type: ignore[attr-defined]

    def counted(cls: Any, /, **given: Any) -> Any:
        built.append(given["original_route"].path)
        return build(cls, **given)

    monkeypatch.setattr(routing._EffectiveRouteContext, "from_api_route", classmethod(counted))
    with running(database_url) as api:
        at_start = list(built)
        assert api.person("nomis", "A1234BC").status_code == 404
        assert api.releases().status_code == 200
        assert api.client.get("/healthz").status_code == 200
    assert "/v1/people/{scheme}/{value:path}" in at_start
    assert "/v1/releases" in at_start
    assert built == at_start
