//! Support for tests of this workspace that need the real data sets: they find them through
//! `DISTILLERY_DATA` and, without it, say `SKIPPED` loudly instead of passing silently.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::discover::ENV_VAR;

/// Prints a `SKIPPED` line on the real stderr: `eprintln!` would be captured by the test
/// harness and hidden for a passing test, and a skip must not look like a pass.
pub fn skipped(test: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: {why}; set {ENV_VAR} to the folder holding the data sets (`distillery data fetch` fills ~/.cache/distillery)"
    );
}

/// The data root named by `DISTILLERY_DATA`, resolved against the working directory or, since
/// `cargo test` runs in the crate's directory, against its ancestors (so `../shared/data`
/// works from the project root and from `nn/`).
pub fn real_data_root(test: &str) -> Option<PathBuf> {
    let Some(value) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) else {
        skipped(test, &format!("{ENV_VAR} is not set"));
        return None;
    };
    let cwd = std::env::current_dir().ok()?;
    let found = cwd
        .ancestors()
        .map(|a| a.join(&value))
        .find(|p| p.join("fashion-mnist").is_dir() || p.join("mnist-10k").is_dir());
    if found.is_none() {
        let why = format!(
            "{ENV_VAR}={} holds no fashion-mnist/ or mnist-10k/ (looked from {} upwards)",
            Path::new(&value).display(),
            cwd.display()
        );
        skipped(test, &why);
    }
    found
}
