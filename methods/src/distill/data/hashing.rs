//! Text features by signed feature hashing of word unigrams and bigrams.
//!
//! The seed's Twitter student has 1538 = 768·2 + 2 parameters, i.e. logistic regression on
//! 768-dimensional sentence embeddings (a BERT-base-sized encoder). Such embeddings cannot be
//! computed offline here (no encoder weights), so we use a documented, deterministic
//! featurisation of the same size instead — a different and likely weaker representation, so
//! our Twitter numbers are not comparable with the seed's in absolute terms.
//!
//! For a text:
//! 1. normalise: lower-case; decode the HTML entities `&quot; &amp; &lt; &gt; &#39;` (present in
//!    Sentiment140); a word starting with `@` becomes `<user>`, one starting with `http://`,
//!    `https://` or `www.` becomes `<url>`;
//! 2. tokenise: split on every character that is neither alphanumeric nor an apostrophe, strip
//!    apostrophes at the ends of tokens, drop empty tokens;
//! 3. n-grams: every unigram `w` as `"1:w"`, and (if enabled) every adjacent pair as
//!    `"2:w₁ w₂"` (the prefix keeps the two kinds apart);
//! 4. hash: `h = mix(FNV-1a-64(bytes))` (`mix` the SplitMix64 finaliser, so that every bit of
//!    `h` depends on every byte); bucket `h mod d`, sign `+1` if the top bit of `h` is 0, else
//!    `$-1$` (the sign makes collisions cancel in expectation: Weinberger et al., 2009);
//! 5. value: the signed count of n-grams per bucket (term frequency), then the vector is
//!    divided by its Euclidean norm (an empty text gives the zero vector).
//!
//! FNV-1a and SplitMix64 are fixed algorithms, so features are the same on every platform and
//! Rust version (std's `DefaultHasher` promises neither).

use ndarray::Array2;

use crate::{Error, Result};

/// The featuriser's settings: `d`, the number of buckets (default 768, the seed's embedding
/// size, so that logistic regression over 2 classes has the seed's 1538 parameters), and
/// whether word bigrams are hashed too (default true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashingFeaturizer {
    dim: usize,
    bigrams: bool,
}

impl Default for HashingFeaturizer {
    fn default() -> Self {
        HashingFeaturizer {
            dim: 768,
            bigrams: true,
        }
    }
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The SplitMix64 finaliser.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The tokens of `text` after normalisation (steps 1–2 of the module documentation).
pub fn tokenize(text: &str) -> Vec<String> {
    let lower = text
        .to_lowercase()
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let mut tokens = Vec::new();
    for word in lower.split_whitespace() {
        if word.starts_with('@') && word.len() > 1 {
            tokens.push("<user>".to_string());
            continue;
        }
        if word.starts_with("http://") || word.starts_with("https://") || word.starts_with("www.") {
            tokens.push("<url>".to_string());
            continue;
        }
        for piece in word.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
            let piece = piece.trim_matches('\'');
            if !piece.is_empty() {
                tokens.push(piece.to_string());
            }
        }
    }
    tokens
}

impl HashingFeaturizer {
    /// A featuriser with `$\mathrm{dim} \ge 1$` buckets, with or without bigrams.
    pub fn new(dim: usize, bigrams: bool) -> Result<Self> {
        if dim == 0 {
            return Err(Error::config(
                "hashing featurizer",
                "needs at least one bucket",
            ));
        }
        Ok(HashingFeaturizer { dim, bigrams })
    }

    /// `d`, the number of buckets (the feature dimension).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether bigrams are hashed.
    pub fn bigrams(&self) -> bool {
        self.bigrams
    }

    /// The bucket and sign of one n-gram key.
    pub fn bucket(&self, key: &str) -> (usize, f64) {
        let h = mix(fnv1a(key.as_bytes()));
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        ((h % self.dim as u64) as usize, sign)
    }

    /// The feature vector of one text (length `d`, unit norm unless the text has no token).
    pub fn features(&self, text: &str) -> Vec<f64> {
        let mut v = vec![0.0; self.dim];
        let tokens = tokenize(text);
        let mut add = |key: String| {
            let (b, sign) = self.bucket(&key);
            v[b] += sign;
        };
        for t in &tokens {
            add(format!("1:{t}"));
        }
        if self.bigrams {
            for pair in tokens.windows(2) {
                add(format!("2:{} {}", pair[0], pair[1]));
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// The feature matrix of several texts, one row each.
    pub fn matrix<F: autograd::Float, S: AsRef<str>>(&self, texts: &[S]) -> Array2<F> {
        let mut out = Array2::zeros((texts.len(), self.dim));
        for (mut row, text) in out.rows_mut().into_iter().zip(texts) {
            for (slot, v) in row.iter_mut().zip(self.features(text.as_ref())) {
                *slot = F::from_f64(v);
            }
        }
        out
    }
}
