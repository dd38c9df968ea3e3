#!/usr/bin/env bash
# Nightly rebuilds of the essonne scenario (../shared/data/scenarios/essonne-fusion, four
# communes, 17 686 parcels; the bundled fixtures when ../shared is absent), side by side in the
# same run, on a copy of the deliveries:
#   - full:       `tuilerie build --full` (everything read, merged, tiled, written);
#   - no change:  `tuilerie build` again (nothing to do but check the deliveries' stamps);
#   - one change: Athis-Mons delivers again with 4 parcels removed, 3 moved, 3 edited and 2
#                 added (each run alternates between that version and the original, so every
#                 run has one changed delivery).
# Per case: best wall time of RUNS runs (default 5), largest peak RSS, and the ratio to the full
# build. The last incremental archive is then compared, byte for byte, with a full build of
# the same inputs (a fast but wrong rebuild cannot pass).
#   [RUNS=5] benches/rebuild.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/tuilerie
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=${RUNS:-5}

src=../shared/data/scenarios/essonne-fusion
if [ -d "$src" ]; then
  cp -r "$src" "$work/essonne-fusion"
  sed 's|../../shared/data/scenarios/essonne-fusion/|essonne-fusion/|' \
    examples/essonne-fusion.toml > "$work/essonne.toml"
  what="essonne scenario (../shared)"
else
  cp -r fixtures/essonne-fusion "$work/essonne-fusion"
  cp fixtures/essonne-fusion.toml "$work/essonne.toml"
  what="bundled fixtures (../shared absent)"
fi
chmod -R u+w "$work"
delivery="$work/essonne-fusion/91027-athis-mons/cadastre-91027-parcelles.json.gz"
cp "$delivery" "$work/v1.json.gz"
python3 - "$delivery" "$work/v2.json.gz" <<'EOF'
import copy, gzip, json, sys
doc = json.load(gzip.open(sys.argv[1]))
fs = doc["features"]
def shift(g, dx, dy):
    def rec(c):
        return [c[0] + dx, c[1] + dy] if isinstance(c[0], (int, float)) else [rec(x) for x in c]
    g["coordinates"] = rec(g["coordinates"])
del fs[10:14]
for f in fs[20:23]:
    shift(f["geometry"], 0.00007, 0.00004)
for f in fs[30:33]:
    f["properties"]["contenance"] = (f["properties"].get("contenance") or 0) + 1
for i, f in enumerate(copy.deepcopy(fs[40:42])):
    shift(f["geometry"], 0.0004, 0.0)
    f["properties"]["numero"] = "99%02d" % i
    fs.append(f)
with gzip.open(sys.argv[2], "wt") as o:
    json.dump(doc, o)
EOF

# One build; exit 1 (built, with QA warnings) is success. Prints "seconds MiB".
build() {
  /usr/bin/time -f '%e %M' -o "$work/t" "$bin" build -q "$@" >/dev/null 2>"$work/err" ||
    [ $? -eq 1 ] || { echo "build failed: $(tail -3 "$work/err")" >&2; exit 1; }
  # (time writes "Command exited with non-zero status 1" first when the exit is 1.)
  read -r wall kb < <(tail -1 "$work/t")
  echo "$wall $((kb / 1024))"
}
best() { # case: best wall, max RSS over the runs (lines "s MiB" on stdin)
  awk 'NR==1{b=$1;m=$2} {if($1<b)b=$1; if($2>m)m=$2} END{print b, m}'
}

for _ in $(seq "$runs"); do build --full "$work/essonne.toml" --out "$work/out"; done |
  best > "$work/full"
for _ in $(seq "$runs"); do build "$work/essonne.toml" --out "$work/out"; done |
  best > "$work/none"
version=v2
for _ in $(seq "$runs"); do
  cp "$work/$version.json.gz" "$delivery"
  build "$work/essonne.toml" --out "$work/out"
  version=$([ $version = v2 ] && echo v1 || echo v2)
done | best > "$work/one"
grep -o '"tiles_regenerated": [0-9]*\|"tiles_carried": [0-9]*' "$work/out/report.json" |
  tr -d '"' | tr '\n' ' ' > "$work/tiles"

build --full "$work/essonne.toml" --out "$work/reference" >/dev/null
cmp -s "$work/out/tiles.pmtiles" "$work/reference/tiles.pmtiles" ||
  { echo "the incremental archive differs from the full build's" >&2; exit 1; }

read -r t_full m_full < "$work/full"
echo "tuilerie rebuilds, $what, best of $runs runs"
printf '%-34s %9s %9s %8s\n' case "wall s" "RSS MiB" "vs full"
for c in full none one; do
  read -r t m < "$work/$c"
  label=$(case $c in full) echo "full build (--full)";; none) echo "no change";;
    one) echo "one delivery changed";; esac)
  printf '%-34s %9s %9s %8s\n' "$label" "$t" "$m" \
    "$(awk -v a="$t" -v b="$t_full" 'BEGIN{printf "%.2f", a/b}')"
done
echo "last one-change run: $(cat "$work/tiles")"
echo "incremental archive = full build's, byte for byte"
