//! The identity of a data set by content: the SHA-256 of each file's decompressed bytes (what
//! `distillery data check` compares with the published checksums), so that a model trained on
//! a data set can tell whether it was trained on this very data.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use super::checksum::sha256_reader;
use super::discover::Located;
use super::error::DataError;
use super::idx::is_gzip;

/// One file of the data a model was trained on, identified by its content.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DataFile {
    /// `data set/file`, e.g. `fashion-mnist/train-images-idx3-ubyte`, or the name of a
    /// generated data set.
    pub name: String,
    /// Lower-case hex SHA-256 of the decompressed content (for generated data: of whatever
    /// determines it, see [`DataFile::generated`]).
    pub sha256: String,
}

impl DataFile {
    /// A generated data set, identified by a description of everything that determines it
    /// (generator, sizes, parameters, seed), e.g. `"privileged n=10 m=1000 seed=0"`.
    pub fn generated(name: impl Into<String>, description: &str) -> Self {
        DataFile {
            name: name.into(),
            sha256: super::sha256_hex(description.as_bytes()),
        }
    }
}

/// The content identity of every file of a located data set, in catalog order. Computed once
/// per file per process (keyed by path, size and modification time), as hashing Fashion-MNIST
/// takes about half a second.
pub fn data_identity(located: &Located) -> Result<Vec<DataFile>, DataError> {
    located
        .files
        .iter()
        .map(|(spec, path)| {
            Ok(DataFile {
                name: format!("{}/{}", located.dataset.dir_name(), spec.name),
                sha256: content_sha256(path)?,
            })
        })
        .collect()
}

/// The content identity of one file (decompressed if it is gzip) under `name`: for data that a
/// user supplies, such as a CSV.
pub fn file_identity(name: &str, path: &Path) -> Result<DataFile, DataError> {
    Ok(DataFile {
        name: name.to_owned(),
        sha256: content_sha256(path)?,
    })
}

type CacheKey = (PathBuf, u64, Option<SystemTime>);

/// SHA-256 of a file's content, decompressed if it is gzip.
fn content_sha256(path: &Path) -> Result<String, DataError> {
    static CACHE: Mutex<Option<HashMap<CacheKey, String>>> = Mutex::new(None);
    let meta = std::fs::metadata(path).map_err(|e| DataError::io("read", path, e))?;
    let key = (path.to_owned(), meta.len(), meta.modified().ok());
    if let Some(hash) = CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&key)
    {
        return Ok(hash.clone());
    }
    let mut file = File::open(path).map_err(|e| DataError::io("open", path, e))?;
    let mut magic = [0u8; 2];
    let n = file
        .read(&mut magic)
        .map_err(|e| DataError::io("read", path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| DataError::io("read", path, e))?;
    let hash = if is_gzip(&magic[..n]) {
        sha256_reader(MultiGzDecoder::new(file))
    } else {
        sha256_reader(file)
    }
    .map_err(|e| DataError::io("read", path, e))?;
    CACHE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(key, hash.clone());
    Ok(hash)
}
