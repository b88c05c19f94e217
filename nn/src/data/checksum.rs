//! SHA-256 checksums of data files, and the check behind `distillery data check`.
//!
//! The reference is the SHA-256 of the *decompressed* content, so a file passes whether it is
//! stored plain, as the upstream `.gz` or recompressed (Debian recompresses Fashion-MNIST).
//! Where only the hash of the original `.gz` download is published (full MNIST), a gzip file is
//! checked byte for byte against that instead.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::catalog::DatasetId;
use super::discover::{find_file, Located};
use super::idx::{is_gzip, MAX_DECOMPRESSED};

/// The checksums a file is verified against (hex SHA-256, lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reference<'a> {
    /// SHA-256 of the decompressed content.
    pub decompressed: Option<&'a str>,
    /// SHA-256 of the exact upstream `.gz` download.
    pub download: Option<&'a str>,
}

/// Which bytes were hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashed {
    /// The decompressed content (the file itself when it is plain).
    Content,
    /// The file's bytes as stored, compared with the upstream `.gz` download.
    Download,
}

impl Hashed {
    /// A phrase for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Hashed::Content => "SHA-256 of the decompressed content",
            Hashed::Download => "SHA-256 of the .gz file as downloaded",
        }
    }
}

/// The result of checking one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    /// The hash matches.
    Ok(Hashed),
    /// The hash differs.
    Mismatch {
        /// The published hash.
        expected: String,
        /// The hash of the file on disk.
        found: String,
        /// Which bytes were hashed.
        what: Hashed,
    },
    /// No file of that name (plain or `.gz`).
    Missing,
    /// The file exists but could not be read or decompressed.
    Unreadable(String),
    /// No published hash applies to this form of the file (a plain or recompressed full-MNIST
    /// file: only the original `.gz` download's hash is published).
    Unverified,
}

impl CheckStatus {
    /// Whether the file is present and verified.
    pub fn is_ok(&self) -> bool {
        matches!(self, CheckStatus::Ok(_))
    }
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckStatus::Ok(what) => write!(f, "ok ({} matches)", what.describe()),
            CheckStatus::Mismatch {
                expected,
                found,
                what,
            } => write!(
                f,
                "MISMATCH ({}): expected {expected}, found {found}",
                what.describe()
            ),
            CheckStatus::Missing => f.write_str("missing"),
            CheckStatus::Unreadable(why) => write!(f, "unreadable: {why}"),
            CheckStatus::Unverified => f.write_str(
                "present, not verifiable (only the original .gz download's checksum is published)",
            ),
        }
    }
}

/// One line of a check report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// The file's name in the table (without `.gz`), prefixed by its data set directory.
    pub name: String,
    /// Where it was found, if anywhere.
    pub path: Option<PathBuf>,
    /// What the check found.
    pub status: CheckStatus,
}

impl fmt::Display for FileCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}: {} ({})", self.name, self.status, p.display()),
            None => write!(f, "{}: {}", self.name, self.status),
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of everything `reader` yields.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut reader, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies a file against a reference: a gzip file against the download hash when it matches
/// (or when it is the only one known), otherwise the decompressed content against the content
/// hash.
pub fn verify_file(path: &Path, reference: &Reference<'_>) -> CheckStatus {
    let raw = match fs::read(path) {
        Ok(raw) => raw,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return CheckStatus::Missing,
        Err(e) => return CheckStatus::Unreadable(e.to_string()),
    };
    verify_bytes(&raw, reference)
}

/// [`verify_file`] on bytes already in memory.
pub fn verify_bytes(raw: &[u8], reference: &Reference<'_>) -> CheckStatus {
    let gzip = is_gzip(raw);
    if let (true, Some(expected)) = (gzip, reference.download) {
        let found = sha256_hex(raw);
        if found == expected {
            return CheckStatus::Ok(Hashed::Download);
        }
        if reference.decompressed.is_none() {
            return mismatch(expected, found, Hashed::Download);
        }
    }
    let Some(expected) = reference.decompressed else {
        return CheckStatus::Unverified;
    };
    let found = if gzip {
        let decoder = MultiGzDecoder::new(raw).take(MAX_DECOMPRESSED);
        match sha256_reader(decoder) {
            Ok(h) => h,
            Err(e) => return CheckStatus::Unreadable(format!("not a valid gzip stream: {e}")),
        }
    } else {
        sha256_hex(raw)
    };
    if found == expected {
        CheckStatus::Ok(Hashed::Content)
    } else {
        mismatch(expected, found, Hashed::Content)
    }
}

fn mismatch(expected: &str, found: String, what: Hashed) -> CheckStatus {
    CheckStatus::Mismatch {
        expected: expected.to_owned(),
        found,
        what,
    }
}

/// Checks files in `dir`: each `(name, reference)` is looked up as `name`, then `name.gz`.
/// Reports are labelled `prefix/name`.
pub fn check_files<'a>(
    dir: &Path,
    prefix: &str,
    files: impl IntoIterator<Item = (&'a str, Reference<'a>)>,
) -> Vec<FileCheck> {
    files
        .into_iter()
        .map(|(name, reference)| {
            let path = find_file(dir, name);
            let status = match &path {
                Some(p) => verify_file(p, &reference),
                None => CheckStatus::Missing,
            };
            FileCheck {
                name: format!("{prefix}/{name}"),
                path,
                status,
            }
        })
        .collect()
}

/// Checks every file of `dataset` in `dir` (a data set directory such as
/// `/usr/share/datasets/fashion-mnist`) against the table.
pub fn check_dataset(dataset: DatasetId, dir: &Path) -> Vec<FileCheck> {
    check_files(
        dir,
        dataset.dir_name(),
        dataset.files().map(|f| (f.name, f.reference())),
    )
}

/// Checks the files of a discovered data set.
pub fn check_located(located: &Located) -> Vec<FileCheck> {
    check_dataset(located.dataset, &located.dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn sha256_matches_the_fips_180_2_test_vectors() {
        // FIPS 180-2, appendix B.1 ("abc") and the empty message.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_reader(&b""[..]).unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn check_reports_ok_mismatch_missing_and_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("good"), b"good content").unwrap();
        fs::write(dir.path().join("zipped.gz"), gz(b"zipped content")).unwrap();
        fs::write(dir.path().join("bad"), b"tampered").unwrap();
        fs::write(dir.path().join("broken.gz"), [0x1f, 0x8b, 0, 1, 2]).unwrap();
        let good = sha256_hex(b"good content");
        let zipped = sha256_hex(b"zipped content");
        let bad = sha256_hex(b"original");
        fn content(h: &str) -> Reference<'_> {
            Reference {
                decompressed: Some(h),
                download: None,
            }
        }
        let report = check_files(
            dir.path(),
            "set",
            [
                ("good", content(&good)),
                ("zipped", content(&zipped)),
                ("bad", content(&bad)),
                ("absent", content(&good)),
                ("broken", content(&good)),
            ],
        );
        let statuses: Vec<_> = report.iter().map(|c| c.status.clone()).collect();
        assert_eq!(statuses[0], CheckStatus::Ok(Hashed::Content));
        assert_eq!(statuses[1], CheckStatus::Ok(Hashed::Content));
        assert_eq!(
            statuses[2],
            CheckStatus::Mismatch {
                expected: bad,
                found: sha256_hex(b"tampered"),
                what: Hashed::Content
            }
        );
        assert_eq!(statuses[3], CheckStatus::Missing);
        assert!(
            matches!(statuses[4], CheckStatus::Unreadable(_)),
            "{:?}",
            statuses[4]
        );
        assert_eq!(
            report[1].path.as_deref(),
            Some(&*dir.path().join("zipped.gz"))
        );
        assert_eq!(report[3].path, None);
        assert_eq!(report[0].name, "set/good");
        assert!(report[2].to_string().contains("MISMATCH"), "{}", report[2]);
    }

    #[test]
    fn download_hash_checks_gzip_bytes_and_leaves_plain_files_unverified() {
        let packed = gz(b"payload");
        let download = sha256_hex(&packed);
        let reference = Reference {
            decompressed: None,
            download: Some(&download),
        };
        assert_eq!(
            verify_bytes(&packed, &reference),
            CheckStatus::Ok(Hashed::Download)
        );
        let other = gz(b"other payload");
        assert!(matches!(
            verify_bytes(&other, &reference),
            CheckStatus::Mismatch {
                what: Hashed::Download,
                ..
            }
        ));
        assert_eq!(
            verify_bytes(b"payload", &reference),
            CheckStatus::Unverified
        );
    }

    #[test]
    fn a_recompressed_file_passes_on_its_content_hash() {
        let content = sha256_hex(b"payload");
        let reference = Reference {
            decompressed: Some(&content),
            download: Some("0000"),
        };
        let recompressed = gz(b"payload");
        assert_eq!(
            verify_bytes(&recompressed, &reference),
            CheckStatus::Ok(Hashed::Content)
        );
    }
}
