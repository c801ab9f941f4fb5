"""The one place that reads the environment: every JOINUP_* setting."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.rules import Rules

DEFAULT_DATABASE_URL = "sqlite:///./var/joinup.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOINUP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    database_url: str = DEFAULT_DATABASE_URL
    admin_key: SecretStr | None = None
    pickup_window_days: int = Field(default=21, ge=1)
    retention_days: int = Field(default=84, ge=1)
    ost_grace_days: int = Field(default=1, ge=0)
    max_batch: int = Field(default=1000, ge=1)
    # A person's counting events at most; an event past it is refused (person-history-full).
    max_events_per_person: int = Field(default=20_000, ge=1)
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Bodies sent before any key is checked (the pages' sign-in form): at most this many bytes.
    max_open_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Seconds a request may take to send its whole body; a slower one gets 408.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    pool_size: int = Field(default=10, ge=1)
    # Requests a minute per API key, per process (app/api/ratelimit.py); 0 turns the limit off.
    rate_limit_per_minute: int = Field(default=6000, ge=0)
    # One-event posts of an organisation that may share a transaction
    # (app/services/ingest/group_commit.py), and reads whose audit rows may
    # (app/db/audit.Trail); 1 gives each its own.
    group_commit: int = Field(default=100, ge=1)
    # Batch posts a process works on at once; the others wait their turn (app/api/deps.py).
    batch_concurrency: int = Field(default=1, ge=1)
    # Seconds between a PostgreSQL process's looks for tables grown enough to want fresh planner
    # statistics (app/db/statistics.py); 0 leaves them to autovacuum alone.
    analyze_seconds: float = Field(default=5.0, ge=0)
    # Background work in each server process (app/services/notifications/worker.py): webhooks
    # delivered, time-driven changes found, §8's pending domain events retried; 0 leaves it to
    # `joinup worker` processes (docs/notifications.md).
    inline_worker: bool = True
    # HMPPS domain events (CONTRACT §8, docs/hmpps.md): where licences are read, and the HMPPS
    # Auth client-credentials grant that reads them.
    cvl_url: str | None = None
    hmpps_auth_url: str | None = None
    hmpps_client_id: str | None = None
    hmpps_client_secret: SecretStr | None = None
    # SNS signatures are verified unless 0 (for tests only).
    sns_verify: bool = True
    # Hosts (host or host:port, comma-separated) trusted besides sns.<region>.amazonaws.com for
    # SNS signing certificates and subscription confirmations, and a CA bundle for their HTTPS:
    # for tests and private SNS-compatible services, never for production.
    sns_cert_hosts: str = ""
    sns_ca_file: str | None = None
    # Seconds before the first retry of a domain event kept pending (CVL or HMPPS Auth could not
    # be reached); each later retry waits twice as long, up to an hour.
    hmpps_retry_seconds: float = Field(default=30.0, gt=0, le=60)
    # Development only: webhooks may go to http and to loopback or private addresses.
    webhook_allow_insecure: bool = False
    # Seconds a webhook receiver has to answer.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Multiplies every retry delay and the 3 days before a subscription is disabled (tests run
    # the schedule in seconds).
    webhook_retry_scale: float = Field(default=1.0, gt=0)
    # Seconds between a worker's looks for new changes and due retries when it found none.
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    # Seconds between looks for changes that time alone makes (a pickup window closing).
    change_sweep_seconds: float = Field(default=3600.0, gt=0)
    # Encrypts webhook secrets at rest: any long random string. Unset: a key kept in
    # `secret_key_file`, made on first use (one machine only: set this with several).
    secret_key: SecretStr | None = None
    secret_key_file: str = "./var/secret.key"
    # Days added to the service's clock: for rehearsals and tests of time-driven changes only.
    clock_offset_days: int = 0
    # Hours a page session lasts after signing in (app/services/sessions.py).
    session_hours: float = Field(default=8.0, gt=0)
    # Where GOV.UK Frontend's compiled files are (its package's dist/govuk folder); by default
    # the copy scripts/assets installs under assets/node_modules.
    govuk_frontend_dir: str | None = None

    def rules(self) -> Rules:
        """The contract's rules with the windows and bounds configured here."""
        return Rules(
            pickup_window_days=self.pickup_window_days,
            retention_days=self.retention_days,
            ost_grace_days=self.ost_grace_days,
            max_events_per_person=self.max_events_per_person,
        )
