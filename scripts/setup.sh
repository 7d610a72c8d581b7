#!/usr/bin/env bash
# One idempotent set-up for a fresh machine: system packages (when root), the virtualenv with the
# pinned dependencies, then the project's own caches, database and default models (`fitroom setup`).
# Every step checks whether its work is already done, so running it again costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=.venv
# chromium and CJK fonts: the web tests' headless browser (Playwright drives Debian's build) and the
# widget's Simplified Chinese text
APT_PACKAGES="libegl1 libegl-mesa0 libgl1-mesa-dri libgl1 libglib2.0-0 chromium fonts-noto-cjk"

missing_apt() {
  local missing=()
  for p in $APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

if command -v dpkg-query >/dev/null 2>&1; then
  need=$(missing_apt)
  if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "==> installing Debian packages: $need"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
      echo "!! missing Debian packages (rendering needs them): $need — run as root: apt-get install $need" >&2
    fi
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi

stamp="$VENV/.fitroom-deps"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing pinned dependencies (first time: a few minutes)"
  # (the grep drops pip's notes about this machine's absent local index folders)
  "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev,eval]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$want" > "$stamp"
fi

# the web pages' assets (three.js, Swagger UI, ReDoc from the committed npm lockfile), built into web/dist
# when missing or older than the lockfile or any source
if command -v npm >/dev/null 2>&1; then
  built=web/dist/.built
  if [ ! -f "$built" ] || [ -n "$(find web/package-lock.json web/build.mjs web/src -newer "$built" -print -quit)" ]; then
    echo "==> building the web pages (npm ci && npm run build)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
  fi
else
  echo "!! npm not found: the web pages (/studio, /dashboard, /widget.js, /docs) need Node.js 20 and npm" >&2
fi

"$VENV/bin/fitroom" setup
