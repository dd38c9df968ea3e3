//! EDIGEO sheets are extracted to a temporary folder that is removed after reading. Its own
//! test binary, with its own TMPDIR, so that no other test's extraction is counted.

use std::path::PathBuf;

#[test]
fn extraction_folder_is_removed() {
    let tmp = tempfile::tempdir().unwrap();
    // SAFETY: the only test of this binary; set before any thread reads the environment.
    unsafe { std::env::set_var("TMPDIR", tmp.path()) };
    let sheet = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/edigeo/edigeo-25354000AB01.tar.bz2");
    let layers = tuilerie_ingest::read_delivery(&sheet, Some("PARCELLE_id")).unwrap();
    assert_eq!(layers[0].features.len(), 14);
    let _ = tuilerie_ingest::inspect::inspect(&sheet).unwrap();
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
