#!/usr/bin/env bash
# How the merge's cost grows with the number of polygons: real essonne parcels tiled out with
# offsets to N, plus 10 % duplicates from a second commune (half exact copies, half shifted
# 3 cm: key matcher + overlay), deduplicated by the merge stage. Wall time of the merge and
# peak RSS of the whole process (ingest of the scenario and generation included).
# Best merge time of RUNS runs (default 3; this machine is shared), largest peak RSS.
#   [RUNS=3] benches/merge-scale.sh [N ...]        default: 10000 100000 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
cargo build --release --quiet -p tuilerie-pipeline --example merge_scale
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
printf '%-9s %-9s %-10s %-10s %-9s %-9s\n' parcels input merged_away reported merge_s peak_MiB
runs=${RUNS:-3}
for n in "${sizes[@]}"; do
  best=999999 rss=0
  for _ in $(seq "$runs"); do
    out=$(/usr/bin/time -f '%M' -o "$tmp" target/release/examples/merge_scale "$n" 2>/dev/null)
    kv() { echo "$out" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
    best=$(awk -v a="$best" -v b="$(kv merge_s)" 'BEGIN{print (b<a)?b:a}')
    kb=$(cat "$tmp"); rss=$(( kb > rss ? kb : rss ))
  done
  printf '%-9s %-9s %-10s %-10s %-9s %-9s\n' "$n" "$(kv input)" "$(kv merged_away)" \
    "$(kv same_key_conflicts)" "$best" "$((rss / 1024))"
done
echo "threads: $(nproc); reported = duplicates kept as same-key conflicts (sliver parcels a 3 cm shift no longer overlaps)"
