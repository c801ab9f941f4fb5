"""The files the pages load, all served by joinup itself: GOV.UK Frontend's styles, fonts,
images and scripts from its published npm package (installed by scripts/assets), and joinup's
own few."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_GOVUK = REPOSITORY / "assets" / "node_modules" / "govuk-frontend" / "dist" / "govuk"
OWN = Path(__file__).resolve().parent / "static"


class AssetsMissing(RuntimeError):
    """GOV.UK Frontend is not installed where the settings say."""


def govuk_dir(settings: Settings) -> Path:
    found = Path(settings.govuk_frontend_dir) if settings.govuk_frontend_dir else DEFAULT_GOVUK
    if not (found / "govuk-frontend.min.css").is_file():
        raise AssetsMissing(
            f"GOV.UK Frontend is not installed in {found}: run scripts/assets "
            "(or set JOINUP_GOVUK_FRONTEND_DIR to its package's dist/govuk folder)"
        )
    return found


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve GOV.UK Frontend's compiled CSS and JavaScript under /assets/govuk, its fonts and
    images under /assets (where its CSS looks for them), and joinup's own under /static."""
    govuk = govuk_dir(settings)
    app.mount("/assets/govuk", StaticFiles(directory=govuk), name="govuk")
    app.mount("/assets", StaticFiles(directory=govuk / "assets"), name="govuk-assets")
    app.mount("/static", StaticFiles(directory=OWN), name="static")
