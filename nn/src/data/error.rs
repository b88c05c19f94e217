//! The one error type of the data layer.
//!
//! Every variant that comes from outside the program (a file, a directory, a download, an
//! argument) names the thing, says what was expected and what was found, and where there is one,
//! the command that fixes it.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// The command a user runs to download the data sets into the cache directory.
pub const FETCH_COMMAND: &str = "distillery data fetch";

/// Everything that can go wrong while reading, finding, verifying, downloading or generating data.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file or directory could not be opened, read, written, created or renamed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("read", "create", "rename into place", ...).
        action: &'static str,
        /// The path it was being done to.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: io::Error,
    },

    /// The file starts with the gzip magic bytes `1f 8b` but does not decompress.
    #[error(
        "{}: the file starts with the gzip magic bytes 1f 8b but is not a valid gzip stream \
         ({reason}); it is probably a partial or corrupted download: delete it and run \
         `{FETCH_COMMAND}`",
        path.display()
    )]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The decompressor's message.
        reason: String,
    },

    /// The decompressed content is larger than any IDX file this program reads.
    #[error(
        "{}: more than {limit} bytes (decompressed), far more than any data set this program \
         reads; the file is not what its name says",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },

    /// The IDX file ends before its header, or before the data its header declares.
    #[error(
        "{}: truncated IDX file: the {part} needs {expected} bytes in all, found only {found}; \
         re-download it with `{FETCH_COMMAND}`",
        path.display()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is cut short ("magic number", "header", "data").
        part: &'static str,
        /// The length the header implies, in bytes (decompressed).
        expected: u128,
        /// The actual length, in bytes (decompressed).
        found: usize,
    },

    /// The first two bytes of an IDX file must be zero.
    #[error(
        "{}: not an IDX file: expected the magic number to start with the bytes 00 00, found \
         {:02x} {:02x}; check that the path names an MNIST-style IDX file (`distillery data \
         check` verifies the data files)",
        path.display(), found[0], found[1]
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The first two bytes that were found.
        found: [u8; 2],
    },

    /// The IDX element type is not unsigned byte (0x08), the only one this reader supports.
    #[error(
        "{}: unsupported IDX element type: expected 0x08 (unsigned byte, as in MNIST), found \
         0x{code:02x} ({})",
        path.display(), super::idx::element_type_name(*code)
    )]
    UnsupportedType {
        /// The file.
        path: PathBuf,
        /// The type byte found (third byte of the magic number).
        code: u8,
    },

    /// The IDX file has a different number of dimensions than the caller needs.
    #[error(
        "{}: wrong number of dimensions: expected {expected}{}, found {found}{}",
        path.display(), dims_meaning(*expected), swapped_hint(*expected, *found)
    )]
    WrongDims {
        /// The file.
        path: PathBuf,
        /// The number of dimensions the caller asked for.
        expected: usize,
        /// The number in the file's magic number.
        found: usize,
    },

    /// The IDX file is longer than its header declares.
    #[error(
        "{}: {} trailing bytes: the header declares {expected} bytes in all, the file has \
         {found}; it is not a well-formed IDX file",
        path.display(), *found as u128 - *expected
    )]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// The length the header implies, in bytes (decompressed).
        expected: u128,
        /// The actual length, in bytes (decompressed).
        found: usize,
    },

    /// An images file and a labels file that should belong together disagree.
    #[error("{}: {detail}", images.display())]
    Mismatched {
        /// The images file.
        images: PathBuf,
        /// What disagrees, naming the labels file.
        detail: String,
    },

    /// A label is not a valid class index.
    #[error(
        "{source_name}: label {label} at position {index} is out of range: expected a class \
         index below {num_classes}"
    )]
    LabelOutOfRange {
        /// Where the labels came from (a path, or "labels" for in-memory data).
        source_name: String,
        /// Position of the offending label.
        index: usize,
        /// The label found.
        label: usize,
        /// The number of classes.
        num_classes: usize,
    },

    /// An argument is invalid (a batch size of 0, a split larger than the data, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A directory the user named explicitly does not exist.
    #[error("{origin} {} does not exist (or is not a directory): {hint}", path.display())]
    DataDirMissing {
        /// How the user named it ("--data-dir", "DISTILLERY_DATA").
        origin: &'static str,
        /// The path as resolved.
        path: PathBuf,
        /// What to do about it.
        hint: &'static str,
    },

    /// A data set was not found in any of the places searched.
    #[error("{0}")]
    NotFound(Box<super::discover::NotFound>),

    /// A downloaded (or installed) file's content does not hash to the published value.
    #[error(
        "checksum mismatch for {file} downloaded from {url}: expected SHA-256 {expected}, \
         found {found} ({what}); the download was deleted, nothing was installed"
    )]
    ChecksumMismatch {
        /// The file name.
        file: String,
        /// The URL it came from.
        url: String,
        /// The published SHA-256 (hex).
        expected: String,
        /// The SHA-256 of what arrived (hex).
        found: String,
        /// Which bytes were hashed: the decompressed content or the file as downloaded.
        what: &'static str,
    },

    /// A download failed (network, HTTP status, size limit).
    #[error("download of {url} failed: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },

    /// Every mirror of a file failed.
    #[error(
        "could not download {file}:\n  {}\nCheck the network connection and run \
         `{FETCH_COMMAND}` again, or copy the files by hand (see `distillery data check`)",
        failures.join("\n  ")
    )]
    FetchFailed {
        /// The file name.
        file: String,
        /// One line per URL tried: the URL and what went wrong.
        failures: Vec<String>,
    },

    /// There is no cache directory to download into.
    #[error(
        "no cache directory: neither XDG_CACHE_HOME (an absolute path) nor HOME is set; set \
         one of them, or download the files by hand and pass --data-dir"
    )]
    NoCacheDir,
}

/// Results of the data layer.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// What an IDX dimension count means, for messages.
fn dims_meaning(ndims: usize) -> &'static str {
    match ndims {
        1 => " (a labels file)",
        3 => " (an images file: count × rows × columns)",
        _ => "",
    }
}

/// A hint when an images file was given for a labels file or the reverse.
fn swapped_hint(expected: usize, found: usize) -> &'static str {
    match (expected, found) {
        (1, 3) => "; this is an images file: are the images and labels paths swapped?",
        (3, 1) => "; this is a labels file: are the images and labels paths swapped?",
        _ => "",
    }
}

impl DataError {
    /// Wraps an `io::Error` with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        DataError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
