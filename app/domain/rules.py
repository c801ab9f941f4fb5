"""The rule settings a derivation is made with (CONTRACT §1 settings, §4 notation)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rules:
    """W, K and G of §4; passed in so derivation never reads the environment."""

    pickup_window_days: int = 21
    retention_days: int = 84
    ost_grace_days: int = 1
    # Not a rule of §4 but the bound writes hold a person's history to (counting events):
    # real histories stay far below it; an absurd one would make every write about them slow.
    max_events_per_person: int = 20_000
