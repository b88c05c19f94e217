//! Finding the data sets on disk.
//!
//! Roots are searched in this order (architecture.md, "Data discovery order"):
//!
//! 1. `--data-dir DIR` (an error if it does not exist: the user asked for it by name);
//! 2. the `DISTILLERY_DATA` environment variable (a missing directory is reported, not fatal);
//! 3. `./data`;
//! 4. `/usr/share/datasets` (Debian's `dataset-fashion-mnist` installs `fashion-mnist/` there);
//! 5. the user's cache, `$XDG_CACHE_HOME/distillery` or `~/.cache/distillery`, where
//!    `distillery data fetch` puts its downloads.
//!
//! Under a root, a data set lives in its own directory (`fashion-mnist/`, `mnist/`,
//! `mnist-10k/`) holding its files plain or gzipped (`NAME` is preferred to `NAME.gz` when both
//! exist: it loads faster). A data set is found at the first root where all its files exist.
//! For MNIST, the full set found at any root wins over the 10,000-digit subset at any root.
//!
//! Environment variables are process-global, so the search itself ([`SearchEnv::roots`],
//! [`discover_in`]) takes their values as parameters; only [`SearchEnv::from_process`] reads them.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use super::catalog::{DatasetId, FileRole, FileSpec};
use super::error::{DataError, Result, FETCH_COMMAND};

/// The environment variable naming a data root.
pub const ENV_VAR: &str = "DISTILLERY_DATA";

/// Where Debian's data set packages install.
pub const SYSTEM_DATA_DIR: &str = "/usr/share/datasets";

/// How a search root was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootOrigin {
    /// The `--data-dir` option.
    DataDirOption,
    /// The `DISTILLERY_DATA` environment variable.
    EnvVar,
    /// `./data` under the working directory.
    WorkingDir,
    /// `/usr/share/datasets`.
    System,
    /// The user's cache directory, where downloads go.
    Cache,
}

impl fmt::Display for RootOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RootOrigin::DataDirOption => "--data-dir",
            RootOrigin::EnvVar => ENV_VAR,
            RootOrigin::WorkingDir => "./data",
            RootOrigin::System => "system",
            RootOrigin::Cache => "cache",
        })
    }
}

/// A directory searched for data sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRoot {
    /// How it was chosen.
    pub origin: RootOrigin,
    /// The directory (absolute when built by [`SearchEnv::roots`]).
    pub path: PathBuf,
}

/// The inputs of the search: the option and the environment, passed in as values.
#[derive(Debug, Clone, Default)]
pub struct SearchEnv {
    /// `--data-dir`, if given.
    pub data_dir: Option<PathBuf>,
    /// The value of `DISTILLERY_DATA` (empty counts as unset).
    pub distillery_data: Option<OsString>,
    /// The working directory (relative paths are resolved against it).
    pub cwd: PathBuf,
    /// The value of `XDG_CACHE_HOME`.
    pub xdg_cache_home: Option<OsString>,
    /// The value of `HOME`.
    pub home: Option<OsString>,
    /// The system directory; [`SYSTEM_DATA_DIR`] outside tests.
    pub system_dir: PathBuf,
}

impl SearchEnv {
    /// The search inputs of this process: its environment variables and working directory.
    pub fn from_process(data_dir: Option<&Path>) -> Result<Self> {
        let cwd = std::env::current_dir()
            .map_err(|e| DataError::io("read the working directory", ".", e))?;
        Ok(SearchEnv {
            data_dir: data_dir.map(Path::to_path_buf),
            distillery_data: std::env::var_os(ENV_VAR),
            cwd,
            xdg_cache_home: std::env::var_os("XDG_CACHE_HOME"),
            home: std::env::var_os("HOME"),
            system_dir: PathBuf::from(SYSTEM_DATA_DIR),
        })
    }

    /// The cache directory downloads go to: `$XDG_CACHE_HOME/distillery` when that variable is
    /// an absolute path (the XDG rule: a relative value is ignored), else
    /// `$HOME/.cache/distillery`; `None` when neither is usable.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        cache_dir(self.xdg_cache_home.as_deref(), self.home.as_deref())
    }

    /// The roots in search order. Errors when `--data-dir` names no directory.
    pub fn roots(&self) -> Result<Vec<SearchRoot>> {
        let mut roots = Vec::new();
        if let Some(dir) = &self.data_dir {
            let path = self.cwd.join(dir);
            if !path.is_dir() {
                return Err(DataError::DataDirMissing {
                    origin: "--data-dir",
                    path,
                    hint: "pass the directory that holds fashion-mnist/, mnist/ or mnist-10k/",
                });
            }
            roots.push(SearchRoot {
                origin: RootOrigin::DataDirOption,
                path,
            });
        }
        if let Some(value) = self.distillery_data.as_ref().filter(|v| !v.is_empty()) {
            roots.push(SearchRoot {
                origin: RootOrigin::EnvVar,
                path: self.cwd.join(value),
            });
        }
        roots.push(SearchRoot {
            origin: RootOrigin::WorkingDir,
            path: self.cwd.join("data"),
        });
        roots.push(SearchRoot {
            origin: RootOrigin::System,
            path: self.system_dir.clone(),
        });
        if let Some(path) = self.cache_dir() {
            roots.push(SearchRoot {
                origin: RootOrigin::Cache,
                path,
            });
        }
        Ok(roots)
    }
}

/// See [`SearchEnv::cache_dir`].
pub fn cache_dir(xdg_cache_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    if let Some(xdg) = xdg_cache_home.map(Path::new).filter(|p| p.is_absolute()) {
        return Some(xdg.join("distillery"));
    }
    home.filter(|h| !h.is_empty())
        .map(|h| Path::new(h).join(".cache").join("distillery"))
}

/// The path of `name` or else `name.gz` in `dir`, whichever is a file first.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [name.to_owned(), format!("{name}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// A data set found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Which data set (for MNIST: the full set or the 10k subset — say which in reports).
    pub dataset: DatasetId,
    /// The root it was found under, and how that root was chosen.
    pub origin: RootOrigin,
    /// The data set's directory.
    pub dir: PathBuf,
    /// Each file of the data set with its path.
    pub files: Vec<(&'static FileSpec, PathBuf)>,
}

impl Located {
    /// The path of the file with the given role.
    pub fn path(&self, role: FileRole) -> Option<&Path> {
        self.files
            .iter()
            .find(|(spec, _)| spec.role == role)
            .map(|(_, p)| p.as_path())
    }
}

impl fmt::Display for Located {
    /// E.g. "MNIST: 10,000-digit subset (...) from /data/mnist-10k (found via DISTILLERY_DATA)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} from {} (found via {})",
            self.dataset.description(),
            self.dir.display(),
            self.origin
        )
    }
}

/// What was found in one searched directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptStatus {
    /// The data set directory does not exist.
    NoSuchDir,
    /// Some files are missing (their names, without `.gz`).
    Incomplete(Vec<&'static str>),
}

/// One searched directory that did not hold a complete data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// How its root was chosen.
    pub origin: RootOrigin,
    /// The data set directory looked at.
    pub dir: PathBuf,
    /// What was wrong.
    pub status: AttemptStatus,
}

/// A data set that was not found, with every place searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    /// What was looked for (for MNIST, [`DatasetId::Mnist`] standing for either variant).
    pub dataset: DatasetId,
    /// Every directory looked at, in order.
    pub attempts: Vec<Attempt>,
    /// Where `distillery data fetch` would put it, if a cache directory exists.
    pub cache_dir: Option<PathBuf>,
}

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match (self.dataset, self.includes_both_mnist_layouts()) {
            (DatasetId::FashionMnist, _) => "Fashion-MNIST",
            (DatasetId::Mnist, true) => "MNIST (neither the full set nor the 10,000-digit subset)",
            (DatasetId::Mnist, false) => "The full MNIST",
            (DatasetId::Mnist10k, _) => "The 10,000-digit MNIST subset",
        };
        writeln!(f, "{what} was not found. Searched, in order:")?;
        for a in &self.attempts {
            let status = match &a.status {
                AttemptStatus::NoSuchDir => "no such directory".to_owned(),
                AttemptStatus::Incomplete(missing) => format!(
                    "incomplete, missing {}",
                    missing
                        .iter()
                        .map(|m| format!("{m}[.gz]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let origin = a.origin.to_string();
            writeln!(f, "  {origin:<16} {}: {status}", a.dir.display())?;
        }
        let into = match &self.cache_dir {
            Some(d) => format!(" (into {})", d.display()),
            None => String::new(),
        };
        let (what, dirs) = match self.dataset {
            DatasetId::FashionMnist => ("it", "fashion-mnist/"),
            DatasetId::Mnist => ("the full MNIST", "mnist/ or mnist-10k/"),
            DatasetId::Mnist10k => ("the full MNIST (used instead when present)", "mnist-10k/"),
        };
        write!(
            f,
            "Download {what} with `{FETCH_COMMAND}`{into}, or pass --data-dir or set {ENV_VAR} \
             to a directory holding {dirs}"
        )
    }
}

impl NotFound {
    /// Whether the attempts cover both the `mnist/` and the `mnist-10k/` layouts.
    fn includes_both_mnist_layouts(&self) -> bool {
        let has = |name: &str| self.attempts.iter().any(|a| a.dir.ends_with(name));
        has(DatasetId::Mnist.dir_name()) && has(DatasetId::Mnist10k.dir_name())
    }
}

/// The outcome of a search: for each data set where it is, or everywhere it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The roots searched, in order.
    pub roots: Vec<SearchRoot>,
    /// Fashion-MNIST.
    pub fashion_mnist: std::result::Result<Located, NotFound>,
    /// The full MNIST.
    pub mnist_full: std::result::Result<Located, NotFound>,
    /// The 10,000-digit MNIST subset.
    pub mnist_10k: std::result::Result<Located, NotFound>,
}

impl Discovery {
    /// Where `dataset` was found, or the not-found error listing the places searched.
    pub fn get(&self, dataset: DatasetId) -> Result<&Located> {
        match self.entry(dataset) {
            Ok(l) => Ok(l),
            Err(nf) => Err(DataError::NotFound(Box::new(nf.clone()))),
        }
    }

    /// Fashion-MNIST.
    pub fn fashion_mnist(&self) -> Result<&Located> {
        self.get(DatasetId::FashionMnist)
    }

    /// MNIST: the full set when found, the 10,000-digit subset otherwise. The returned
    /// [`Located::dataset`] says which; print the `Located` in every report.
    pub fn mnist(&self) -> Result<&Located> {
        match (
            self.entry(DatasetId::Mnist),
            self.entry(DatasetId::Mnist10k),
        ) {
            (Ok(full), _) => Ok(full),
            (_, Ok(subset)) => Ok(subset),
            (Err(a), Err(b)) => {
                let mut attempts = a.attempts.clone();
                attempts.extend(b.attempts.iter().cloned());
                Err(DataError::NotFound(Box::new(NotFound {
                    dataset: DatasetId::Mnist,
                    attempts,
                    cache_dir: a.cache_dir.clone(),
                })))
            }
        }
    }

    /// The search result of one data set.
    pub fn entry(&self, dataset: DatasetId) -> &std::result::Result<Located, NotFound> {
        match dataset {
            DatasetId::FashionMnist => &self.fashion_mnist,
            DatasetId::Mnist => &self.mnist_full,
            DatasetId::Mnist10k => &self.mnist_10k,
        }
    }

    /// Roots the user named (`--data-dir`, `DISTILLERY_DATA`) that do not exist, as messages
    /// to show: a typo there would otherwise silently fall through to other roots.
    pub fn warnings(&self) -> Vec<String> {
        self.roots
            .iter()
            .filter(|r| r.origin == RootOrigin::EnvVar && !r.path.is_dir())
            .map(|r| format!("{ENV_VAR}={} is not a directory; ignored", r.path.display()))
            .collect()
    }
}

/// Searches `roots` in order for every known data set.
pub fn discover_in(roots: Vec<SearchRoot>) -> Discovery {
    let cache_dir = roots
        .iter()
        .find(|r| r.origin == RootOrigin::Cache)
        .map(|r| r.path.clone());
    let search = |dataset| {
        let mut attempts = Vec::new();
        for root in &roots {
            match look_in(dataset, root) {
                Ok(located) => return Ok(located),
                Err(attempt) => attempts.push(attempt),
            }
        }
        let cache_dir = cache_dir.clone();
        Err(NotFound {
            dataset,
            attempts,
            cache_dir,
        })
    };
    Discovery {
        fashion_mnist: search(DatasetId::FashionMnist),
        mnist_full: search(DatasetId::Mnist),
        mnist_10k: search(DatasetId::Mnist10k),
        roots,
    }
}

/// Searches this process's roots (`data_dir` is the `--data-dir` option).
pub fn discover(data_dir: Option<&Path>) -> Result<Discovery> {
    Ok(discover_in(SearchEnv::from_process(data_dir)?.roots()?))
}

fn look_in(dataset: DatasetId, root: &SearchRoot) -> std::result::Result<Located, Attempt> {
    let dir = root.path.join(dataset.dir_name());
    let attempt = |status| Attempt {
        origin: root.origin,
        dir: dir.clone(),
        status,
    };
    if !dir.is_dir() {
        return Err(attempt(AttemptStatus::NoSuchDir));
    }
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for spec in dataset.files() {
        match find_file(&dir, spec.name) {
            Some(p) => files.push((spec, p)),
            None => missing.push(spec.name),
        }
    }
    if !missing.is_empty() {
        return Err(attempt(AttemptStatus::Incomplete(missing)));
    }
    Ok(Located {
        dataset,
        origin: root.origin,
        dir,
        files,
    })
}

#[cfg(test)]
#[path = "discover_tests.rs"]
mod tests;
