# Sourced by the scripts: make .venv (if missing) and install the project into it when
# pyproject.toml has changed since the last install. $1 is the extra to install, if any.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
want="${1:-}|$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat .venv/.joinup-installed 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "${1:-}" ]; then spec=".[$1]"; else spec="."; fi
  .venv/bin/python -m pip install --quiet -e "$spec"
  echo "$want" > .venv/.joinup-installed
fi
