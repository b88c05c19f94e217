//! Data for the distillation experiments that `nn::data` does not provide.
//!
//! ```text
//! privileged    synthetic privileged-information data (clean x* for the teacher, noisy x)
//! sentiment140  the Sentiment140 CSV reader (polarity, id, date, query, user, text)
//! hashing       signed feature hashing of word uni- and bigrams (the Twitter featurisation)
//! ```

pub mod hashing;
pub mod privileged;
pub mod sentiment140;

pub use hashing::{tokenize, HashingFeaturizer};
pub use privileged::{PrivilegedData, PrivilegedDataConfig};
pub use sentiment140::{
    binary_dataset, open_sentiment140, parse_sentiment140, read_sentiment140, Polarity,
    Sentiment140Rows, Tweet,
};
