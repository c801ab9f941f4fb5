"""Every copy of a word list agrees with its one source, the enums of app/domain/vocabulary.py.

The wire needs `Literal`s (they are what the OpenAPI document lists) and a migration must keep
the words it was written with, so those copies stay; these tests fail the moment one drifts.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

from app.domain import hmpps, identifiers, metrics
from app.domain.changes import ChangeType
from app.domain.vocabulary import (
    EXCLUDING_RELEASE_TYPES,
    FLAG_BITS,
    SUPERVISED_RELEASE_TYPES,
    EventType,
    FlagCode,
    ReleaseType,
    Scheme,
    Stage,
)
from app.schemas import api as schemas
from app.schemas import audit as audit_schemas
from app.schemas import events as wire_events
from app.schemas import keys as key_schemas
from app.schemas import notifications as notification_schemas
from app.services import audit, importing, keys
from app.services.notifications.subscriptions import FILTERS

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _words(literal: Any) -> list[str]:
    return list(get_args(literal))


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, MIGRATIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_wire_event_types_are_the_vocabulary_in_its_order() -> None:
    models = get_args(get_args(wire_events.EventCreate)[0])
    assert [_words(model.model_fields["type"].annotation)[0] for model in models] == list(EventType)


def test_the_wire_release_types_are_the_vocabulary() -> None:
    assert _words(wire_events.ReleaseType) == list(ReleaseType)
    assert SUPERVISED_RELEASE_TYPES.isdisjoint(EXCLUDING_RELEASE_TYPES)
    assert set(hmpps.RELEASE_TYPES.values()) <= set(ReleaseType)


def test_the_wire_stages_and_flag_codes_are_the_vocabulary() -> None:
    assert _words(schemas.EventType) == list(EventType)
    assert _words(schemas.Stage) == list(Stage)
    assert _words(schemas.FlagCode) == list(FlagCode)


def test_flag_bits_are_the_stored_ones() -> None:
    # Masks of open flags are stored (release_change.open_flags): a bit may never move.
    stored = {"no_ost": 1, "no_naloxone": 2, "no_licence_condition": 4, "no_referral": 8}
    assert {**stored, "not_picked_up": 16} == FLAG_BITS


def test_the_schemes_are_the_vocabulary_everywhere() -> None:
    assert tuple(Scheme) == identifiers.SCHEMES
    assert list(wire_events.PersonIdentifiers.model_fields) == list(Scheme)
    assert [c for c in importing.CSV_COLUMNS if c in list(Scheme)] == list(Scheme)
    assert set(hmpps.SCHEMES.values()) <= set(Scheme)


def test_the_wire_change_types_roles_and_audit_actions_are_their_sources() -> None:
    assert _words(notification_schemas.ChangeType) == list(ChangeType)
    assert set(FILTERS) == set(notification_schemas.SubscriptionFilter.model_fields)
    assert set(_words(key_schemas.Role)) == set(keys.ROLES)
    assert set(_words(audit_schemas.What)) == set(audit.WHATS)


def test_the_event_types_of_keys_are_the_vocabulary() -> None:
    assert _words(schemas.EventType) == list(EventType)
    assert list(EventType) == _migration("2026-12-07_key_event_types").EVENT_TYPES


def test_the_tally_bits_migration_froze_the_count_order() -> None:
    # Bit i of a stored tally is COUNT_NAMES[i]: the order the migration packed them in.
    assert _migration("2026-11-26_release_tally_bits").COUNTS == metrics.COUNT_NAMES


def test_the_settled_fields_migration_names_stages_that_exist() -> None:
    where = _migration("2026-12-07_settled_record_fields")._WHERE
    named = re.findall(r"'([a-z_0-9]+)'", where)
    assert named == [Stage.NOT_IN_COHORT, Stage.EXCLUDED]
