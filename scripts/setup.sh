#!/usr/bin/env bash
# Install the system packages tuilerie builds and tests with, when they are missing.
# Idempotent and quiet when everything is present. Debian 12 (root or sudo).
set -euo pipefail

# Build: GDAL 3.6 and PROJ 9.1 libraries with pkg-config files; IGN's NTF grid (proj-data).
# Tests: the independent tools we check against (ogr2ogr/ogrinfo, cs2cs).
# Benches: /usr/bin/time for peak memory, wrk for HTTP load.
# Viewer test: chromium (headless, software WebGL) driven by node (npm packages below).
packages=(pkg-config libgdal-dev gdal-bin libproj-dev proj-bin proj-data libsqlite3-dev time
  wrk chromium)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere than Debian (nodesource's nodejs bundles npm): only when absent.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The NTF grid must be where PROJ looks: tuilerie refuses NTF input without it.
if [ ! -e /usr/share/proj/ntf_r93.gsb ] && [ ! -e /usr/share/proj/fr_ign_ntf_r93.tif ]; then
  echo "setup: warning: IGN's NTF grid (ntf_r93.gsb) is missing from /usr/share/proj; NTF input will be refused" >&2
fi

# Tests: the independent tile decoders and geometry checks (Python), per domain.md §7.
if ! python3 -c "import pmtiles, mapbox_vector_tile, shapely" 2>/dev/null; then
  echo "setup: installing the Python packages pmtiles, mapbox-vector-tile and shapely" >&2
  if ! python3 -m pip --version >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  pip=(python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)
  # Debian's own Python refuses pip installs (PEP 668) unless told these are the user's call.
  "${pip[@]}" pmtiles mapbox-vector-tile shapely >/dev/null 2>&1 ||
    "${pip[@]}" --break-system-packages pmtiles mapbox-vector-tile shapely >/dev/null
fi

# Viewer test: MapLibre GL JS (served locally, so the page works offline) and puppeteer-core
# (drives the system chromium), pinned by tests/tools/package-lock.json.
tools="$(dirname "$0")/../tests/tools"
if [ ! -e "$tools/node_modules/maplibre-gl/dist/maplibre-gl.js" ] || [ ! -d "$tools/node_modules/puppeteer-core" ]; then
  echo "setup: installing the npm packages of tests/tools (maplibre-gl, puppeteer-core)" >&2
  (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
