from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.api import Api, running


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    with running(database_url) as client:
        yield client
