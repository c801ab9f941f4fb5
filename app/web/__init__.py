"""The pages for people (CONTRACT §9): server-rendered HTML beside the API, on the same services,
with the same roles, scopes and audit. Routes here are thin like the API's; the only things of
their own are the session's cookie and form tokens (`signing`) and how a record is told in words
(`words`), drawn (`charts`) and laid out (`templates/`)."""

from __future__ import annotations

from fastapi import FastAPI

from app.settings import Settings
from app.web import assets
from app.web.routes import overview, people, releases, sign_in


def install(app: FastAPI, settings: Settings) -> None:
    for module in (sign_in, overview, releases, people):
        app.include_router(module.router)
    assets.mount(app, settings)
