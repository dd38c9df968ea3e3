//! One build at a time per output folder: a second build is refused, saying who holds the
//! lock, and the lock goes with its holder (a killed build leaves no stale lock).

mod common;

use std::process::Command;

#[test]
fn a_second_build_of_the_same_folder_says_who_holds_it_and_runs_once_released() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let manifest = common::fixtures().join("essonne-fusion.toml");
    let build = || {
        Command::new(env!("CARGO_BIN_EXE_tuilerie"))
            .args(["build", "-q", "--out"])
            .arg(&out)
            .arg(&manifest)
            .output()
            .unwrap()
    };
    let held = tuilerie_pipeline::lock::BuildLock::acquire(&out, "a nightly job").unwrap();
    let refused = build();
    assert_eq!(refused.status.code(), Some(4));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!("pid {}", std::process::id())) && err.contains("a nightly job"),
        "{err}"
    );
    assert!(
        !out.join("tiles.pmtiles").exists(),
        "the refused build wrote nothing"
    );
    drop(held);
    let ran = build();
    // 1: built, with QA warnings (the fixture has findings along the old boundaries).
    assert_eq!(
        ran.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(out.join("tiles.pmtiles").exists());

    // A build killed half-way (SIGKILL) leaves a lock file but no lock: the next one runs.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["build", "-q", "--out"])
        .arg(&out)
        .arg(&manifest)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.join(tuilerie_pipeline::lock::LOCK_FILE).exists());
    let after = build();
    assert_eq!(
        after.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
}
