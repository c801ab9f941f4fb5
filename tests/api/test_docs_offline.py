"""/docs and /redoc load nothing from another host: on a network without the internet they
still work (CONTRACT §9)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from tests.support.api import Api

# Every address an HTML page can name: attributes, and any absolute URL in its scripts.
_NAMED = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?([^"')\s>]+)""")
_ABSOLUTE = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>]*""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_name_no_other_host_and_their_assets_are_served(api: Api, path: str) -> None:
    page = api.client.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert _ABSOLUTE.findall(page.text) == []
    named = _NAMED.findall(page.text)
    assets = [url for url in named if url.endswith((".js", ".css", ".png"))]
    assert len(assets) >= (3 if path == "/docs" else 2), named
    for url in named:
        assert not urlsplit(url).netloc, url
    for url in assets:
        answer = api.client.get(url)
        assert answer.status_code == 200, url
        assert len(answer.content) > 1000, url
    # The script each page starts with is served too, and names the local OpenAPI document.
    assert "/openapi.json" in page.text
