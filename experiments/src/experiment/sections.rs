//! Config sections shared by the experiments, each declared once with its documented defaults
//! and ranges: `[teacher]` and `[student]`. An experiment embeds one as a field
//! (`pub teacher: TeacherConfig = TeacherConfig { epochs: 20, ..TeacherConfig::default() }`),
//! overriding only the defaults that differ and saying why in the field's doc comment.

use serde::Serialize;

use crate::config;
use crate::experiment::config::{ge, gt};

config! {
    /// How a teacher (or a source model) is trained: the mean cross-entropy, Adam. With the
    /// architecture, the seed and the data, this table is the identity of the stored model
    /// (`OUT/models/`), so that every run and experiment asking for the same teacher shares it.
    pub struct TeacherConfig {
        /// Passes over the training set.
        #[allowed(ge(1).le(10_000))]
        pub epochs: usize = 20,
        /// Samples per Adam step.
        #[allowed(ge(1).le(2_000_000))]
        pub batch_size: usize = 64,
        /// Adam's step size (PyTorch's default, which the authors' code uses).
        #[allowed(gt(0.0).le(10.0))]
        pub learning_rate: f64 = 1e-3,
        /// The seed of the teacher's initialisation and batch order (our choice).
        pub seed: u64 = 0,
        /// Train a teacher per run seed (from that seed) instead of one shared by all. Default
        /// false: the authors' code trains one teacher for its five students.
        pub per_seed: bool = false,
    }
}

/// The part of [`TeacherConfig`] that determines the weights besides the seed: the training
/// table of a stored teacher's identity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TeacherTraining {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per Adam step.
    pub batch_size: usize,
    /// Adam's step size.
    pub learning_rate: f64,
}

impl TeacherConfig {
    /// The seed of the teacher of run `seed`: its own when `per_seed`, else [`Self::seed`].
    pub fn seed_for(&self, run_seed: u64) -> u64 {
        if self.per_seed {
            run_seed
        } else {
            self.seed
        }
    }

    /// The training part of the stored teacher's identity.
    pub fn training(&self) -> TeacherTraining {
        TeacherTraining {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
        }
    }
}

config! {
    /// How a student is trained: Adam, from the run seed's initialisation and batch order.
    pub struct StudentConfig {
        /// Passes over the training set.
        #[allowed(ge(1).le(10_000))]
        pub epochs: usize = 100,
        /// Samples per Adam step (each experiment's section says whose value its default is).
        #[allowed(ge(1).le(2_000_000))]
        pub batch_size: usize = 64,
        /// Adam's step size (PyTorch's default, which the authors' code uses).
        #[allowed(gt(0.0).le(10.0))]
        pub learning_rate: f64 = 1e-3,
    }
}
