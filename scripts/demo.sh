#!/usr/bin/env bash
# The main job on the bundled fixtures: ingest the four communes' deliveries into one layer per
# theme in Lambert-93, with the rejects and the report, in out/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
target/release/tuilerie validate fixtures/essonne-fusion.toml
target/release/tuilerie build fixtures/essonne-fusion.toml --out out/fixtures "$@"
