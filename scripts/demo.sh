#!/usr/bin/env bash
# The main job on the bundled fixtures: ingest the four communes' deliveries, reproject them to
# Lambert-93 and merge them (dedup, boundary QA, renumbered ids), into out/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
target/release/tuilerie validate fixtures/essonne-fusion.toml
target/release/tuilerie build fixtures/essonne-fusion.toml --out out/fixtures "$@"
