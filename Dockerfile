# The joinup API server. Migrations are a separate, one-off step: `docker run IMAGE joinup migrate`.

# The pages' GOV.UK Frontend files, from its npm package at the version assets/package-lock.json pins.
FROM node:20-slim AS assets
WORKDIR /assets
COPY assets/package.json assets/package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/joinup

# The dependencies first, read from pyproject.toml alone, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY alembic.ini ./
COPY migrations ./migrations
COPY app ./app
COPY --from=assets /assets/node_modules/govuk-frontend/dist/govuk ./assets/node_modules/govuk-frontend/dist/govuk
# Editable, as scripts/serve installs it: `joinup migrate` finds alembic.ini and migrations/
# beside the package. ./var holds the SQLite file when JOINUP_DATABASE_URL is not set.
RUN pip install --no-deps -e . \
 && useradd --system --uid 10001 --no-create-home --home-dir /srv/joinup joinup \
 && mkdir var \
 && chown joinup var

USER joinup
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

# exec: uvicorn is PID 1 and gets the SIGTERM of `docker stop` itself, then finishes in-flight
# requests for up to 30 s (give `docker stop` a longer timeout than its default 10 s).
CMD ["sh", "-c", "exec uvicorn app.main:create_app --factory --host 0.0.0.0 --port 8000 --workers \"${JOINUP_WORKERS:-1}\" --timeout-graceful-shutdown 30 --no-access-log --no-server-header"]
