//! `distillery data check|fetch`: where each data set was found and whether its files match
//! their checksums; downloading them, verified, with a progress bar on a terminal and plain
//! lines otherwise.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nn::data::{
    check_located, default_cache_dir, discover, fetch_dataset, DatasetId, FetchOutcome,
    HttpDownloader, Progress,
};

use crate::experiment::progress::LINE_INTERVAL;
use crate::experiment::ProgressMode;

/// `distillery data check`: exits non-zero when a found file fails its checksum.
pub fn check(data_dir: Option<&Path>) -> Result<()> {
    let discovery = discover(data_dir)?;
    for warning in discovery.warnings() {
        eprintln!("warning: {warning}");
    }
    println!("Searched, in order:");
    for root in &discovery.roots {
        println!("  {:<16} {}", root.origin.to_string(), root.path.display());
    }
    let mut bad = Vec::new();
    for id in DatasetId::ALL {
        println!();
        match discovery.entry(id) {
            Ok(located) => {
                println!("{id}: found: {located}");
                for file in check_located(located) {
                    let ok = file.status.is_ok()
                        || matches!(file.status, nn::data::CheckStatus::Unverified);
                    println!("  {} {file}", if ok { "ok  " } else { "BAD " });
                    if !ok {
                        bad.push(file.name.clone());
                    }
                }
            }
            Err(not_found) => {
                println!("{id}: not found");
                for line in not_found.to_string().lines() {
                    println!("  {line}");
                }
            }
        }
    }
    if !bad.is_empty() {
        bail!(
            "{} file(s) failed their checksum: {}. Delete them and run `distillery data fetch`",
            bad.len(),
            bad.join(", ")
        );
    }
    Ok(())
}

fn parse_dataset(name: &str) -> Result<DatasetId> {
    let fetchable: Vec<&str> = DatasetId::ALL
        .iter()
        .filter(|d| d.fetchable())
        .map(|d| d.dir_name())
        .collect();
    match DatasetId::ALL.iter().find(|d| d.dir_name() == name) {
        Some(d) if d.fetchable() => Ok(*d),
        Some(d) => bail!(
            "{d} cannot be downloaded (no published source); fetch `mnist`, the full set, \
             which is used instead"
        ),
        None => bail!(
            "unknown data set `{name}`; downloadable: {}",
            fetchable.join(", ")
        ),
    }
}

/// `distillery data fetch`.
pub fn fetch(names: &[String], data_dir: Option<&Path>) -> Result<()> {
    let datasets: Vec<DatasetId> = if names.is_empty() {
        DatasetId::ALL
            .into_iter()
            .filter(|d| d.fetchable())
            .collect()
    } else {
        names
            .iter()
            .map(|n| parse_dataset(n))
            .collect::<Result<_>>()?
    };
    let root: PathBuf = match data_dir {
        Some(dir) => dir.to_path_buf(),
        None => default_cache_dir()?,
    };
    let downloader = HttpDownloader::new();
    let mode = ProgressMode::detect();
    for id in datasets {
        println!("{id}: into {}", root.join(id.dir_name()).display());
        let mut report = Reporter::new(mode);
        let outcomes = fetch_dataset(id, &root, &downloader, &mut |p| report.update(p))?;
        drop(report);
        for outcome in outcomes {
            match outcome {
                FetchOutcome::AlreadyPresent(path) => {
                    println!("  already present and verified: {}", path.display())
                }
                FetchOutcome::Downloaded { path, url } => {
                    println!("  downloaded from {url}, verified: {}", path.display())
                }
            }
        }
    }
    Ok(())
}

/// Shows download progress: a byte bar per file on a terminal, periodic lines otherwise.
struct Reporter {
    mode: ProgressMode,
    bar: Option<(String, ProgressBar)>,
    last_line: Instant,
}

impl Reporter {
    fn new(mode: ProgressMode) -> Self {
        Reporter {
            mode,
            bar: None,
            last_line: Instant::now(),
        }
    }

    fn update(&mut self, p: &Progress<'_>) {
        match self.mode {
            ProgressMode::Hidden => {}
            ProgressMode::Lines => {
                let done = p.total.is_some_and(|t| p.received >= t);
                if p.received == 0 || done || self.last_line.elapsed() >= LINE_INTERVAL {
                    let total = p.total.map_or("?".to_owned(), |t| t.to_string());
                    eprintln!(
                        "  {}: {} of {total} bytes from {}",
                        p.file, p.received, p.url
                    );
                    self.last_line = Instant::now();
                }
            }
            ProgressMode::Bar => {
                if self.bar.as_ref().is_none_or(|(file, _)| file != p.file) {
                    if let Some((_, old)) = self.bar.take() {
                        old.finish();
                    }
                    let bar = ProgressBar::with_draw_target(p.total, ProgressDrawTarget::stderr());
                    let style = ProgressStyle::with_template(
                        "  {prefix} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
                    )
                    .expect("a valid template")
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(p.file.to_owned());
                    self.bar = Some((p.file.to_owned(), bar));
                }
                if let Some((_, bar)) = &self.bar {
                    bar.set_position(p.received);
                }
            }
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_are_checked() {
        assert_eq!(
            parse_dataset("fashion-mnist").unwrap(),
            DatasetId::FashionMnist
        );
        assert_eq!(parse_dataset("mnist").unwrap(), DatasetId::Mnist);
        let err = parse_dataset("mnist-10k").unwrap_err().to_string();
        assert!(err.contains("fetch `mnist`"), "{err}");
        let err = parse_dataset("cifar").unwrap_err().to_string();
        assert!(err.contains("downloadable: fashion-mnist, mnist"), "{err}");
    }
}
