#!/usr/bin/env bash
# Whole-program comparison, same run, same inputs: `tuilerie build` on the essonne-fusion
# scenario (read 4 deliveries in 4 formats and CRSs, map, validate, reproject to Lambert-93,
# write FlatGeobuf + report) vs the anchor, GDAL's `ogr2ogr -t_srs EPSG:2154` writing each
# delivery to FlatGeobuf (reproject + write only, no mapping or validation).
# Wall time (best of N) and peak RSS of each, and their ratio.
#   benches/ingest-vs-ogr2ogr.sh [MANIFEST] [RUNS]
# The manifest's deliveries must be files ogr2ogr opens directly (not EDIGEO archives).
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=${1:-examples/essonne-fusion.toml}
runs=${2:-5}
[ -f "$manifest" ] || { echo "no $manifest"; exit 1; }
cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
base=$(dirname "$manifest")

# The deliveries of the manifest, as ogr2ogr sources (gzip through /vsigzip/).
mapfile -t sources < <(grep -E '^path *= *"' "$manifest" | sed -E 's/^path *= *"(.*)"/\1/' | grep -v communes-2018)
for s in "${sources[@]}"; do
  if [ -d "$base/$s" ] || [[ "$s" == *.tar.bz2 ]]; then
    echo "$s: ogr2ogr cannot read EDIGEO archives or folders directly; no anchor for this manifest" >&2
    exit 1
  fi
done

measure() { # label command...: best wall seconds and max RSS MiB over $runs runs
  local best=999999 rss=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || {
      echo "failed: $* ($(tail -1 "$tmp/err"))" >&2; exit 1; }
    read -r wall kb < "$tmp/t"
    best=$(awk -v a="$best" -v b="$wall" 'BEGIN{print (b<a)?b:a}')
    rss=$(( kb > rss ? kb : rss ))
  done
  echo "$best $((rss / 1024))"
}

ogr_all() {
  local i=0
  for s in "${sources[@]}"; do
    local p="$base/$s"
    case "$p" in *.gz) p="/vsigzip/$p";; esac
    ogr2ogr -f FlatGeobuf -t_srs EPSG:2154 "$tmp/ogr$i.fgb" "$p"
    i=$((i + 1))
  done
}
export -f ogr_all
export base tmp
declare -p sources > "$tmp/sources.sh"

# --full: every run does the whole job (a second build in the same folder would be an
# incremental no-change build); exit 1 is success with QA warnings.
read -r t_ours m_ours < <(measure bash -c '"$@" || [ $? -eq 1 ]' _ \
  target/release/tuilerie build -q --full "$manifest" --out "$tmp/ours")
read -r t_ogr m_ogr < <(measure bash -c "source $tmp/sources.sh; ogr_all")
features=$(python3 -c "import json;print(sum(d['read'] for d in json.load(open('$tmp/ours/report.json'))['deliveries']))")
printf '%-28s %10s %12s\n' "" "wall (s)" "peak RSS MiB"
printf '%-28s %10s %12s\n' "tuilerie build" "$t_ours" "$m_ours"
printf '%-28s %10s %12s\n' "ogr2ogr -t_srs (anchor)" "$t_ogr" "$m_ogr"
awk -v a="$t_ours" -v b="$t_ogr" -v n="$features" 'BEGIN{printf "ratio tuilerie/ogr2ogr: %.2f (time); %d features, %.0f features/s\n", a/b, n, n/a}'
