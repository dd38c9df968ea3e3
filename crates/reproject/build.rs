//! proj-sys is built with `nobuild` (no bindgen, no PROJ source build), so linking the system
//! PROJ is ours to do. pkg-config finds Debian's libproj-dev (PROJ 9.1).
fn main() {
    match pkg_config::Config::new()
        .atleast_version("9.0.0")
        .probe("proj")
    {
        Ok(_) => {}
        Err(e) => {
            println!(
                "cargo:warning=system PROJ >= 9 not found by pkg-config ({e}); run scripts/setup.sh (installs libproj-dev)"
            );
            println!("cargo:rustc-link-lib=proj");
        }
    }
}
