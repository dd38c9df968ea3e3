#!/usr/bin/env bash
# `tuilerie serve` against martin, in the same run, serving the same PMTiles (the merged
# essonne archive of `tuilerie build examples/essonne-fusion.toml`, or the fixture's when
# ../shared is absent): wrk on loopback cycling through the same list of every real tile URL of
# zooms 14–18 (gzip accepted, as map clients do), 64 connections, DURATION seconds (default 30)
# each, one server after the other. Prints requests/s and p99 latency of each and the ratios.
#   [DURATION=30] benches/serve-vs-martin.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# martin 1.14.0: the newest for rustc 1.95; its default features build maplibre_native, which
# downloads native libraries: PMTiles and MBTiles serving is all this comparison needs.
command -v martin >/dev/null ||
  cargo install martin@1.14.0 --locked --no-default-features --features pmtiles,mbtiles
cargo build --release --quiet
duration=${DURATION:-30}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

manifest=examples/essonne-fusion.toml
[ -d ../shared/data/scenarios/essonne-fusion ] || manifest=fixtures/essonne-fusion.toml
# Exit 1: built, with QA warnings (the scenarios have findings along the old boundaries).
target/release/tuilerie build "$manifest" --out "$work/out" -q >/dev/null 2>&1 || [ $? -eq 1 ]
archive="$work/out/tiles.pmtiles"

# Every tile of zooms 14–18, as /tiles/z/x/y (both servers name the source after the file).
python3 - "$archive" "$work/urls.txt" <<'EOF'
import sys
from pmtiles.reader import Reader, MmapSource, all_tiles
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "w") as out:
    n = 0
    for (z, x, y), _ in all_tiles(Reader(MmapSource(f)).get_bytes):
        if z >= 14:
            out.write(f"/tiles/{z}/{x}/{y}\n")
            n += 1
print(f"{n} tile URLs", file=sys.stderr)
EOF
cat >"$work/urls.lua" <<'EOF'
local paths = {}
for line in io.lines(os.getenv("URLS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end
EOF

wait_up() {
  for _ in $(seq 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "server at $1 did not start" >&2
  exit 1
}

# requests/s and p99 (ms) of a wrk run against $1
load() {
  local out
  out=$(URLS="$work/urls.txt" wrk -t2 -c64 -d"${duration}s" --latency -s "$work/urls.lua" "$1")
  echo "$out" >&2
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}')
  local errors
  errors=$(echo "$out" | awk '/Non-2xx or 3xx/ {print $5}')
  echo "$rps $p99 ${errors:-0}"
}

target/release/tuilerie serve "$archive" --bind 127.0.0.1:3901 >/dev/null 2>&1 &
pids+=($!)
wait_up http://127.0.0.1:3901/tiles
read -r t_rps t_p99 t_err <<<"$(load http://127.0.0.1:3901)"
kill "${pids[-1]}"

martin --listen-addresses 127.0.0.1:3902 "$archive" >/dev/null 2>&1 &
pids+=($!)
wait_up http://127.0.0.1:3902/tiles
read -r m_rps m_p99 m_err <<<"$(load http://127.0.0.1:3902)"

echo
echo "| server | requests/s | p99 latency | non-2xx/3xx |"
echo "|---|---|---|---|"
echo "| martin $(martin --version | awk '{print $2}') | $m_rps | ${m_p99} ms | $m_err |"
echo "| tuilerie serve | $t_rps | ${t_p99} ms | $t_err |"
awk -v a="$t_rps" -v b="$m_rps" -v c="$t_p99" -v d="$m_p99" -v n="$(nproc)" -v s="$duration" \
  'BEGIN{printf "tuilerie / martin: throughput %.2f, p99 %.2f (wrk -t2 -c64 -d%ss, %s cores)\n", a/b, c/d, s, n}'
