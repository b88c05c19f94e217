//! The config of `transfer` and the checks between its keys.

use crate::config;
use crate::experiment::config::{ge, gt};
use crate::experiment::{ConfigError, StudentConfig, TeacherConfig};

config! {
    /// Configuration of `transfer`.
    pub struct TransferConfig {
        /// Training images of each source model: all of the source's training pool by default
        /// (Fashion-MNIST's 60,000; MNIST's 60,000, or the 10,000-digit subset's pool); fewer
        /// are drawn once with seed 0.
        #[allowed(ge(10).le(60_000))]
        pub source_size: usize = 60_000,
        /// Training images of each target domain, drawn per run seed from the target's training
        /// pool (the issue: 1,000). Every method of a seed sees the same images.
        #[allowed(ge(10).le(60_000))]
        pub target_size: usize = 1_000,
        /// Test images of the target domain, evaluated after every epoch (our choice: 2,000
        /// keeps the per-epoch evaluation cheap; the standard error of an accuracy near 0.9 is
        /// then 0.007). Drawn once (seed 0) from the target's test part.
        #[allowed(ge(10).le(10_000))]
        pub test_size: usize = 2_000,
        /// Digits of the 10,000-digit MNIST subset held out as its test part (the subset has no
        /// split): the source MNIST model is tested on them, and the Fashion → MNIST target's
        /// test images come from them. Unused with the full MNIST (its test set is used).
        #[allowed(ge(10).le(5_000))]
        pub mnist10k_test_size: usize = 2_000,
        /// Channels of the first 5×5 convolution (our choice: a LeNet-sized net).
        #[allowed(ge(1).le(256))]
        pub conv1_channels: usize = 8,
        /// Channels of the second 5×5 convolution.
        #[allowed(ge(1).le(256))]
        pub conv2_channels: usize = 16,
        /// Width of the encoder's dense layer, the features the classifier reads.
        #[allowed(ge(1).le(4_096))]
        pub hidden: usize = 64,
        /// The source models (one per source domain, shared by every seed and method): Adam at
        /// 1e-3, batches of 64, 5 epochs (our choice: both reach their plateau's neighbourhood;
        /// on Fashion-MNIST's 60,000 images this is the longest training of the run).
        pub source: TeacherConfig = TeacherConfig {
            epochs: 5,
            ..TeacherConfig::default()
        },
        /// The target trainings (every method): Adam, from the seed's initialisation of the
        /// classifier and batch order. Our choice: 20 epochs of batches of 32 (32 steps per epoch
        /// on 1,000 images), step size 1e-3.
        pub target: StudentConfig = StudentConfig {
            epochs: 20,
            batch_size: 32,
            learning_rate: 1e-3,
        },
        /// α of the L2-penalty baseline, Ω = α ‖w‖² over every target parameter (our choice,
        /// of the order of a usual weight decay; the seed gives no value).
        #[allowed(ge(0.0).le(1e3))]
        pub l2_alpha: f64 = 1e-3,
        /// β of L2-SP, Ω = β ‖w_enc − w_enc^src‖² + α ‖w_cl‖² (our choice; Li et al. 2018 use
        /// 0.1 for this term when fine-tuning from ImageNet).
        #[allowed(ge(0.0).le(1e3))]
        pub l2sp_beta: f64 = 0.1,
        /// β of DELTA's feature-map term, Ω = β Σ_j (1/B) Σ_i ‖FM_j^tgt − FM_j^src‖² + α ‖w_cl‖²
        /// (plain form, the seed's; our choice of value: the summed squared distances of
        /// whole feature maps are large, so β is smaller than L2-SP's).
        #[allowed(ge(0.0).le(1e3))]
        pub delta_beta: f64 = 1e-3,
        /// α of the classifier's L2 term ‖w_cl‖² of L2-SP and DELTA (the seed's table; value our
        /// choice, as `l2_alpha`).
        #[allowed(ge(0.0).le(1e3))]
        pub classifier_alpha: f64 = 1e-3,
        /// λ_j of the Wasserstein regulariser, one per encoder layer: conv1, conv2, fc1 (our
        /// choice, not tuned: equal for every layer, of the order of L2-SP's β; the seed gives
        /// no value).
        pub wasserstein_lambda: Vec<f64> = vec![0.1, 0.1, 0.1],
        /// Width of both hidden layers of every layer's critic (orthonormal + MaxMin; even). Our
        /// choice: 16 never widens the clouds (dimensions 25, 200, 400 here), so ‖∇f‖ = 1 a.e.
        #[allowed(ge(2).le(4_096))]
        pub critic_hidden: usize = 16,
        /// Critic ascent steps per model step (the seed alternates; our choice, for the cost:
        /// with one step at 1e-3 the critics lag behind the exact W1 by up to half; five steps
        /// at 1e-2 track it more closely at about three times the Wasserstein training's cost).
        #[allowed(ge(1).le(1_000))]
        pub critic_steps: usize = 1,
        /// Adam step size of the critics (β = (0.5, 0.9)).
        #[allowed(gt(0.0).le(1.0))]
        pub critic_learning_rate: f64 = 1e-3,
    }
}

/// The encoder layers whose weights the Wasserstein regulariser compares, in order.
pub const ENCODER_LAYERS: usize = 3;

/// The checks between keys (each key's own range is checked first by `config!`).
pub fn check(c: &TransferConfig) -> Result<(), ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        key: key.to_owned(),
        message,
    };
    if c.wasserstein_lambda.len() != ENCODER_LAYERS
        || c.wasserstein_lambda
            .iter()
            .any(|l| !(l.is_finite() && *l >= 0.0))
    {
        return Err(err(
            "wasserstein_lambda",
            format!(
                "{:?}: needs {ENCODER_LAYERS} finite values ≥ 0 (λ of conv1, conv2, fc1)",
                c.wasserstein_lambda
            ),
        ));
    }
    if !c.critic_hidden.is_multiple_of(2) {
        return Err(err(
            "critic_hidden",
            format!(
                "must be even (MaxMin sorts pairs of units), got {}",
                c.critic_hidden
            ),
        ));
    }
    Ok(())
}
