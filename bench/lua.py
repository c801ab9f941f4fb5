"""wrk scripts. Each wrk thread numbers its own requests, so ids never collide across threads."""

from __future__ import annotations

import tempfile
from pathlib import Path

_THREADS = """
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
local function letter(k) return string.sub(letters, k + 1, k + 1) end
-- The demo generator's NOMIS number of person i (app/demo/year.py).
function nomis(i)
  return letter(math.floor(i / 10000) % 23) .. string.format("%04d", i % 10000)
    .. letter(math.floor(i / 230000) % 23) .. "D"
end
local people = tonumber(os.getenv("BENCH_PEOPLE") or "1")
local auth = "Bearer " .. (os.getenv("BENCH_KEY") or "")
"""

BARE_POST = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"event_id": "mdi-hc-000123", "type": "prison.released", "occurred_on": "2026-03-02",'
  .. ' "nomis": "A1234BC", "crn": "X123456", "prison": "MDI", "release_type": "hdc",'
  .. ' "local_authority": "E08000010", "probation_region": "North West",'
  .. ' "community_provider": "PROVIDER-WIGAN"}'
"""

SINGLE_EVENT = (
    _THREADS
    + """
function request()
  counter = counter + 1
  local i = math.random(0, people - 1)
  local body = string.format(
    '{"event_id": "bench-%d-%d", "type": "community.referral.received", '
    .. '"occurred_on": "2019-10-01", "person": {"nomis": "%s"}, '
    .. '"data": {"provider": "PROVIDER-BENCH"}}', tid, counter, nomis(i))
  return wrk.format("POST", "/v1/events",
    {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end
"""
)

PERSON_VIEW = (
    _THREADS
    + """
function request()
  local i = math.random(0, people - 1)
  return wrk.format("GET", "/v1/people/nomis/" .. nomis(i), {["Authorization"] = auth})
end
"""
)

GAP_LIST = (
    _THREADS
    + """
function request()
  return wrk.format("GET", "/v1/releases?limit=50", {["Authorization"] = auth})
end
"""
)


def script(source: str) -> Path:
    """The script in a file for wrk (left in the temporary folder)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(source)
    return Path(handle.name)
