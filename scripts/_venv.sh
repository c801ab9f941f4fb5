# Sourced by the scripts: make .venv (if missing) and install the project into it when
# pyproject.toml has changed since the last install. $1 is the extra to install, if any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# The stamp records what was installed: the hash of pyproject.toml, then "dev" if the test
# tools were. A plain install is satisfied by either; a dev install only by a dev stamp.
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
stamp=$(cat .venv/.joinup-installed 2>/dev/null || true)
if [ "$stamp" != "$digest dev" ] && [ "$stamp" != "$digest ${1:-}" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "${1:-}" ]; then spec=".[$1]"; else spec="."; fi
  .venv/bin/python -m pip install --quiet -e "$spec"
  echo "$digest ${1:-}" > .venv/.joinup-installed
fi
scripts/assets
