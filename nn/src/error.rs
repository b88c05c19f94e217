//! The errors of the nn crate.

use std::path::PathBuf;

/// Everything that can go wrong in nn, with a message that says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the autograd engine (shapes, arguments).
    #[error(transparent)]
    Autograd(#[from] autograd::Error),
    /// A tensor (a parameter, a checkpoint entry, an optimiser state) has the wrong shape.
    #[error("{name}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// What the tensor is.
        name: String,
        /// The shape that was expected.
        expected: Vec<usize>,
        /// The shape that was found.
        found: Vec<usize>,
    },
    /// A configuration value is out of its range.
    #[error("{what}: {reason}")]
    Config {
        /// The setting, e.g. `"Adam learning rate"`.
        what: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A checkpoint file could not be read or written, or does not match the model.
    #[error("checkpoint {}: {reason}", .path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the tensors concerned.
        reason: String,
    },
    /// Training produced a loss that is not finite.
    #[error(
        "the loss became {value} at epoch {epoch}, batch {batch}: training stopped. Lower the \
         learning rate, or clip gradients"
    )]
    NonFiniteLoss {
        /// The offending value.
        value: f64,
        /// Epoch (from 1).
        epoch: usize,
        /// Batch within the epoch (from 1).
        batch: usize,
    },
    /// An I/O error with the path involved.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// A configuration error for `what`.
    pub fn config(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// The result type of nn.
pub type Result<T, E = Error> = std::result::Result<T, E>;
