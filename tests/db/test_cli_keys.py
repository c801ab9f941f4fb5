"""`joinup keys`: create with a scope and event types, list, revoke (from the console)."""

from __future__ import annotations

import json

import pytest

from app.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    code = main(list(argv))
    lines = capsys.readouterr().out.splitlines()
    return code, [json.loads(line) for line in lines]


def test_keys_are_made_listed_and_revoked_from_the_console(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOINUP_DATABASE_URL", database_url)
    types = "community.referral.received,community.treatment.started"
    code, made = _run(
        capsys,
        *("keys", "create", "--org", "PROVIDER-WIGAN", "--role", "submitter"),
        *("--event-types", types, "--scope", '{"community_providers": ["PROVIDER-WIGAN"]}'),
    )
    assert code == 0
    key = made[0]
    assert key["event_types"] == types.split(",")
    assert key["scope"] == {"community_providers": ["PROVIDER-WIGAN"]}
    _, listed = _run(capsys, "keys", "list")
    assert [(k["key_id"], k["event_types"]) for k in listed] == [(key["key_id"], types.split(","))]
    assert _run(capsys, "keys", "revoke", str(key["key_id"]))[0] == 0
    assert _run(capsys, "keys", "list")[1] == []


def test_a_submitter_key_needs_event_types_on_the_console_too(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOINUP_DATABASE_URL", database_url)
    assert main(["keys", "create", "--org", "P", "--role", "submitter"]) == 2
    assert "event types" in capsys.readouterr().err
