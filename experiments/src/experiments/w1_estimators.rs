//! `w1-estimators`: `W1` estimators by dimension, as in the author's thesis (S0, Kolesov 2022):
//! the strictly 1-Lipschitz critic (orthonormal + MaxMin) against a gradient-penalty critic and a
//! spectrally normalised one, each trained on samples of two distributions of dimension
//! `d = 2, 4, …, 2^max_log2_dim`, next to the truth.
//!
//! Pairs (both drawn afresh per seed and dimension):
//! * `translate`: `P = N(0, Σ)`, `Q = N(a, Σ)`, `Σ = AAᵀ` with `A_ij ~ N(0, 1/d)`, `‖a‖ =
//!   shift_norm` in a uniform direction. A distribution and its translate (equal-covariance
//!   Gaussians) are at `W1 = ‖a‖` exactly.
//! * `gaussians`: `P = N(0, I)`, `Q = N(m, σ² I)`, `‖m‖ = shift_norm`, `σ = scale_sigma`. `W1`
//!   has no closed form; it lies between `‖m‖` (the potential `⟨m, x⟩/‖m‖`) and
//!   `W2 = √(‖m‖² + d (σ − 1)²)` (Gaussian closed form; `W1 ≤ W2`).
//!
//! For each pair: the exact `W1` of the training clouds (Hungarian, `methods::transfer::exact_w1`),
//! the identity-plan cost `W̃1` of the clouds paired in drawing order (an upper bound of that
//! empirical `W1`), and each critic's dual value `E_P f − E_Q f` on the training clouds and on
//! held-out clouds of the same distributions (an unbiased estimate of `E_P f − E_Q f`, which is
//! `≤ W1(P, Q)` for a 1-Lipschitz `f`).
//!
//! Curves are indexed by `log₂ d` (point 1 is `d = 2`, point 7 is `d = 128`).

use std::time::Instant;

use anyhow::Result;
use methods::transfer::{
    dual_value, exact_w1, identity_plan_cost, train_critic, Critic, CriticConfig, CriticKind,
    CriticTraining,
};
use ndarray::{Array1, Array2};
use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::StandardNormal;

use crate::config;
use crate::experiment::config::{ge, gt};
use crate::experiment::{
    seed_stream, Compare, ConfigError, RunContext, Experiment, Info, PlotSpec, Progress,
    Published, RunRecord,
};

config! {
    /// Configuration of `w1-estimators`.
    pub struct W1EstimatorsConfig {
        /// The largest dimension is 2^max_log2_dim; dimensions are 2, 4, …, 2^max_log2_dim
        /// (the thesis: 2 … 128, so 7).
        #[allowed(ge(1).le(10))]
        pub max_log2_dim: u32 = 7,
        /// Points drawn from each distribution to train the critics on (and for the exact W1;
        /// our choice: the Hungarian solver takes ≈ 0.1 s at 500).
        #[allowed(ge(2).le(5_000))]
        pub samples: usize = 500,
        /// Fresh points per distribution for the held-out dual value (our choice: its standard
        /// error is then a few hundredths at ‖a‖ = 15).
        #[allowed(ge(2).le(1_000_000))]
        pub heldout_samples: usize = 4000,
        /// ‖a‖ of the translate and ‖m‖ of the Gaussian pair (our choice: the thesis's values
        /// are about 15 at d = 2, so our numbers sit on its scale).
        #[allowed(gt(0.0).le(1e6))]
        pub shift_norm: f64 = 15.0,
        /// σ of the second Gaussian N(m, σ² I) (our choice).
        #[allowed(gt(0.0).le(1e3))]
        pub scale_sigma: f64 = 2.0,
        /// Width of both hidden layers of every critic (even: MaxMin pairs units). Our choice;
        /// the thesis does not give its critics' sizes in our copy.
        #[allowed(ge(2).le(4096))]
        pub hidden_width: usize = 64,
        /// Adam steps of each critic, full batch (our choice).
        #[allowed(ge(1).le(1_000_000))]
        pub critic_steps: usize = 1000,
        /// Adam step size of every critic (β = (0.5, 0.9), Gulrajani et al.).
        #[allowed(gt(0.0).le(1.0))]
        pub learning_rate: f64 = 1e-3,
        /// λ of the gradient penalty (Gulrajani et al.: 10).
        #[allowed(gt(0.0).le(1e6))]
        pub penalty_weight: f64 = 10.0,
    }
}

/// The experiment (registered in `super`).
pub struct W1Estimators;

const KINDS: [CriticKind; 3] = [
    CriticKind::Orthonormal,
    CriticKind::GradientPenalty,
    CriticKind::SpectralNorm,
];

fn critic_line(kind: CriticKind) -> &'static str {
    match kind {
        CriticKind::Orthonormal => "orthonormal critic",
        CriticKind::GradientPenalty => "gradient-penalty critic",
        CriticKind::SpectralNorm => "spectral-norm critic",
    }
}

const EXACT: &str = "exact empirical W1";
const IDENTITY: &str = "identity-plan bound W̃1";
const TRUE_W1: &str = "true W1 = ‖a‖";
const W2_BOUND: &str = "W2 (upper bound)";
const MEAN_GAP: &str = "‖m‖ (lower bound)";

const THESIS: &str = "Kolesov, MS thesis (2022), W1 estimators on Gaussians (docs/methods.md)";

fn gaussian(n: usize, d: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((n, d), || rng.sample(StandardNormal))
}

/// A vector of norm `norm` in a uniformly random direction.
fn random_direction(d: usize, norm: f64, rng: &mut StdRng) -> Array1<f64> {
    let v = Array1::from_shape_simple_fn(d, || rng.sample::<f64, _>(StandardNormal));
    let n = v.dot(&v).sqrt();
    v.mapv(|x| norm * x / n)
}

/// The two distributions of a pair, as samplers of `n` points.
enum Pair {
    Translate { a_t: Array2<f64>, shift: Array1<f64> },
    Gaussians { mean: Array1<f64>, sigma: f64 },
}

impl Pair {
    fn name(&self) -> &'static str {
        match self {
            Pair::Translate { .. } => "translate",
            Pair::Gaussians { .. } => "gaussians",
        }
    }

    fn sample(&self, n: usize, rng: &mut StdRng) -> (Array2<f64>, Array2<f64>) {
        match self {
            Pair::Translate { a_t, shift } => {
                let d = shift.len();
                let p = gaussian(n, d, rng).dot(a_t);
                let q = gaussian(n, d, rng).dot(a_t) + shift;
                (p, q)
            }
            Pair::Gaussians { mean, sigma } => {
                let d = mean.len();
                let p = gaussian(n, d, rng);
                let q = gaussian(n, d, rng).mapv(|v| sigma * v) + mean;
                (p, q)
            }
        }
    }

    /// The known values: `(line, value)`.
    fn truths(&self, c: &W1EstimatorsConfig) -> Vec<(&'static str, f64)> {
        match self {
            Pair::Translate { .. } => vec![(TRUE_W1, c.shift_norm)],
            Pair::Gaussians { mean, sigma } => {
                let d = mean.len() as f64;
                let w2 = (c.shift_norm.powi(2) + d * (sigma - 1.0).powi(2)).sqrt();
                vec![(W2_BOUND, w2), (MEAN_GAP, c.shift_norm)]
            }
        }
    }
}

/// Records `value` of `line` on the curve `metric` at this dimension, and as the final
/// `{metric}_d{d}`.
fn put(record: &mut RunRecord, line: &str, metric: &str, d: usize, value: f64) {
    record.push(line, metric, value);
    record.set_final(line, &format!("{metric}_d{d}"), value);
}

impl Experiment for W1Estimators {
    type Config = W1EstimatorsConfig;

    fn info(&self) -> Info {
        Info {
            name: "w1-estimators",
            description: "W1 between pairs of Gaussians of dimension 2 … 128 (a translate, with \
                          W1 known; N(0, I) against N(m, σ²I)), estimated by three critics \
                          (orthonormal + MaxMin, gradient penalty, spectral norm) against the \
                          exact W1 of the samples and the identity-plan bound.",
            reproduces: "S0 (Kolesov, 2022), the author's thesis's comparison of W1 estimators \
                         by dimension",
            revision: 1,
        }
    }

    fn quick_config(&self) -> W1EstimatorsConfig {
        W1EstimatorsConfig {
            max_log2_dim: 3,
            samples: 100,
            heldout_samples: 500,
            hidden_width: 16,
            critic_steps: 100,
            learning_rate: 1e-2,
            ..W1EstimatorsConfig::default()
        }
    }

    fn check_config(&self, c: &W1EstimatorsConfig) -> Result<(), ConfigError> {
        if !c.hidden_width.is_multiple_of(2) {
            return Err(ConfigError {
                key: "hidden_width".into(),
                message: format!(
                    "must be even (MaxMin sorts pairs of units), got {}",
                    c.hidden_width
                ),
            });
        }
        Ok(())
    }

    fn run(
        &self,
        c: &W1EstimatorsConfig,
        seed: u64,
        _data: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        let mut record = RunRecord::default();
        record.uses_data("synthetic Gaussians, drawn per seed and dimension");
        let mut data_rng = seed_stream(seed, "data");
        let mut init_rng = seed_stream(seed, "init");
        let mut train_rng = seed_stream(seed, "train");
        let training = CriticTraining {
            steps: c.critic_steps,
            batch_size: None,
            learning_rate: c.learning_rate,
            betas: (0.5, 0.9),
        };
        let mut seconds = [0.0f64; 3];
        progress.set_total(2 * u64::from(c.max_log2_dim));
        for k in 1..=c.max_log2_dim {
            let d = 1usize << k;
            let a_t = gaussian(d, d, &mut data_rng).mapv(|v| v / (d as f64).sqrt());
            let pairs = [
                Pair::Translate {
                    a_t,
                    shift: random_direction(d, c.shift_norm, &mut data_rng),
                },
                Pair::Gaussians {
                    mean: random_direction(d, c.shift_norm, &mut data_rng),
                    sigma: c.scale_sigma,
                },
            ];
            for pair in &pairs {
                let name = pair.name();
                let heldout_metric = format!("{name}_heldout");
                let (p, q) = pair.sample(c.samples, &mut data_rng);
                let (hp, hq) = pair.sample(c.heldout_samples, &mut data_rng);
                let exact = exact_w1(p.view(), q.view())?.value;
                put(&mut record, EXACT, name, d, exact);
                put(&mut record, IDENTITY, name, d, identity_plan_cost(p.view(), q.view())?);
                for (line, value) in pair.truths(c) {
                    put(&mut record, line, name, d, value);
                    put(&mut record, line, &heldout_metric, d, value);
                }
                let mut message = format!("d = {d}, {name}: exact {exact:.3}");
                for (i, kind) in KINDS.into_iter().enumerate() {
                    let mut cfg = CriticConfig::of_kind(kind, &[c.hidden_width, c.hidden_width]);
                    if kind == CriticKind::GradientPenalty {
                        cfg.penalty_weight = c.penalty_weight;
                    }
                    let mut critic = Critic::<f32>::new(d, &cfg, &mut init_rng)?;
                    let start = Instant::now();
                    let est = train_critic(&mut critic, p.view(), q.view(), &training, &mut train_rng)?;
                    seconds[i] += start.elapsed().as_secs_f64();
                    let heldout = dual_value(&critic, hp.view(), hq.view())?;
                    put(&mut record, critic_line(kind), name, d, est.value);
                    put(&mut record, critic_line(kind), &heldout_metric, d, heldout);
                    let lipschitz = critic.lipschitz_bound()?;
                    put(&mut record, critic_line(kind), &format!("{name}_lipschitz_bound"), d, lipschitz);
                    message.push_str(&format!(", {} {:.3}", kind.name(), est.value));
                }
                progress.advance(&message);
            }
        }
        for (kind, s) in KINDS.into_iter().zip(seconds) {
            record.set_final(critic_line(kind), "training_seconds", s);
        }
        Ok(record)
    }

    fn comparison(&self) -> Vec<Compare> {
        let thesis = |mean| {
            Some(Published {
                mean,
                std: None,
                source: THESIS,
            })
        };
        const PAIR_NOTE: &str = "the thesis's pair of Gaussians is not specified in our copy; \
                                 ours is N(0, I) vs N(m, σ²I), ‖m‖ = 15, σ = 2";
        const BOUND_NOTE: &str = "the thesis's upper bound is not specified in our copy; ours is \
                                  the W2 closed form (W1 ≤ W2)";
        let row = |label, line, metric, published, note| Compare {
            label,
            line,
            metric,
            published,
            note,
        };
        vec![
            row("d = 2, orthonormal critic", critic_line(CriticKind::Orthonormal), "gaussians_d2", thesis(15.11), PAIR_NOTE),
            row("d = 128, orthonormal critic", critic_line(CriticKind::Orthonormal), "gaussians_d128", thesis(11.26), PAIR_NOTE),
            row("d = 128, gradient-penalty critic", critic_line(CriticKind::GradientPenalty), "gaussians_d128", thesis(1.77), PAIR_NOTE),
            row("d = 128, spectral-norm critic", critic_line(CriticKind::SpectralNorm), "gaussians_d128", thesis(1.26), PAIR_NOTE),
            row("d = 2, upper bound", W2_BOUND, "gaussians_d2", thesis(15.50), BOUND_NOTE),
            row("d = 128, upper bound", W2_BOUND, "gaussians_d128", thesis(25.67), BOUND_NOTE),
            row("d = 128, exact empirical W1 (gaussians)", EXACT, "gaussians_d128", None, "W1 of the 500-point training clouds"),
            row("d = 128, orthonormal critic, held out", critic_line(CriticKind::Orthonormal), "gaussians_heldout_d128", None, "on fresh samples"),
            row("d = 128 translate, true W1", TRUE_W1, "translate_d128", None, ""),
            row("d = 128 translate, exact empirical W1", EXACT, "translate_d128", None, ""),
            row("d = 128 translate, orthonormal critic", critic_line(CriticKind::Orthonormal), "translate_d128", None, ""),
            row("d = 128 translate, orthonormal critic, held out", critic_line(CriticKind::Orthonormal), "translate_heldout_d128", None, "≤ ‖a‖ up to its standard error"),
            row("d = 128 translate, gradient-penalty critic", critic_line(CriticKind::GradientPenalty), "translate_d128", None, ""),
            row("d = 128 translate, spectral-norm critic", critic_line(CriticKind::SpectralNorm), "translate_d128", None, ""),
        ]
    }

    fn plots(&self) -> Vec<PlotSpec> {
        [
            "translate",
            "translate_heldout",
            "translate_lipschitz_bound",
            "gaussians",
            "gaussians_heldout",
            "gaussians_lipschitz_bound",
        ]
            .map(|metric| PlotSpec {
                metric,
                x_label: "log₂ dimension (1 = d 2, 7 = d 128)",
            })
            .to_vec()
    }

    fn notes(&self, c: &W1EstimatorsConfig) -> Vec<String> {
        vec![
            format!(
                "Every critic has two hidden layers of {} units and is trained by full-batch Adam \
                 (η = {}, β = (0.5, 0.9), {} steps) on {} points per distribution; the dual values \
                 are E_P f − E_Q f on those points (`translate`, `gaussians`) and on {} fresh points \
                 (`*_heldout`).",
                c.hidden_width, c.learning_rate, c.critic_steps, c.samples, c.heldout_samples
            ),
            "The orthonormal critic is 1-Lipschitz by construction, so its value on the training \
             points is ≤ their exact W1 (up to f32 round-off), and its held-out value is ≤ the \
             population W1 up to sampling error. Where d < the hidden width its first layer \
             widens: ‖∇f‖ ≤ 1 rather than = 1 there (see `methods::transfer::critic`)."
                .to_owned(),
            format!(
                "The gradient-penalty critic is only pushed towards ‖∇f‖ = 1 at interpolates, so \
                 its value can exceed W1: for a translate the penalised optimum is the linear \
                 potential of slope s maximising s·‖a‖ − λ(s − 1)², s = 1 + ‖a‖/(2λ) = {:.2} \
                 here, so it overestimates by that factor. The spectral-norm critic divides by a \
                 one-step power-iteration estimate σ̃ ≤ σ_max that lags behind the weights, so its \
                 Lipschitz constant can exceed 1 (most where the top singular values are close, and power \
                 iteration converges slowly); `*_lipschitz_bound` is Π‖Ŵ_l‖₂ of each \
                 trained critic (exact SVD), an upper bound of its Lipschitz constant.",
                1.0 + c.shift_norm / (2.0 * c.penalty_weight)
            ),
            "In high dimension the exact W1 of finite samples exceeds the population W1 (it \
             converges like n^(−1/d)); the identity-plan cost W̃1 of independent samples is a \
             much looser upper bound of it."
                .to_owned(),
            format!(
                "The thesis's figures are for its own pair of Gaussians, which our copy does not \
                 describe; ours use ‖a‖ = ‖m‖ = {}, σ = {} so the scales are comparable, not the \
                 numbers.",
                c.shift_norm, c.scale_sigma
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_odd_hidden_width_is_refused_by_name() {
        let c = W1EstimatorsConfig {
            hidden_width: 7,
            ..W1EstimatorsConfig::default()
        };
        let e = W1Estimators.check_config(&c).unwrap_err();
        assert_eq!(e.key, "hidden_width");
        assert!(e.message.contains("even"), "{e}");
        assert!(W1Estimators.check_config(&W1EstimatorsConfig::default()).is_ok());
    }

    /// The pairs draw what they claim: the translate's clouds differ by `a` in mean (up to
    /// sampling error), the Gaussians' second cloud has standard deviation σ.
    #[test]
    fn pairs_have_the_stated_means_and_scales() {
        let mut rng = seed_stream(0, "test");
        let d = 4;
        let shift = random_direction(d, 15.0, &mut rng);
        assert!((shift.dot(&shift).sqrt() - 15.0).abs() < 1e-12);
        let a_t = gaussian(d, d, &mut rng).mapv(|v| v / 2.0);
        let translate = Pair::Translate {
            a_t,
            shift: shift.clone(),
        };
        let (p, q) = translate.sample(20_000, &mut rng);
        let gap = q.mean_axis(ndarray::Axis(0)).unwrap() - p.mean_axis(ndarray::Axis(0)).unwrap();
        // each coordinate's mean has s.e. ≤ √(2·Σ_ii/20000) ≈ 0.02 here: 0.1 is 5 s.e.
        assert!((&gap - &shift).iter().all(|e| e.abs() < 0.1), "{gap} vs {shift}");
        let gaussians = Pair::Gaussians {
            mean: shift,
            sigma: 2.0,
        };
        let (_, q) = gaussians.sample(20_000, &mut rng);
        let std = q.std_axis(ndarray::Axis(0), 1.0);
        // s.e. of a standard deviation ≈ σ/√(2n) = 0.01: 0.05 is 5 s.e.
        assert!(std.iter().all(|s| (s - 2.0).abs() < 0.05), "{std}");
    }
}
