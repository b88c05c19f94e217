//! The config of `multidomain`, its `[vae]` sections, and the checks between keys.

use methods::multidomain::maps::NoiseReading;
use methods::multidomain::vae::VaeConfig;
use methods::multidomain::MultiDomainConfig;
use methods::distill::Reduction;
use nn::loss::TemperatureScaling;
use serde::Serialize;

use crate::config;
use crate::experiment::config::{ge, gt};
use crate::experiment::{ConfigError, StudentConfig, TeacherConfig};

config! {
    /// How a VAE of `multidomain` is built and trained: −ELBO on the paired sample, Adam.
    pub struct VaeSection {
        /// k, the latent size (S1: 64).
        #[allowed(ge(1).le(4_096))]
        pub latent: usize = 64,
        /// Width of the encoder's and the decoders' hidden layer (the authors' code: 200).
        #[allowed(ge(1).le(100_000))]
        pub hidden: usize = 200,
        /// σ_p, the standard deviation of the prior N(0, σ_p² I) (S1 writes σ² without a
        /// value; the authors' code: 1).
        #[allowed(gt(0.0).le(1_000.0))]
        pub prior_std: f64 = 1.0,
        /// Passes over the paired sample (our choice: the ELBO has levelled off by then).
        #[allowed(ge(1).le(10_000))]
        pub epochs: usize = 20,
        /// Pairs per Adam step (our choice).
        #[allowed(ge(1).le(2_000_000))]
        pub batch_size: usize = 128,
        /// Adam's step size (PyTorch's default, which the authors' code uses).
        #[allowed(gt(0.0).le(10.0))]
        pub learning_rate: f64 = 1e-3,
        /// The seed of the VAE's initialisation, pairing, batch order and noise (our choice).
        pub seed: u64 = 0,
    }
}

impl VaeSection {
    /// The model's sizes on 784-pixel images.
    pub fn model(&self) -> VaeConfig {
        VaeConfig {
            input_dim: 784,
            hidden: self.hidden,
            latent: self.latent,
            prior_std: self.prior_std,
        }
    }

    /// The training part of the stored VAE's identity.
    pub fn training(&self) -> VaeTraining {
        VaeTraining {
            objective: "−ELBO: Bernoulli reconstructions of the clothes image and of its \
                        paired digit from one latent sample, KL to the prior",
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
        }
    }
}

/// The training table of a stored VAE's identity.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct VaeTraining {
    /// What is minimised.
    pub objective: &'static str,
    /// Passes over the paired sample.
    pub epochs: usize,
    /// Pairs per Adam step.
    pub batch_size: usize,
    /// Adam's step size.
    pub learning_rate: f64,
}

config! {
    /// Configuration of `multidomain`.
    pub struct MultidomainConfig {
        /// Fashion-MNIST training images used (a subset drawn with `split_seed` when fewer
        /// than 60,000). S1: all 60,000, split into the big part (59,000) and the small part.
        #[allowed(ge(20).le(60_000))]
        pub train_size: usize = 60_000,
        /// Images of the small part ("train small"), the student's data in rows 3–9; the rest
        /// of `train_size` is the big part ("train big"). S1: 1,000.
        #[allowed(ge(10).le(59_990))]
        pub small_size: usize = 1_000,
        /// Fashion-MNIST test images used (S1: all 10,000).
        #[allowed(ge(1).le(10_000))]
        pub test_size: usize = 10_000,
        /// The seed of the big/small split and of the subsets: fixed, so every run seed and
        /// every teacher sees the same parts (S1 splits once; the value is our choice).
        pub split_seed: u64 = 0,
        /// At most this many digits train the MNIST teacher and pair with the clothes (all
        /// 60,000 of the full MNIST; 9,000 of the 10,000-digit subset by default).
        #[allowed(ge(10).le(60_000))]
        pub mnist_train_size: usize = 60_000,
        /// Digits of the 10,000-digit subset held out to test the MNIST teacher (the subset
        /// has no test split; our choice). Unused with the full MNIST (its test set is used).
        #[allowed(ge(1).le(5_000))]
        pub mnist10k_test_size: usize = 1_000,
        /// Hidden width of the one-hidden-layer student 784-w-10 (ReLU). S1 does not give it;
        /// the authors' student class defaults to 64.
        #[allowed(ge(1).le(100_000))]
        pub student_hidden: usize = 64,
        /// The students: the authors' code trains 20 epochs with Adam at 1e-3 in batches of
        /// 100. The small-part students are still improving at epoch 20 (200 steps on 1,000
        /// images); `student.epochs = 60` trains them to their plateau.
        pub student: StudentConfig = StudentConfig {
            epochs: 20,
            batch_size: 100,
            learning_rate: 1e-3,
        },
        /// The teachers (784-256-128-64-64-10 ReLU MLPs, 576 inputs for the dilation row): the
        /// authors' code trains 10 epochs with Adam at 1e-3 in batches of 64. One teacher per
        /// row is shared by every run seed (per_seed = false), as the authors do.
        pub teacher: TeacherConfig = TeacherConfig {
            epochs: 10,
            ..TeacherConfig::default()
        },
        /// λ, the weight of the labels in the multi-domain loss (1 − λ weighs the teacher).
        /// S1 gives no value; the authors' code adds the two terms with equal weights: 0.5.
        #[allowed(ge(0.0).le(1.0))]
        pub lambda: f64 = 0.5,
        /// T0, the temperature of the teacher term (S1's multi-domain loss has none; the
        /// authors' code defaults to 1).
        #[allowed(gt(0.0).le(1_000.0))]
        pub temperature: f64 = 1.0,
        /// Whether the teacher term is multiplied by T0² (Hinton et al.; S1 writes none).
        pub temperature_squared: bool = false,
        /// The noise map's reading of S1's N(0, 1/10): "seed-variance" (variance 0.1, not
        /// clipped; the default, as S1 writes it) or "authors" (0.08·N(0, 1), clipped to
        /// [0, 1], as the authors' code).
        pub noise: String = "seed-variance".to_owned(),
        /// Whether the VAE map samples the latent (the authors' code) instead of decoding the
        /// mean code (the default: φ(x) = digit_decoder(encoder(x)) is a function).
        pub vae_map_sample: bool = false,
        /// The VAE of the map φ and of synthetic MNIST (latent 64, S1).
        pub vae: VaeSection = VaeSection::default(),
        /// The 2-D-latent VAE of the latent-grid figures (S1's figure 8).
        pub vae_2d: VaeSection = VaeSection {
            latent: 2,
            ..VaeSection::default()
        },
        /// Digits generated per small-part clothes image for synthetic MNIST (S1: 70).
        #[allowed(ge(1).le(1_000))]
        pub synthetic_per_image: usize = 70,
        /// Generated digits held out to test the synthetic-MNIST teacher (S1: 10,000 of the
        /// 70,000; the rest train it).
        #[allowed(ge(1).le(1_000_000))]
        pub synthetic_test_size: usize = 10_000,
        /// λ values of the sweep with the identity map (beyond the seed; empty: no sweep).
        pub lambda_sweep: Vec<f64> = (0..=10).map(|i| f64::from(i) / 10.0).collect(),
    }
}

impl MultidomainConfig {
    /// The multi-domain loss of the taught rows, averaged over the batch (S1 sums over the
    /// objects: the same minimiser, and the step size does not depend on the batch).
    pub fn loss(&self) -> MultiDomainConfig {
        self.loss_at(self.lambda)
    }

    /// The loss with `lambda` in place of [`Self::lambda`] (the sweep).
    pub fn loss_at(&self, lambda: f64) -> MultiDomainConfig {
        MultiDomainConfig {
            lambda,
            temperature: self.temperature,
            scaling: if self.temperature_squared {
                TemperatureScaling::Squared
            } else {
                TemperatureScaling::None
            },
            reduction: Reduction::Mean,
        }
    }

    /// The noise reading named by [`Self::noise`] (checked by [`check`]).
    pub fn noise_reading(&self) -> NoiseReading {
        NoiseReading::from_name(&self.noise).unwrap_or_default()
    }
}

/// The checks between keys (each key's own range is checked first by `config!`).
pub fn check(c: &MultidomainConfig) -> Result<(), ConfigError> {
    let err = |key: &str, message: String| ConfigError {
        key: key.to_owned(),
        message,
    };
    if let Err(e) = NoiseReading::from_name(&c.noise) {
        return Err(err("noise", e.to_string()));
    }
    if c.small_size + 10 > c.train_size {
        return Err(err(
            "small_size",
            format!(
                "{} leaves fewer than 10 images of train_size = {} for the big part; allowed: \
                 small_size ≤ train_size − 10",
                c.small_size, c.train_size
            ),
        ));
    }
    let generated = c.small_size * c.synthetic_per_image;
    if c.synthetic_test_size >= generated {
        return Err(err(
            "synthetic_test_size",
            format!(
                "{} leaves no generated digit to train on: small_size × synthetic_per_image = \
                 {generated}; allowed: synthetic_test_size < {generated}",
                c.synthetic_test_size
            ),
        ));
    }
    if c.lambda_sweep.iter().any(|&v| !(0.0..=1.0).contains(&v)) {
        return Err(err(
            "lambda_sweep",
            format!(
                "{:?}: each λ must lie in [0, 1] (an empty list: no sweep)",
                c.lambda_sweep
            ),
        ));
    }
    let mut sorted = c.lambda_sweep.clone();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    if sorted != c.lambda_sweep {
        return Err(err(
            "lambda_sweep",
            format!(
                "{:?}: the values must be distinct and increasing (they are the plot's x axis)",
                c.lambda_sweep
            ),
        ));
    }
    Ok(())
}
