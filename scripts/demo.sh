#!/usr/bin/env bash
# The main job on the bundled fixtures: ingest the four communes' deliveries, reproject them to
# Lambert-93, merge them (dedup, boundary QA, renumbered ids) and tile them, into out/fixtures;
# then serve the merged map with its viewer at http://127.0.0.1:3000/ (Ctrl-C stops it).
# DEMO_SERVE=0 stops after the build (CI, scripts); TUILERIE_BIND picks another address.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
target/release/tuilerie validate fixtures/essonne-fusion.toml
# Exit 1 means built and published with QA warnings (the fixture has findings along the old
# boundaries, listed in out/fixtures/merged.gpkg's qa layer): the demo goes on.
target/release/tuilerie build fixtures/essonne-fusion.toml --out out/fixtures "$@" || [ $? -eq 1 ]
if [ "${DEMO_SERVE:-1}" != 0 ]; then
  bind=${TUILERIE_BIND:-127.0.0.1:3000}
  echo "serving the merged map: open http://$bind/ (Ctrl-C to stop)"
  # MapLibre from the local npm copy that setup installed: the viewer works offline.
  exec target/release/tuilerie serve essonne=out/fixtures/tiles.pmtiles --bind "$bind" \
    --maplibre tests/tools/node_modules/maplibre-gl/dist
fi
