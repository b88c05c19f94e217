//! Tests of data discovery (included by `discover.rs`). Every test builds its own directory
//! tree and passes the "environment" in as values, so tests never touch process-global state.

use super::*;
use std::fs;
use tempfile::TempDir;

/// A sandbox with five candidate roots, all absent until a test creates data in them.
struct Sandbox {
    _tmp: TempDir,
    base: PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_path_buf();
        for d in ["flag", "env", "cwd", "system", "xdg"] {
            fs::create_dir_all(base.join(d)).unwrap();
        }
        Sandbox { _tmp: tmp, base }
    }

    fn env(&self) -> SearchEnv {
        SearchEnv {
            data_dir: Some(self.base.join("flag")),
            distillery_data: Some(self.base.join("env").into_os_string()),
            cwd: self.base.join("cwd"),
            xdg_cache_home: Some(self.base.join("xdg").into_os_string()),
            home: Some(self.base.join("home").into_os_string()),
            system_dir: self.base.join("system"),
        }
    }

    /// Puts every file of `dataset` (empty: discovery does not read them) under `root`,
    /// gzipped names when `gz`.
    fn install(&self, root: &str, dataset: DatasetId, gz: bool) -> PathBuf {
        let dir = self.base.join(root).join(dataset.dir_name());
        fs::create_dir_all(&dir).unwrap();
        for f in dataset.files() {
            let name = if gz {
                format!("{}.gz", f.name)
            } else {
                f.name.to_owned()
            };
            fs::write(dir.join(name), b"").unwrap();
        }
        dir
    }

    fn discover(&self) -> Discovery {
        discover_in(self.env().roots().unwrap())
    }
}

#[test]
fn roots_come_in_the_documented_order() {
    let s = Sandbox::new();
    let roots = s.env().roots().unwrap();
    let origins: Vec<_> = roots.iter().map(|r| r.origin).collect();
    assert_eq!(
        origins,
        [
            RootOrigin::DataDirOption,
            RootOrigin::EnvVar,
            RootOrigin::WorkingDir,
            RootOrigin::System,
            RootOrigin::Cache
        ]
    );
    assert_eq!(roots[2].path, s.base.join("cwd").join("data"));
    assert_eq!(roots[4].path, s.base.join("xdg").join("distillery"));
}

#[test]
fn a_missing_data_dir_is_an_error_naming_it() {
    let s = Sandbox::new();
    let mut env = s.env();
    env.data_dir = Some(s.base.join("typo"));
    let err = env.roots().unwrap_err();
    assert!(matches!(err, DataError::DataDirMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("typo"), "{err}");
}

#[test]
fn empty_env_var_is_unset_and_relative_paths_resolve_against_cwd() {
    let s = Sandbox::new();
    let mut env = s.env();
    env.data_dir = None;
    env.distillery_data = Some(OsString::new());
    assert!(env
        .roots()
        .unwrap()
        .iter()
        .all(|r| r.origin != RootOrigin::EnvVar));
    env.distillery_data = Some(OsString::from("../env"));
    let roots = env.roots().unwrap();
    assert_eq!(roots[0].origin, RootOrigin::EnvVar);
    assert_eq!(roots[0].path, s.base.join("cwd").join("../env"));
}

#[test]
fn cache_dir_follows_xdg_then_home() {
    let abs = OsStr::new("/x/cache");
    let home = OsStr::new("/home/u");
    assert_eq!(
        cache_dir(Some(abs), Some(home)),
        Some(PathBuf::from("/x/cache/distillery"))
    );
    // A relative XDG_CACHE_HOME is invalid per the XDG spec and ignored.
    assert_eq!(
        cache_dir(Some(OsStr::new("rel")), Some(home)),
        Some(PathBuf::from("/home/u/.cache/distillery"))
    );
    assert_eq!(cache_dir(None, None), None);
    assert_eq!(cache_dir(None, Some(OsStr::new(""))), None);
}

#[test]
fn earlier_roots_win() {
    let s = Sandbox::new();
    s.install("xdg/distillery", DatasetId::FashionMnist, true);
    s.install("system", DatasetId::FashionMnist, true);
    assert_eq!(
        s.discover().fashion_mnist().unwrap().origin,
        RootOrigin::System
    );
    s.install("cwd/data", DatasetId::FashionMnist, true);
    assert_eq!(
        s.discover().fashion_mnist().unwrap().origin,
        RootOrigin::WorkingDir
    );
    s.install("env", DatasetId::FashionMnist, true);
    assert_eq!(
        s.discover().fashion_mnist().unwrap().origin,
        RootOrigin::EnvVar
    );
    let dir = s.install("flag", DatasetId::FashionMnist, false);
    let found = s.discover();
    let located = found.fashion_mnist().unwrap();
    assert_eq!(located.origin, RootOrigin::DataDirOption);
    assert_eq!(located.dir, dir);
    assert_eq!(
        located.path(FileRole::TestLabels),
        Some(&*dir.join("t10k-labels-idx1-ubyte"))
    );
}

#[test]
fn the_env_override_beats_the_cache_and_is_skipped_when_incomplete() {
    let s = Sandbox::new();
    let mut env = s.env();
    env.data_dir = None;
    s.install("xdg/distillery", DatasetId::FashionMnist, true);
    let env_dir = s.install("env", DatasetId::FashionMnist, true);
    let found = discover_in(env.roots().unwrap());
    assert_eq!(found.fashion_mnist().unwrap().dir, env_dir);
    fs::remove_file(env_dir.join("train-labels-idx1-ubyte.gz")).unwrap();
    let found = discover_in(env.roots().unwrap());
    assert_eq!(found.fashion_mnist().unwrap().origin, RootOrigin::Cache);
}

#[test]
fn plain_files_are_preferred_to_gzip() {
    let s = Sandbox::new();
    let dir = s.install("system", DatasetId::Mnist10k, true);
    s.install("system", DatasetId::Mnist10k, false);
    let found = s.discover();
    let located = found.mnist().unwrap();
    assert_eq!(
        located.path(FileRole::Images),
        Some(&*dir.join("images-idx3-ubyte"))
    );
}

#[test]
fn full_mnist_anywhere_beats_the_subset_and_reports_say_which() {
    let s = Sandbox::new();
    let subset_dir = s.install("env", DatasetId::Mnist10k, true);
    let found = s.discover();
    let chosen = found.mnist().unwrap();
    assert_eq!(chosen.dataset, DatasetId::Mnist10k);
    let line = chosen.to_string();
    assert!(line.contains("10,000-digit subset"), "{line}");
    assert!(line.contains(&subset_dir.display().to_string()), "{line}");
    assert!(line.contains("DISTILLERY_DATA"), "{line}");

    s.install("xdg/distillery", DatasetId::Mnist, true);
    let found = s.discover();
    let chosen = found.mnist().unwrap();
    assert_eq!(chosen.dataset, DatasetId::Mnist);
    assert!(
        chosen.to_string().contains("full 70,000-digit set"),
        "{chosen}"
    );
}

#[test]
fn not_found_lists_every_place_and_the_fetch_command() {
    let s = Sandbox::new();
    // An incomplete copy: one file present.
    let dir = s.base.join("env/fashion-mnist");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("train-images-idx3-ubyte.gz"), b"").unwrap();
    let found = s.discover();
    let err = found.fashion_mnist().unwrap_err();
    let DataError::NotFound(nf) = &err else {
        panic!("expected NotFound, got {err:?}")
    };
    assert_eq!(nf.attempts.len(), 5);
    assert_eq!(
        nf.attempts[1].status,
        AttemptStatus::Incomplete(vec![
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte"
        ])
    );
    let msg = err.to_string();
    for root in ["flag", "env", "cwd/data", "system", "xdg/distillery"] {
        let p = s.base.join(root).join("fashion-mnist");
        assert!(
            msg.contains(&p.display().to_string()),
            "{root} missing from:\n{msg}"
        );
    }
    assert!(msg.contains("distillery data fetch"), "{msg}");
    assert!(
        msg.contains("missing train-labels-idx1-ubyte[.gz]"),
        "{msg}"
    );

    let err = found.mnist().unwrap_err().to_string();
    assert!(
        err.contains("mnist-10k") && err.contains("/mnist:"),
        "{err}"
    );
}

#[test]
fn warnings_name_a_missing_env_directory() {
    let s = Sandbox::new();
    let mut env = s.env();
    env.distillery_data = Some(s.base.join("nowhere").into_os_string());
    let found = discover_in(env.roots().unwrap());
    let warnings = found.warnings();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("nowhere"), "{warnings:?}");
    assert!(s.discover().warnings().is_empty());
}
