#!/usr/bin/env bash
# Create .venv and install the project with its development extras, once per
# change of pyproject.toml. Explains what is missing instead of failing obscurely.
set -euo pipefail
VENV=${VENV:-.venv}
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt pyproject.toml ]]; then
  exit 0
fi

PYTHON=""
for candidate in ${PYTHON_FOR_VENV:-} python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    PYTHON=$candidate
    break
  fi
done
if [[ -z "$PYTHON" ]]; then
  echo "error: Python 3.11 or newer is required (with the venv module)." >&2
  echo "  Debian/Ubuntu: apt-get install -y python3 python3-venv" >&2
  exit 3
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  "$PYTHON" -m venv "$VENV" || {
    echo "error: could not create $VENV; Debian/Ubuntu: apt-get install -y python3-venv" >&2
    exit 3
  }
fi
echo "installing Coax and its development dependencies into $VENV ..."
"$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -m pip install -q -e '.[dev]' 2>&1 | grep -vE "^WARNING: Location|BuildBackendWarning|editable|^\s*!!|\*\*\*|Please be careful|name as your package|with strategy|^\s*$" || true
"$VENV/bin/python" -c 'import shared, flask, sqlalchemy, pg8000, google.cloud.pubsub, msal' || {
  echo "error: the installation into $VENV is incomplete (see pip's output above)" >&2
  exit 3
}
touch "$STAMP"
