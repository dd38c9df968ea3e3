//! Without IGN's grid, NTF input is refused with a clear message instead of silently going
//! through the metre-level Helmert shift. Its own test binary: it changes PROJ's search path.

use tuilerie_model::CrsRef;
use tuilerie_reproject::{ntf, Reprojector};

#[test]
fn ntf_is_refused_without_the_grid() {
    // A PROJ data folder with the database but without the grid.
    let dir = tempfile::tempdir().unwrap();
    let db = ["/usr/share/proj/proj.db"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(db) = db else {
        eprintln!("SKIP ntf_is_refused_without_the_grid: no /usr/share/proj/proj.db");
        return;
    };
    std::os::unix::fs::symlink(db, dir.path().join("proj.db")).unwrap();
    // SAFETY: this test binary runs this single test; nothing else reads the environment.
    unsafe {
        std::env::set_var("PROJ_DATA", dir.path());
        std::env::set_var("PROJ_LIB", dir.path());
        std::env::set_var("PROJ_NETWORK", "OFF");
    }

    // What PROJ silently does: CRS-to-CRS still "works", metres off.
    let plain = proj::Proj::new_known_crs("EPSG:27572", "EPSG:2154", None).unwrap();
    let pt = [plain.convert((565767.906, 2669005.730)).unwrap()];
    let off = ((pt[0].0 - 619119.4605f64).powi(2) + (pt[0].1 - 7102502.9796f64).powi(2)).sqrt();
    assert!(
        off > 0.5,
        "without the grid PROJ falls back to Helmert ({off} m off)"
    );

    // What tuilerie does: refuse, naming the grid and the fix.
    let err = ntf::check_grid(&CrsRef::Epsg(27572), &Reprojector::new(CrsRef::Epsg(2154)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ntf_r93"), "{err}");
    assert!(err.contains("proj-data"), "{err}");
    assert!(err.contains("EPSG:27572"), "{err}");

    // And tuilerie's own transformer takes the grid operation only: without the grid it has
    // none, rather than a Helmert one.
    let mut pt = [(565767.906, 2669005.730)];
    let e = Reprojector::new(CrsRef::Epsg(2154))
        .transform_coords(&CrsRef::Epsg(27572), &mut pt)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no transformation through an available grid"),
        "{e}"
    );
}
