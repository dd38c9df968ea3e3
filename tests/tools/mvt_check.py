"""Independent checks of tuilerie's tile archives, with the `pmtiles`, `mapbox-vector-tile`
and `shapely` packages (none of them shares code with tuilerie).

    mvt_check.py check ARCHIVE.pmtiles ARCHIVE.mbtiles
        Reads every tile of the PMTiles, decodes it, and checks: layers and property types are
        those of the metadata's vector_layers; every polygon is valid (shapely) with its
        exterior ring turning positive and its holes negative in tile coordinates (y down);
        every line has two distinct points or more; the MBTiles holds the same tiles, byte for
        byte once gunzipped (TMS rows). Prints one JSON object: tiles, features per zoom, ids
        per zoom of each layer (when numeric or text `id`), metadata.
    mvt_check.py area ARCHIVE.pmtiles LAYER
        Drawn area of LAYER per zoom, Web Mercator m²: the decoded polygons clipped to their
        tile (buffers left out), summed.
    mvt_check.py length ARCHIVE.pmtiles LAYER
        Drawn length of LAYER per zoom, Web Mercator m, the lines clipped to their tile.
    mvt_check.py sizes ARCHIVE.pmtiles
        Per tile: z/x/y, gzipped bytes, features, and the ids of each feature.
    mvt_check.py diff BEFORE.pmtiles AFTER.pmtiles
        The tiles that differ (gunzipped bytes), appeared and disappeared between two archives,
        as z/x/y, with the SHA-256 of each AFTER tile as stored.
"""

import gzip
import json
import sqlite3
import sys

import mapbox_vector_tile
from pmtiles.reader import MmapSource, Reader, all_tiles
from shapely.geometry import LineString, MultiPolygon, Polygon, box
from shapely.validation import explain_validity

HALF_WORLD = 20037508.342789244


def tiles(path):
    with open(path, "rb") as f:
        r = Reader(MmapSource(f))
        meta = r.metadata()
        header = r.header()
        out = [((z, x, y), data) for (z, x, y), data in all_tiles(r.get_bytes)]
    return header, meta, out


def decode(data):
    return mapbox_vector_tile.decode(
        gzip.decompress(data), default_options={"y_coord_down": True}
    )


def shoelace(ring):
    return sum(
        ring[i][0] * ring[(i + 1) % len(ring)][1] - ring[(i + 1) % len(ring)][0] * ring[i][1]
        for i in range(len(ring))
    ) / 2.0


def polygons(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    return []


def lines(geometry):
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiLineString":
        return geometry["coordinates"]
    return []


TYPES = {"Number": (int, float), "String": (str,), "Boolean": (bool,)}


def check(pm_path, mb_path):
    header, meta, pm_tiles = tiles(pm_path)
    layers = {l["id"]: l for l in meta["vector_layers"]}
    problems = []
    features = {}
    ids = {}
    seen_fields = {}
    for (z, x, y), data in pm_tiles:
        for name, layer in decode(data).items():
            if name not in layers:
                problems.append(f"{z}/{x}/{y}: layer {name} not in vector_layers")
                continue
            if not layers[name]["minzoom"] <= z <= layers[name]["maxzoom"]:
                problems.append(f"{z}/{x}/{y}: layer {name} outside its zooms")
            fields = layers[name]["fields"]
            for feat in layer["features"]:
                features[z] = features.get(z, 0) + 1
                # The `id` property; the MVT feature id only for layers without one.
                fid = feat["properties"].get("id")
                if fid is None and "id" not in fields:
                    fid = feat.get("id")
                if fid is not None and fid != "":
                    ids.setdefault(name, {}).setdefault(str(z), set()).add(str(fid))
                seen_fields.setdefault(name, {}).setdefault(str(z), set()).update(
                    feat["properties"]
                )
                for k, v in feat["properties"].items():
                    if k not in fields:
                        problems.append(f"{z}/{x}/{y} {name}: field {k} not in metadata")
                    elif isinstance(v, bool) and fields[k] != "Boolean":
                        problems.append(f"{z}/{x}/{y} {name}: {k}={v!r} is not {fields[k]}")
                    elif not isinstance(v, TYPES[fields[k]]):
                        problems.append(f"{z}/{x}/{y} {name}: {k}={v!r} is not {fields[k]}")
                g = feat["geometry"]
                # All of a feature's polygons together: a hole that came out turned like an
                # exterior is decoded as a polygon of its own, overlapping its real exterior.
                parts = [Polygon(r[0], r[1:]) for r in polygons(g)]
                if len(parts) > 1 and not MultiPolygon(parts).is_valid:
                    problems.append(
                        f"{z}/{x}/{y} {name} {fid}: {explain_validity(MultiPolygon(parts))}"
                    )
                for rings in polygons(g):
                    if shoelace(rings[0][:-1]) <= 0:
                        problems.append(f"{z}/{x}/{y} {name} {fid}: exterior not positive")
                    for hole in rings[1:]:
                        if shoelace(hole[:-1]) >= 0:
                            problems.append(f"{z}/{x}/{y} {name} {fid}: hole not negative")
                    p = Polygon(rings[0], rings[1:])
                    if not p.is_valid:
                        problems.append(f"{z}/{x}/{y} {name} {fid}: {explain_validity(p)}")
                for part in lines(g):
                    if len(set(map(tuple, part))) < 2:
                        problems.append(f"{z}/{x}/{y} {name} {fid}: degenerate line")
    # The MBTiles holds the same tiles (TMS rows), the same bytes once gunzipped.
    db = sqlite3.connect(mb_path)
    mb = {
        (z, x, (1 << z) - 1 - row): gzip.decompress(data)
        for z, x, row, data in db.execute(
            "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"
        )
    }
    mb_meta = dict(db.execute("SELECT name, value FROM metadata"))
    pm = {k: gzip.decompress(v) for k, v in pm_tiles}
    if mb.keys() != pm.keys():
        problems.append(f"MBTiles has {len(mb)} tiles, PMTiles {len(pm)}")
    elif any(mb[k] != pm[k] for k in pm):
        problems.append("MBTiles and PMTiles tiles differ")
    if json.loads(mb_meta["json"])["vector_layers"] != meta["vector_layers"]:
        problems.append("MBTiles and PMTiles vector_layers differ")
    print(
        json.dumps(
            {
                "tiles": len(pm_tiles),
                "min_zoom": header["min_zoom"],
                "max_zoom": header["max_zoom"],
                "mbtiles_minzoom": int(mb_meta["minzoom"]),
                "mbtiles_maxzoom": int(mb_meta["maxzoom"]),
                "features": {str(z): n for z, n in sorted(features.items())},
                "ids": {l: {z: sorted(s) for z, s in zs.items()} for l, zs in ids.items()},
                "fields": {
                    l: {z: sorted(s) for z, s in zs.items()} for l, zs in seen_fields.items()
                },
                "layers": sorted(layers),
                "problems": problems[:50],
                "problem_count": len(problems),
            }
        )
    )


def drawn(pm_path, layer_name, parts, measure):
    """Per zoom: `measure` of each part of LAYER's features clipped to its tile, in Web
    Mercator metres to the power `measure`'s dimension (area 2, length 1)."""
    _, _, pm_tiles = tiles(pm_path)
    extent = 4096
    square = box(0, 0, extent, extent)
    out = {}
    for (z, x, y), data in pm_tiles:
        layer = decode(data).get(layer_name)
        if not layer:
            continue
        unit = 2 * HALF_WORLD / (1 << z) / extent
        for feat in layer["features"]:
            for part in parts(feat["geometry"]):
                value, dimension = measure(part, square)
                out[z] = out.get(z, 0.0) + value * unit**dimension
    print(json.dumps({str(z): v for z, v in sorted(out.items())}))


def area(pm_path, layer_name):
    drawn(
        pm_path,
        layer_name,
        polygons,
        lambda rings, sq: (Polygon(rings[0], rings[1:]).intersection(sq).area, 2),
    )


def length(pm_path, layer_name):
    drawn(
        pm_path,
        layer_name,
        lines,
        lambda part, sq: (LineString(part).intersection(sq).length, 1),
    )


def diff(before_path, after_path):
    import hashlib

    def stored(path):
        with open(path, "rb") as f:
            return {"%d/%d/%d" % zxy: data for zxy, data in all_tiles(MmapSource(f))}

    before, after = stored(before_path), stored(after_path)
    plain = lambda d: gzip.decompress(d) if d[:2] == b"\x1f\x8b" else d
    json.dump(
        {
            "tiles_before": len(before),
            "tiles_after": len(after),
            "changed": sorted(k for k in before.keys() & after.keys() if plain(before[k]) != plain(after[k])),
            "appeared": sorted(after.keys() - before.keys()),
            "disappeared": sorted(before.keys() - after.keys()),
            "sha256_after": {k: hashlib.sha256(v).hexdigest() for k, v in after.items()},
        },
        sys.stdout,
    )


def sizes(pm_path):
    _, _, pm_tiles = tiles(pm_path)
    out = []
    for (z, x, y), data in pm_tiles:
        ids = []
        for layer in decode(data).values():
            for feat in layer["features"]:
                ids.append(str(feat["properties"].get("id", feat.get("id"))))
        out.append({"tile": f"{z}/{x}/{y}", "bytes": len(data), "ids": ids})
    print(json.dumps(out))


if __name__ == "__main__":
    {"check": check, "area": area, "length": length, "sizes": sizes, "diff": diff}[sys.argv[1]](
        *sys.argv[2:]
    )
