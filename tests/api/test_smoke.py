from __future__ import annotations

import gc

from app.tuning import GC_YOUNG_THRESHOLD
from tests.support.api import Api, running


def released(event_id: str = "rel-1", nomis: str = "A1234BC") -> dict[str, object]:
    return {
        "event_id": event_id,
        "type": "prison.released",
        "occurred_on": "2026-03-02",
        "person": {"nomis": nomis},
        "data": {"prison": "MDI", "release_type": "conditional_release"},
    }


def test_post_and_read(api: Api) -> None:
    answer = api.post(released())
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "accepted"
    again = api.post(released())
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    view = api.person("nomis", "a1234bc", as_of="2026-03-05")
    assert view.status_code == 200, view.text
    assert view.json()["releases"][0]["stage"] == "not_in_cohort"


def test_the_first_app_keeps_what_start_up_built_out_of_full_collections(
    database_url: str,
) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    with running(database_url) as api:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert api.person("nomis", "A1234BC").status_code == 404
    # A second app in the same process freezes nothing more (objects only leave the frozen
    # set, as they are freed), so the first app's garbage stays collectable.
    with running(database_url):
        assert gc.get_freeze_count() <= frozen
