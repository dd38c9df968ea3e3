#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs every test of the workspace.
# Tests that need ../shared/data skip (saying so) when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --release "$@"
