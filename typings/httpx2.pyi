# Starlette's test client imports httpx2 when it can and falls back on httpx, which is what this
# project installs: this stub tells mypy that httpx2 is httpx, so the test client's answers are
# typed (`httpx.Response`) instead of Any.
from httpx import *  # noqa: F403
