//! Downloading the upstream data sets into the cache directory, verified before installation.
//!
//! For each file: download `NAME.gz` from the first mirror of the table in
//! [`catalog`](super::catalog) into a hidden temporary file beside its destination, verify the
//! checksum (SHA-256 of the decompressed content, or of the `.gz` itself for full MNIST), and
//! only then rename it into place. A mismatch deletes the temporary file and tries the next
//! mirror; when every mirror fails the error lists each URL and what went wrong. A file already
//! present and verified is not downloaded again.
//!
//! The network side is the [`Downloader`] trait, so tests (and offline users) substitute a
//! closure; [`HttpDownloader`] is the real one.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::catalog::DatasetId;
use super::checksum::{verify_bytes, verify_file, CheckStatus, Reference};
use super::discover::{find_file, SearchEnv};
use super::error::{DataError, Result};
use super::fsutil::TempFile;
use super::idx::is_gzip;

/// Refuse downloads larger than this (256 MiB; the largest file is 26 MB compressed).
pub const MAX_DOWNLOAD: u64 = 256 << 20;

/// Progress of one download, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    /// The file being fetched (name without `.gz`).
    pub file: &'a str,
    /// The URL it comes from.
    pub url: &'a str,
    /// Bytes received so far.
    pub received: u64,
    /// Total bytes, when the server said.
    pub total: Option<u64>,
}

/// Something that fetches a URL: writes the body to `out`, reporting `(received, total)` as it
/// goes, and returns a readable reason on failure.
pub trait Downloader {
    /// Downloads `url` into `out`.
    fn download(
        &self,
        url: &str,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), String>;
}

impl<T> Downloader for T
where
    T: Fn(
        &str,
        &mut dyn Write,
        &mut dyn FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), String>,
{
    fn download(
        &self,
        url: &str,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), String> {
        self(url, out, progress)
    }
}

/// Downloads over HTTP(S) with `ureq` (rustls, Mozilla's root certificates built in).
#[derive(Debug)]
pub struct HttpDownloader {
    agent: ureq::Agent,
}

impl HttpDownloader {
    /// A downloader with a 30 s connect timeout, 60 s for the response headers and 30 min for
    /// the whole body.
    pub fn new() -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_recv_body(Some(Duration::from_secs(30 * 60)))
            .user_agent(concat!("distillery-data/", env!("CARGO_PKG_VERSION")))
            .build();
        HttpDownloader {
            agent: ureq::Agent::new_with_config(config),
        }
    }
}

impl Default for HttpDownloader {
    fn default() -> Self {
        Self::new()
    }
}

impl Downloader for HttpDownloader {
    fn download(
        &self,
        url: &str,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), String> {
        let response = self.agent.get(url).call().map_err(|e| e.to_string())?;
        let body = response.into_body();
        let total = body.content_length();
        copy_with_progress(&mut body.into_reader(), out, total, progress)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// Copies `reader` to `out` in 64 KiB chunks, reporting progress, refusing more than
/// [`MAX_DOWNLOAD`] bytes.
pub fn copy_with_progress(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    total: Option<u64>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    progress(0, total);
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        received += n as u64;
        if received > MAX_DOWNLOAD {
            return Err(io::Error::other(format!(
                "more than {MAX_DOWNLOAD} bytes: not the expected file"
            )));
        }
        out.write_all(&buf[..n])?;
        progress(received, total);
    }
}

/// One file to fetch.
#[derive(Debug, Clone)]
pub struct FetchItem<'a> {
    /// File name without `.gz`; installed as `NAME.gz` when the download is gzip, else `NAME`.
    pub name: &'a str,
    /// URLs to try in order.
    pub urls: Vec<String>,
    /// The checksums the download must match.
    pub reference: Reference<'a>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// It was already there and verified; nothing was downloaded.
    AlreadyPresent(PathBuf),
    /// It was downloaded from `url`, verified and installed at `path`.
    Downloaded {
        /// Where it was installed.
        path: PathBuf,
        /// The URL that served it.
        url: String,
    },
}

/// Verifies a downloaded temporary file and moves it into `dest_dir`: as `NAME.gz` when its
/// content is gzip, `NAME` otherwise, replacing any other copy of `NAME` there. On a checksum
/// mismatch (or a file with no applicable checksum) the temporary file is deleted and the error
/// names the file, the URL, the expected and the found hashes.
pub fn verify_and_install(
    temp: &Path,
    name: &str,
    reference: &Reference<'_>,
    url: &str,
    dest_dir: &Path,
) -> Result<PathBuf> {
    let outcome = fs::read(temp)
        .map_err(|e| DataError::io("read", temp, e))
        .and_then(|raw| {
            let status = verify_bytes(&raw, reference);
            match status {
                CheckStatus::Ok(_) => Ok(is_gzip(&raw)),
                CheckStatus::Mismatch {
                    expected,
                    found,
                    what,
                } => Err(DataError::ChecksumMismatch {
                    file: name.to_owned(),
                    url: url.to_owned(),
                    expected,
                    found,
                    what: what.describe(),
                }),
                other => Err(DataError::Download {
                    url: url.to_owned(),
                    reason: format!("{name}: {other}; not installed"),
                }),
            }
        });
    let gzip = match outcome {
        Ok(gzip) => gzip,
        Err(e) => {
            let _ = fs::remove_file(temp);
            return Err(e);
        }
    };
    let (keep, other) = if gzip {
        (format!("{name}.gz"), name.to_owned())
    } else {
        (name.to_owned(), format!("{name}.gz"))
    };
    let dest = dest_dir.join(keep);
    fs::rename(temp, &dest).map_err(|e| {
        let _ = fs::remove_file(temp);
        DataError::io("rename into place", &dest, e)
    })?;
    // Discovery prefers NAME to NAME.gz: a stale copy of the other form would shadow this one.
    match fs::remove_file(dest_dir.join(&other)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(DataError::io(
                "remove the stale copy",
                dest_dir.join(other),
                e,
            ))
        }
        _ => {}
    }
    Ok(dest)
}

/// Fetches `items` into `dest_dir` (created if needed), skipping files already present and
/// verified. Stops at the first file that no mirror could provide.
pub fn fetch_items(
    items: &[FetchItem<'_>],
    dest_dir: &Path,
    downloader: &dyn Downloader,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Vec<FetchOutcome>> {
    fs::create_dir_all(dest_dir).map_err(|e| DataError::io("create directory", dest_dir, e))?;
    items
        .iter()
        .map(|item| fetch_one(item, dest_dir, downloader, progress))
        .collect()
}

fn fetch_one(
    item: &FetchItem<'_>,
    dest_dir: &Path,
    downloader: &dyn Downloader,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<FetchOutcome> {
    if let Some(existing) = find_file(dest_dir, item.name) {
        if verify_file(&existing, &item.reference).is_ok() {
            return Ok(FetchOutcome::AlreadyPresent(existing));
        }
    }
    let mut failures = Vec::new();
    for url in &item.urls {
        match download_verified(item, url, dest_dir, downloader, progress) {
            Ok(path) => {
                return Ok(FetchOutcome::Downloaded {
                    path,
                    url: url.clone(),
                })
            }
            Err(e) => failures.push(e),
        }
    }
    if failures.len() == 1 {
        return Err(failures.remove(0));
    }
    Err(DataError::FetchFailed {
        file: item.name.to_owned(),
        failures: failures.iter().map(ToString::to_string).collect(),
    })
}

fn download_verified(
    item: &FetchItem<'_>,
    url: &str,
    dest_dir: &Path,
    downloader: &dyn Downloader,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<PathBuf> {
    let (temp, file) = TempFile::create_beside(&dest_dir.join(item.name))?;
    let mut out = io::BufWriter::new(file);
    let mut report = |received, total| {
        progress(&Progress {
            file: item.name,
            url,
            received,
            total,
        })
    };
    downloader
        .download(url, &mut out, &mut report)
        .map_err(|reason| DataError::Download {
            url: url.to_owned(),
            reason,
        })?;
    let file = out
        .into_inner()
        .map_err(|e| DataError::io("write", temp.path(), e.into_error()))?;
    file.sync_all()
        .map_err(|e| DataError::io("flush to disk", temp.path(), e))?;
    drop(file);
    // `verify_and_install` renames or deletes the file itself; the guard only covers the
    // failures above.
    let path = temp.into_path();
    verify_and_install(&path, item.name, &item.reference, url, dest_dir)
}

/// Downloads every file of `dataset` into `cache_root/DIR` (e.g.
/// `~/.cache/distillery/fashion-mnist`). The 10k MNIST subset is not downloadable: fetch
/// [`DatasetId::Mnist`] (the full set) instead.
pub fn fetch_dataset(
    dataset: DatasetId,
    cache_root: &Path,
    downloader: &dyn Downloader,
    progress: &mut dyn FnMut(&Progress<'_>),
) -> Result<Vec<FetchOutcome>> {
    if !dataset.fetchable() {
        return Err(DataError::InvalidArgument(format!(
            "{dataset} has no download source; `distillery data fetch` downloads the full MNIST \
             instead"
        )));
    }
    let items: Vec<FetchItem<'static>> = dataset
        .files()
        .map(|f| FetchItem {
            name: f.name,
            urls: f.urls(),
            reference: f.reference(),
        })
        .collect();
    fetch_items(
        &items,
        &cache_root.join(dataset.dir_name()),
        downloader,
        progress,
    )
}

/// This process's cache directory (`$XDG_CACHE_HOME/distillery` or `~/.cache/distillery`).
pub fn default_cache_dir() -> Result<PathBuf> {
    SearchEnv::from_process(None)?
        .cache_dir()
        .ok_or(DataError::NoCacheDir)
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
