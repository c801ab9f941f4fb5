"""The files the pages load, all served by joinup itself: GOV.UK Frontend's styles, fonts,
images and scripts from its published npm package (installed by scripts/assets), and joinup's
own few."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from app.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]
DEFAULT_GOVUK = REPOSITORY / "assets" / "node_modules" / "govuk-frontend" / "dist" / "govuk"
OWN = Path(__file__).resolve().parent / "static"

log = logging.getLogger("joinup.web")


def govuk_dir(settings: Settings) -> Path:
    """Where GOV.UK Frontend is. When it is missing the API serves on and the pages lose their
    styles (scripts/serve and the Dockerfile always install it): say so loudly."""
    found = Path(settings.govuk_frontend_dir) if settings.govuk_frontend_dir else DEFAULT_GOVUK
    if not (found / "govuk-frontend.min.css").is_file():
        log.error(
            "GOV.UK Frontend is not installed in %s: the pages have no styles. Run scripts/assets "
            "(or set JOINUP_GOVUK_FRONTEND_DIR to its package's dist/govuk folder)",
            found,
        )
    return found


def mount(app: FastAPI, settings: Settings) -> None:
    """Serve GOV.UK Frontend's compiled CSS and JavaScript under /assets/govuk, its fonts and
    images under /assets (where its CSS looks for them), and joinup's own under /static."""
    govuk = govuk_dir(settings)
    app.mount("/assets/govuk", StaticFiles(directory=govuk, check_dir=False), name="govuk")
    app.mount(
        "/assets", StaticFiles(directory=govuk / "assets", check_dir=False), name="govuk-assets"
    )
    app.mount("/static", StaticFiles(directory=OWN), name="static")
