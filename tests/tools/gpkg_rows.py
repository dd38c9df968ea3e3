#!/usr/bin/env python3
"""The rows of a GeoPackage's feature tables, read with Python's own sqlite3 (neither GDAL
nor tuilerie): per layer, each row's fid with a digest of its other columns (geometry blob
included), the fids with a geometry, the ids in its spatial index (R-tree), and its extent
in gpkg_contents. Prints JSON.

    gpkg_rows.py FILE.gpkg
"""
import hashlib
import json
import sqlite3
import sys


def layer(db, table):
    info = list(db.execute(f'pragma table_info("{table}")'))
    cols = [r[1] for r in info]
    pk = next(r[1] for r in info if r[5])
    geom = db.execute(
        "select column_name from gpkg_geometry_columns where table_name = ?", (table,)
    ).fetchone()
    rows, with_geometry = {}, []
    for r in db.execute(f'select * from "{table}"'):
        d = dict(zip(cols, r))
        fid = d.pop(pk)
        rows[str(fid)] = hashlib.sha256(repr(sorted(d.items())).encode()).hexdigest()[:24]
        if geom and d.get(geom[0]) is not None:
            with_geometry.append(fid)
    rtree = None
    if geom:
        name = f"rtree_{table}_{geom[0]}"
        if db.execute("select 1 from sqlite_master where name = ?", (name,)).fetchone():
            rtree = sorted(i for (i,) in db.execute(f'select id from "{name}"'))
    extent = db.execute(
        "select min_x, min_y, max_x, max_y from gpkg_contents where table_name = ?", (table,)
    ).fetchone()
    return {
        "rows": rows,
        "with_geometry": sorted(with_geometry),
        "rtree": rtree,
        "extent": list(extent),
    }


def main():
    db = sqlite3.connect(sys.argv[1])
    tables = [
        t
        for (t,) in db.execute(
            "select table_name from gpkg_contents where data_type = 'features' order by rowid"
        )
    ]
    print(json.dumps({"layers": tables, **{t: layer(db, t) for t in tables}}))


if __name__ == "__main__":
    main()
