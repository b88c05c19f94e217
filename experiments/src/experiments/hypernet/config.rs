//! The config of `hypernet` and the checks between its keys.

use methods::hypernet::{
    ComplexityConfig, HypernetKind, LambdaEncoding, LambdaSampler, LambdaScale, PruneScope,
};
use nn::layers::Activation;
use serde::Serialize;

use crate::config;
use crate::experiment::config::{ge, gt};
use crate::experiment::ConfigError;

config! {
    /// Configuration of `hypernet`.
    pub struct HypernetConfig {
        /// The data: "mnist" (the seed names none; MNIST is the group's usual choice and the
        /// authors' code's; the full set when found, else the 10,000-digit subset, split) or
        /// "fashion-mnist".
        pub data: String = "mnist".to_owned(),
        /// Training images used (the first n of a permutation from `split_seed`; all when
        /// larger than the set). Our default, 2,000, keeps the default run (5 seeds × 2
        /// nonlinearities × 6 per-λ models, 2 hypernetworks, fine-tuning) near 5 minutes of
        /// CPU; the seed's protocol uses every training image (`train_size = 60000`).
        #[allowed(ge(1).le(60_000))]
        pub train_size: usize = 2_000,
        /// Test images used (likewise).
        #[allowed(ge(1).le(10_000))]
        pub test_size: usize = 10_000,
        /// Held out for testing when only the 10,000-digit MNIST subset is found (the rest
        /// trains).
        #[allowed(ge(1).le(9_999))]
        pub mnist10k_test_size: usize = 2_000,
        /// The seed of the subsets and splits (shared by every run seed).
        pub split_seed: u64 = 0,
        /// Hidden units of the network 784-H-10 (the seed: 100).
        #[allowed(ge(1).le(100_000))]
        pub hidden: usize = 100,
        /// The hidden nonlinearities run, each a full set of lines: "softmax" (the seed's
        /// formula as written), "relu" (the authors' code).
        pub activations: Vec<String> = vec!["softmax".to_owned(), "relu".to_owned()],
        /// The λ of the per-λ models and of the evaluation of the hypernetworks (the seed's
        /// figures: 0, 0.01, 0.1, 1, 10, 100).
        pub lambdas: Vec<f64> = vec![0.0, 0.01, 0.1, 1.0, 10.0, 100.0],
        /// s², the prior variance of every weight and bias, p(w) = N(0, s² I) (the seed: 0.1;
        /// the authors' notebook: 1).
        #[allowed(gt(0.0).le(1e6))]
        pub prior_variance: f64 = 0.1,
        /// ρ = ln σ² of every weight and bias at initialisation (the authors' code: ln σ = −3,
        /// so ln σ² = −6); the means are Xavier-uniform (theirs), the bias means PyTorch's.
        #[allowed(ge(-30.0).le(5.0))]
        pub init_log_var: f64 = -6.0,
        /// Passes over the training set of every per-λ model and hypernetwork (the seed: 50;
        /// our default 10, for cost as `train_size`).
        #[allowed(ge(1).le(10_000))]
        pub epochs: usize = 10,
        /// Samples per SGD step (the authors' code: 64).
        #[allowed(ge(1).le(1_000_000))]
        pub batch_size: usize = 64,
        /// The optimiser of every training: "sgd" (SGD with momentum: the seed says SGD) or
        /// "adam" (the authors' code: Adam at 5e-4, i.e. `--set optimizer=adam --set
        /// learning_rate=5e-4`; PyTorch's defaults otherwise, `momentum` unused).
        pub optimizer: String = "sgd".to_owned(),
        /// The optimiser's step size (our choice for SGD: 0.05; the authors' Adam: 5e-4).
        #[allowed(gt(0.0).le(100.0))]
        pub learning_rate: f64 = 0.05,
        /// SGD's momentum (our choice).
        #[allowed(ge(0.0).lt(1.0))]
        pub momentum: f64 = 0.9,
        /// Every gradient entry clamped to [−c, c] before each SGD step, 0 = none (the authors'
        /// code: 1; without it SGD diverges on the low-rank hypernetwork, whose f gets gradients
        /// summed over whole weight matrices).
        #[allowed(ge(0.0).le(1e6))]
        pub clip_value: f64 = 1.0,
        /// λ values sampled per batch in hypernetwork training (the seed: 5).
        #[allowed(ge(1).le(1_000))]
        pub lambdas_per_batch: usize = 5,
        /// How training draws λ between lambda_min and lambda_max: "log" (the authors' code:
        /// λ = 10^u, u ~ U(−2, 2)) or "linear" (the seed's U(Λ) read literally).
        pub lambda_scale: String = "log".to_owned(),
        /// λ_min of the draws and of the encoding t(λ) = ln(1 + λ/λ_min) / ln(1 + λ_max/λ_min)
        /// (the authors' grid starts at 0.01).
        #[allowed(ge(0.0).le(1e6))]
        pub lambda_min: f64 = 0.01,
        /// λ_max (the authors' grid ends at 100).
        #[allowed(gt(0.0).le(1e6))]
        pub lambda_max: f64 = 100.0,
        /// The probability that a draw is exactly λ = 0 (our addition, so that λ = 0 is trained:
        /// 1/6, one of the six grid values).
        #[allowed(ge(0.0).le(1.0))]
        pub zero_probability: f64 = 1.0 / 6.0,
        /// The input of the hypernetworks: "log1p" (t(λ) above, our reading) or "identity"
        /// (t = λ, the seed's formula as written).
        pub lambda_encoding: String = "log1p".to_owned(),
        /// Rank of the low-rank hypernetwork's correction (the authors' code: 1).
        #[allowed(ge(1).le(10_000))]
        pub low_rank: usize = 1,
        /// Hidden ReLU units of f in the low-rank hypernetwork (the seed: 50).
        #[allowed(ge(1).le(100_000))]
        pub low_rank_hidden: usize = 50,
        /// Pruning levels: fractions 0, 1/L, …, (L−1)/L of the weights removed (the seed's
        /// figures and the authors' code: 10, i.e. 0 %, 10 %, …, 90 %).
        #[allowed(ge(2).le(1_000))]
        pub prune_levels: usize = 10,
        /// "per-layer" (every layer loses the same fraction, the authors' code) or "global".
        pub prune_scope: String = "per-layer".to_owned(),
        /// Fine-tuning of a pruned hypernetwork model, at every λ and level: SGD steps on the
        /// per-λ objective with the pruned weights held at 0 (our choice; the seed gives no
        /// length; ours 10 by default, for cost). 0 skips the fine-tuned lines.
        #[allowed(ge(0).le(10_000_000))]
        pub finetune_steps: usize = 10,
    }
}

/// The parsed settings the keys spell out as strings.
pub struct Parsed {
    /// The hidden nonlinearities, with their names.
    pub activations: Vec<(String, Activation)>,
    /// λ ~ U(Λ).
    pub sampler: LambdaSampler,
    /// t = e(λ).
    pub encoding: LambdaEncoding,
    /// Per layer or global.
    pub scope: PruneScope,
}

fn err(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

impl HypernetConfig {
    /// Parses and checks the keys that are strings or lists, and the ranges between keys; the
    /// error names the key and what is allowed.
    pub fn parse(&self) -> Result<Parsed, ConfigError> {
        if !matches!(self.data.as_str(), "mnist" | "fashion-mnist") {
            return Err(err("data", format!("{:?}: must be \"mnist\" or \"fashion-mnist\"", self.data)));
        }
        if self.activations.is_empty() {
            return Err(err("activations", "needs at least one of \"softmax\", \"relu\""));
        }
        let mut activations = Vec::new();
        for a in &self.activations {
            let act = match a.as_str() {
                "softmax" => Activation::Softmax,
                "relu" => Activation::Relu,
                other => {
                    return Err(err("activations", format!("{other:?}: must be \"softmax\" or \"relu\"")))
                }
            };
            if activations.iter().any(|(n, _)| n == a) {
                return Err(err("activations", format!("{a:?} is listed twice")));
            }
            activations.push((a.clone(), act));
        }
        if self.lambdas.is_empty() {
            return Err(err("lambdas", "needs at least one λ"));
        }
        for &l in &self.lambdas {
            if !(l.is_finite() && l >= 0.0) {
                return Err(err("lambdas", format!("{l}: every λ must be a finite number ≥ 0")));
            }
        }
        let scale = match self.lambda_scale.as_str() {
            "log" => LambdaScale::Log,
            "linear" => LambdaScale::Linear,
            other => return Err(err("lambda_scale", format!("{other:?}: must be \"log\" or \"linear\""))),
        };
        if self.lambda_max <= self.lambda_min {
            return Err(err(
                "lambda_max",
                format!("{}: must be > lambda_min = {}", self.lambda_max, self.lambda_min),
            ));
        }
        let sampler = LambdaSampler {
            scale,
            min: self.lambda_min,
            max: self.lambda_max,
            zero_probability: self.zero_probability,
        };
        sampler.validate().map_err(|e| err("lambda_min", e.to_string()))?;
        let encoding = match self.lambda_encoding.as_str() {
            "log1p" => LambdaEncoding::log1p(self.lambda_min, self.lambda_max)
                .map_err(|e| err("lambda_min", format!("the log1p encoding {e}")))?,
            "identity" => LambdaEncoding::Identity,
            other => {
                return Err(err(
                    "lambda_encoding",
                    format!("{other:?}: must be \"log1p\" or \"identity\""),
                ))
            }
        };
        if !matches!(self.optimizer.as_str(), "sgd" | "adam") {
            return Err(err("optimizer", format!("{:?}: must be \"sgd\" or \"adam\"", self.optimizer)));
        }
        let scope = match self.prune_scope.as_str() {
            "per-layer" => PruneScope::PerLayer,
            "global" => PruneScope::Global,
            other => {
                return Err(err("prune_scope", format!("{other:?}: must be \"per-layer\" or \"global\"")))
            }
        };
        Ok(Parsed {
            activations,
            sampler,
            encoding,
            scope,
        })
    }

    /// The prior and N.
    pub fn complexity(&self, train_size: usize) -> ComplexityConfig {
        ComplexityConfig {
            prior_variance: self.prior_variance,
            train_size,
        }
    }

    /// The two hypernetworks.
    pub fn kinds(&self) -> [(&'static str, HypernetKind); 2] {
        [
            (
                "low_rank",
                HypernetKind::LowRank {
                    rank: self.low_rank,
                    hidden: self.low_rank_hidden,
                },
            ),
            ("linear", HypernetKind::Linear),
        ]
    }

    /// The pruned fractions, 0, 1/L, …, (L−1)/L.
    pub fn fractions(&self) -> Vec<f64> {
        (0..self.prune_levels)
            .map(|j| j as f64 / self.prune_levels as f64)
            .collect()
    }

    /// The SGD training table of a stored model's identity.
    pub fn training(&self, what: &'static str) -> Training {
        Training {
            objective: what,
            optimizer: self.optimizer.clone(),
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            momentum: self.momentum,
            clip_value: self.clip_value,
            prior_variance: self.prior_variance,
            init_log_var: self.init_log_var,
        }
    }
}

/// The training table of a stored model's identity (with the hypernetwork's own settings
/// beside it in [`HypernetTraining`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Training {
    /// What is minimised.
    pub objective: &'static str,
    /// "sgd" or "adam" (left out of the identity for SGD, so that models stored before the key
    /// existed are still found).
    #[serde(skip_serializing_if = "is_sgd")]
    pub optimizer: String,
    /// Passes.
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// The step size.
    pub learning_rate: f64,
    /// SGD's momentum (also recorded for Adam, which does not use it).
    pub momentum: f64,
    /// Clipping by value (0: none).
    pub clip_value: f64,
    /// s².
    pub prior_variance: f64,
    /// ρ at initialisation.
    pub init_log_var: f64,
}

fn is_sgd(optimizer: &str) -> bool {
    optimizer == "sgd"
}

/// A hypernetwork's training table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HypernetTraining {
    /// The optimiser's part (named `sgd` in stored identities from before the Adam option).
    pub sgd: Training,
    /// λ per batch.
    pub lambdas_per_batch: usize,
    /// "log" or "linear".
    pub lambda_scale: String,
    /// λ_min.
    pub lambda_min: f64,
    /// λ_max.
    pub lambda_max: f64,
    /// P(λ = 0).
    pub zero_probability: f64,
    /// "log1p" or "identity".
    pub lambda_encoding: String,
}

impl HypernetConfig {
    /// The training table of a stored hypernetwork.
    pub fn hypernet_training(&self) -> HypernetTraining {
        HypernetTraining {
            sgd: self.training("E_λ[NLL_B/B + λ KL/N], λ per batch from U(Λ)"),
            lambdas_per_batch: self.lambdas_per_batch,
            lambda_scale: self.lambda_scale.clone(),
            lambda_min: self.lambda_min,
            lambda_max: self.lambda_max,
            zero_probability: self.zero_probability,
            lambda_encoding: self.lambda_encoding.clone(),
        }
    }
}
