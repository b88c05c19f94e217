//! The one error type of the methods crate.

use std::path::PathBuf;

/// Everything that can go wrong in a method: an engine or nn error, a configuration value out of
/// its range, a linear system that cannot be solved, a malformed data file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error of the autograd engine (shapes, arguments).
    #[error(transparent)]
    Autograd(#[from] autograd::Error),
    /// An error of the nn crate.
    #[error(transparent)]
    Nn(#[from] nn::Error),
    /// An error of the data layer of nn (building a data set).
    #[error(transparent)]
    Data(#[from] nn::data::DataError),
    /// A configuration value or an argument is out of its range.
    #[error("{what}: {reason}")]
    Config {
        /// The setting or argument, e.g. `"probabilistic distillation λ"`.
        what: String,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A linear system has no unique solution (a singular or numerically singular matrix).
    #[error("{op}: {reason}")]
    Singular {
        /// The solver, e.g. `"weighted least squares"`.
        op: &'static str,
        /// Why: which pivot failed, or the estimated reciprocal condition number.
        reason: String,
    },
    /// A matrix that must be symmetric positive definite (a covariance, a precision, a
    /// curvature) is not, even numerically.
    #[error("{what} is not positive definite: {reason}")]
    NotPositiveDefinite {
        /// The matrix, e.g. `"the Laplace precision (GGN + αI)"`.
        what: String,
        /// Why: the failed pivot, the smallest eigenvalue, and what to do about it.
        reason: String,
    },
    /// The student's architecture cannot be reached from the teacher's by the removals of
    /// Bayesian distillation (neuron removal φ, layer removal ψ).
    #[error("architecture alignment {teacher:?} → {student:?}: {reason}")]
    Alignment {
        /// The teacher's layer sizes `$[n_0, \dots, n_T]$`.
        teacher: Vec<usize>,
        /// The requested student's layer sizes.
        student: Vec<usize>,
        /// Which removal fails, or why no sequence of removals reaches the student.
        reason: String,
    },
    /// A row of a CSV file cannot be read.
    #[error("{source_name}, line {line}: {reason}")]
    Csv {
        /// The file (or a description of the stream) being read.
        source_name: String,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with the row.
        reason: String,
    },
    /// A file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
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

/// The result type of the methods crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
