//! The config sections the three Bayesian-distillation experiments share: the teacher's
//! posterior and its alignment (`[posterior]`), the variational students (`[student]`) and the
//! Hinton-distilled student (`[hinton]`).

use methods::bayes::laplace::Curvature;
use methods::bayes::orders::RemovalOrder;

use crate::config;
use crate::experiment::config::{ge, gt};
use crate::experiment::ConfigError;

config! {
    /// The Laplace posterior of the teacher and the removal order of the alignment.
    pub struct PosteriorConfig {
        /// α, the precision of the teacher's prior N(0, α⁻¹ I) (S4 does not state it; our
        /// choice, α = 1). The students without a teacher get the same prior.
        #[allowed(gt(0.0).le(1e6))]
        pub prior_precision: f64 = 1.0,
        /// The curvature of the Laplace approximation: "ggn" (the generalised Gauss–Newton
        /// matrix, positive semi-definite; the default) or "hessian" (exact, from
        /// Hessian-vector products; rejected where it is not positive definite, as at the
        /// trained ReLU teacher).
        pub curvature: String = "ggn".to_owned(),
        /// The removal order of the alignment: "random" (S4's experiment: "used in the
        /// computational experiment"; drawn per run seed), "obd", "density-ratio" or "belsley".
        pub order: String = "random".to_owned(),
        /// Also train the teacher-initialised joint-prior student under the three other
        /// orders, for the plot comparing the four.
        pub compare_orders: bool = true,
    }
}

/// The four order names, in the plot's order.
pub const ORDERS: [&str; 4] = ["random", "obd", "density-ratio", "belsley"];

impl PosteriorConfig {
    /// The curvature, or an error naming `posterior.curvature`.
    pub fn curvature(&self) -> Result<Curvature, ConfigError> {
        match self.curvature.as_str() {
            "ggn" => Ok(Curvature::Ggn),
            "hessian" => Ok(Curvature::Hessian),
            other => Err(ConfigError {
                key: "posterior.curvature".into(),
                message: format!("{other:?} is not a curvature; allowed: \"ggn\", \"hessian\""),
            }),
        }
    }

    /// Checks `posterior.order` and `posterior.curvature`.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.curvature()?;
        order_by_name(&self.order, 0)?;
        Ok(())
    }
}

/// The order called `name` (random ones drawn from `seed`), or an error naming
/// `posterior.order`.
pub fn order_by_name(name: &str, seed: u64) -> Result<RemovalOrder, ConfigError> {
    Ok(match name {
        "random" => RemovalOrder::Random { seed },
        "obd" => RemovalOrder::OptimalBrainDamage,
        "density-ratio" => RemovalOrder::DensityRatio,
        "belsley" => RemovalOrder::Belsley,
        other => {
            return Err(ConfigError {
                key: "posterior.order".into(),
                message: format!("{other:?} is not an order; allowed: {}", ORDERS.join(", ")),
            })
        }
    })
}

config! {
    /// How every student is trained: the variational objective KL(q ‖ p) − log p(y | X, w)
    /// (one reparameterised draw per step, the likelihood scaled by N/B), Adam, from the run
    /// seed's initialisation and batch order, shared by all students (paired).
    pub struct BayesStudentConfig {
        /// Passes over the training set.
        #[allowed(ge(1).le(100_000))]
        pub epochs: usize = 100,
        /// Objects per Adam step (64, the authors' code's batch).
        #[allowed(ge(1).le(1_000_000))]
        pub batch_size: usize = 64,
        /// Adam's step size (PyTorch's default, 1e-3).
        #[allowed(gt(0.0).le(10.0))]
        pub learning_rate: f64 = 1e-3,
        /// The initial log-variance ρ = ln σ² of every weight of q (our choice: σ ≈ 0.01, a
        /// nearly deterministic start).
        #[allowed(ge(-30.0).le(5.0))]
        pub init_log_var: f64 = -9.0,
        /// Steps between two evaluations of log p(y_test | X_test, w) at the means (the x axis
        /// of the curves is the step, "iteration"; the first point is the initial network).
        #[allowed(ge(1).le(1_000_000))]
        pub eval_every: usize = 15,
        /// κ, the factor on KL(q ‖ p) (1: the seed's objective).
        #[allowed(ge(0.0).le(1e6))]
        pub kl_weight: f64 = 1.0,
    }
}

config! {
    /// The Hinton-distilled student (the authors' slides' third row): the variational student
    /// with the teacher-free prior N(0, α⁻¹ I), whose likelihood term mixes the labels with
    /// the teacher's answers.
    pub struct HintonSection {
        /// λ, the weight of the teacher's answers: (1 − λ)·(−log p(y | w)) + λ·(teacher term).
        /// S4 leaves it open; our choice 0.5.
        #[allowed(ge(0.0).le(1.0))]
        pub lambda: f64 = 0.5,
        /// T0 of the soft targets (classification only; the soft term is multiplied by T0²,
        /// Hinton et al.). Regression: the teacher term is −log N(s_i | g(x_i), s²), the same
        /// noise as the labels' (S4's regression statement with σ_s = σ).
        #[allowed(gt(0.0).le(1_000.0))]
        pub temperature: f64 = 2.0,
    }
}
