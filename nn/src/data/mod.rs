//! Data: IDX files, in-memory data sets, batching, normalisation, finding and fetching the image
//! data sets, checksums, and the synthetic generators of the seed works.
//!
//! ```text
//! idx        read/write IDX (plain or gzip)          catalog    the table of files, hashes, URLs
//! dataset    Dataset<F, Y>: select, split, shuffle    discover   where the data sets are on disk
//! batch      mini-batch iterator                      checksum   SHA-256 verification, `data check`
//! normalize  standardisation fitted on training data  fetch      download, verify, install
//! load       IDX files → Dataset                      synthetic  S3 sign data, S4 softmax/regression
//! identity   a data set's SHA-256s by content (the data part of a stored model's identity)
//! ```
//!
//! Typical use:
//!
//! ```ignore
//! let found = data::discover(args.data_dir.as_deref())?;
//! let fashion = found.fashion_mnist()?;          // prints "Fashion-MNIST ... from /path"
//! let TrainTest { train, test } = data::load_train_test::<f32>(fashion)?;
//! let (big, small) = train.split(59_000, &mut rng)?;
//! for (xb, yb) in small.shuffled_batches(64, false, &mut rng)? { /* ... */ }
//! ```
//!
//! Nothing here depends on the autograd crate: arrays are plain `ndarray` arrays.

pub mod batch;
pub mod catalog;
pub mod checksum;
pub mod dataset;
pub mod discover;
pub mod error;
pub mod fetch;
mod fsutil;
pub mod identity;
pub mod idx;
pub mod load;
pub mod normalize;
pub mod synthetic;
pub mod testing;

pub use batch::Batches;
pub use catalog::{DatasetId, FileRole, FileSpec, FILES};
pub use checksum::{check_dataset, check_located, sha256_hex, CheckStatus, FileCheck, Reference};
pub use dataset::{permutation, Dataset, ImageShape};
pub use discover::{discover, discover_in, Discovery, Located, NotFound, SearchEnv, SearchRoot};
pub use error::{DataError, FETCH_COMMAND};
pub use fetch::{
    default_cache_dir, fetch_dataset, Downloader, FetchOutcome, HttpDownloader, Progress,
};
pub use fsutil::write_atomic;
pub use identity::{data_identity, file_identity, DataFile};
pub use idx::{read_idx, write_idx, Compression, IdxArray};
pub use load::{load, load_pair, load_train_test, Part, TrainTest};
pub use normalize::{Scope, Standardizer};
pub use synthetic::{
    LinearRegressionConfig, RegressionData, SignData, SignDataConfig, SoftmaxData,
    SoftmaxDataConfig,
};

#[cfg(test)]
mod real_data_tests;
