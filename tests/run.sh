#!/usr/bin/env bash
# The one test command: installs what the tests need (Python packages, Debian's chromium, redis-server and curl),
# then runs ruff, mypy and the whole pytest suite. curl runs the README's own commands.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -r requirements-dev.txt
if ! command -v chromium >/dev/null || ! command -v redis-server >/dev/null || ! command -v curl >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium redis-server curl >/dev/null
fi
python3 -m ruff check app tests bench deploy
python3 -m ruff format --check app tests bench deploy
python3 -m mypy
python3 -m pytest "$@"
