//! A sandbox directory and the helpers that read what the binary wrote there.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// A sandbox directory and the binary run inside it.
pub struct Sandbox {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

impl Sandbox {
    pub fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    pub fn with_env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_owned()));
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_distillery"));
        cmd.args(args)
            .args(["--threads", "1"])
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("DISTILLERY_DATA")
            .env_remove("DISTILLERY_TEST_EXPERIMENTS")
            .env_remove("DISTILLERY_TEST_FAILING_CHECK");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Runs and asserts a non-zero exit; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} should have failed:\nstdout:\n{}",
            text(&out.stdout)
        );
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{args:?} panicked: {}",
            text(&out.stderr)
        );
        text(&out.stderr)
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A run file without its wall time: what must be identical between identical runs.
pub fn without_wall_time(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("wall_time_s").unwrap();
    v
}

/// A report without its "Wall time:" lines: what must be identical between a sharded and an
/// unsharded run.
pub fn without_wall_time_lines(s: &str) -> String {
    s.lines()
        .filter(|l| !l.starts_with("Wall time:"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub const QUICK_EPOCHS: usize = 8;
