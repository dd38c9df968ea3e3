#!/usr/bin/env bash
# Cut fixtures/essonne-fusion from ../shared/data/scenarios/essonne-fusion: the parcels within
# $BUFFER m of the shared boundaries of the four communes, each delivery kept in its own format,
# CRS and field names. Needs GDAL with SpatiaLite (Debian's gdal-bin). The result is committed;
# this script documents how it was made and lets anyone remake it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$here/../shared/data/scenarios/essonne-fusion}
dst=$here/fixtures/essonne-fusion
BUFFER=${BUFFER:-120}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
work=$tmp/work.gpkg

# The zone: shared boundaries (Lambert-93), buffered.
ogr2ogr -f GPKG "$work" "$src/communes-2018.geojson" -nln communes -t_srs EPSG:2154
ogr2ogr -update "$work" "$work" -dialect SQLite -nln zone -sql \
  "SELECT ST_Buffer(ST_Union(ST_Intersection(a.geom, b.geom)), $BUFFER) AS geom FROM communes a, communes b
   WHERE a.insee < b.insee AND ST_Intersects(a.geom, b.geom)"

# near_zone LAYER SRID: the delivery's features that touch the zone, in the delivery's own CRS.
near_zone() {
  echo "SELECT d.* FROM $1 d, zone z WHERE ST_Intersects(d.geom, ST_Transform(z.geom, $2))"
}

rm -rf "$dst"
mkdir -p "$dst"/{91027-athis-mons,91326-juvisy-sur-orge,91479-paray-vieille-poste,91432-morangis}
cp "$src/communes-2018.geojson" "$dst/"

# Athis-Mons: Etalab GeoJSON in WGS84, id as the feature id, one feature per line, gzipped.
ogr2ogr -update "$work" "/vsigzip/$src/91027-athis-mons/cadastre-91027-parcelles.json.gz" -nln athis
ogr2ogr -f GeoJSON "$tmp/athis.json" "$work" -dialect SQLite -sql "$(near_zone athis 4326)" \
  -lco ID_FIELD=id -lco RFC7946=YES -lco COORDINATE_PRECISION=7 -nln cadastre-91027-parcelles
gzip -9 -n -c "$tmp/athis.json" > "$dst/91027-athis-mons/cadastre-91027-parcelles.json.gz"

# Juvisy-sur-Orge: Shapefile, ISO-8859-1, ESRI .prj.
ogr2ogr -update "$work" "$src/91326-juvisy-sur-orge/PARCELLES.shp" -nln juvisy
ogr2ogr -f "ESRI Shapefile" "$dst/91326-juvisy-sur-orge/PARCELLES.shp" "$work" -dialect SQLite \
  -sql "$(near_zone juvisy 2154)" -nln PARCELLES -lco ENCODING=ISO-8859-1
cp "$src/91326-juvisy-sur-orge/PARCELLES.prj" "$dst/91326-juvisy-sur-orge/PARCELLES.prj"

# Paray-Vieille-Poste: GeoPackage, layer parcelle, CC49.
ogr2ogr -update "$work" "$src/91479-paray-vieille-poste/cadastre.gpkg" parcelle -nln paray
ogr2ogr -f GPKG "$dst/91479-paray-vieille-poste/cadastre.gpkg" "$work" -dialect SQLite \
  -sql "$(near_zone paray 3949)" -nln parcelle

# Morangis: FlatGeobuf, NTF Lambert II étendu.
ogr2ogr -update "$work" "$src/91432-morangis/parcelles.fgb" -nln morangis
ogr2ogr -f FlatGeobuf "$dst/91432-morangis/parcelles.fgb" "$work" -dialect SQLite \
  -sql "$(near_zone morangis 27572)" -nln parcelles

du -sh "$dst"
for f in "$dst"/*/*; do
  case "$f" in *.dbf|*.shx|*.cpg|*.prj) continue;; esac
  case "$f" in *.gz) g="/vsigzip/$f";; *) g="$f";; esac
  printf '%s: ' "${f#$here/}"; ogrinfo -ro -so -al "$g" | grep 'Feature Count'
done
