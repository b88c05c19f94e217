//! The seed's three theorems on strictly 1-Lipschitz networks, measured with the tape's
//! gradients at random points (f64):
//!
//! 1. `$f(x) = W x$` with orthonormal `W` (Björck): `$\|\nabla(u^{\top} f)\| = \|u\|$` for every
//!    `u` (one output: `$\|\nabla f\| = 1$`);
//! 2. networks of such layers with MaxMin / GroupSort: `$\|\nabla f\| = 1$` almost everywhere;
//! 3. `$t(x, y) = \alpha f(x) + \beta g(y)$`, `$\alpha = \sqrt{1 - \beta^{2}}$`: `$\|\nabla t\| =
//!    1$`.
//!
//! The weights are generic (the critic's orthogonal initialisation plus Gaussian noise), so Björck
//! has real work to do. The tolerance covers round-off only: products of `L` orthonormal `$r \times
//! r$` factors in f64 are isometric to `$\sim L\cdot r\cdot 1.1e-16$` (≈ 1e-14 here), Björck's own
//! residual is below 1e-15 ([`nn::layers::bjorck_residual`]), and a construction that only bounds
//! the norm (spectral normalisation, printed for contrast) misses by O(0.1).

use autograd::Tape;
use ndarray::{Array2, Axis};
use nn::layers::{Activation, OrthonormalLinear};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{CheckKind, CheckOutcome};
use crate::transfer::combination::lipschitz_combination;
use crate::transfer::critic::{Critic, CriticConfig};
use crate::Result;

/// The points, shapes and tolerance of the three checks.
#[derive(Clone, Debug, PartialEq)]
pub struct LipschitzCheckConfig {
    /// Random points per network (N(0, 3²) per coordinate: spread over many linear regions).
    /// Default 200.
    pub points: usize,
    /// Seed of the weights and points. Default 2022 (the seed's year).
    pub seed: u64,
    /// Pass when `$\max|\|\nabla f\| - 1| \le \mathrm{tolerance}$`. Default 1e-10 (see the module
    /// documentation).
    pub tolerance: f64,
}

impl Default for LipschitzCheckConfig {
    fn default() -> Self {
        LipschitzCheckConfig {
            points: 200,
            seed: 2022,
            tolerance: 1e-10,
        }
    }
}

fn normal_matrix(rows: usize, cols: usize, scale: f64, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || {
        scale * rng.sample::<f64, _>(StandardNormal)
    })
}

/// Adds `$\mathcal{N}(0, (0.3/\sqrt{\mathrm{in}})^{2})$` noise to every weight and `N(0, 1)` values
/// to every bias of `m`, so that weights are generic (not already orthonormal) and kinks fall among
/// the points.
fn perturb(m: &mut dyn Module<f64>, rng: &mut StdRng) {
    m.visit_params_mut(&mut |_, p| {
        let fan_in = p.shape().get(1).copied().unwrap_or(1) as f64;
        let is_weight = p.shape().len() >= 2;
        p.value_mut().mapv_inplace(|v| {
            let z: f64 = rng.sample(StandardNormal);
            if is_weight {
                v + 0.3 / fan_in.sqrt() * z
            } else {
                z
            }
        });
    });
}

/// `$\|\nabla_x \sum_i f(x_i)\|$` row by row, i.e. `$\|\nabla f(x_i)\|$` for a critic (rows are
/// independent).
pub fn gradient_norms(critic: &dyn Module<f64>, x: &Array2<f64>) -> Result<Vec<f64>> {
    let tape = Tape::new();
    let ctx = Ctx::eval(&tape);
    let xv = tape.param(x.clone());
    let f = critic.forward(&ctx, xv)?;
    let g = tape.grad(f.sum(), &[xv])?.remove(0);
    Ok(g.axis_iter(Axis(0))
        .map(|row| row.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect())
}

/// `$\max|v - 1|$`, NaN if any value is NaN (so that a NaN cannot pass).
fn max_deviation(values: &[f64]) -> f64 {
    values
        .iter()
        .map(|v| (v - 1.0).abs())
        .fold(0.0, |m, d| if d.is_nan() || d > m { d } else { m })
}

fn summary(values: &[f64]) -> String {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    format!("min {min:.12}, mean {mean:.12}, max {max:.12}")
}

/// Theorem 1: for orthonormal linear layers `$d \to k$` (`$k \le d$`: orthonormal rows; `$k = 1$`
/// is `$f(x) = w x$` with `$\|\hat{w}\| = 1$`), `$\|\nabla_x (u^{\top} f(x))\| / \|u\| = 1$` for
/// random `u` at random `x`. Shapes 16→1, 16→8, 16→16, 40→7, from generic weights. Measured:
/// `$\max|\mathrm{ratio} - 1|$`.
pub fn check_orthonormal_linear(cfg: &LipschitzCheckConfig) -> Result<CheckOutcome> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut detail = String::from("in→out  Björck ‖ŴŴᵀ − I‖_max  ‖∇(uᵀf)‖/‖u‖ over random u, x\n");
    let mut worst = 0.0f64;
    for (i, o) in [(16, 1), (16, 8), (16, 16), (40, 7)] {
        let mut layer = OrthonormalLinear::<f64>::new(i, o, true, &mut rng);
        perturb(&mut layer, &mut rng);
        let ortho = layer.orthonormality_error()?;
        let mut ratios = Vec::with_capacity(cfg.points);
        for _ in 0..cfg.points {
            let tape = Tape::new();
            let ctx = Ctx::eval(&tape);
            let x = tape.param(normal_matrix(1, i, 3.0, &mut rng));
            let u = normal_matrix(1, o, 1.0, &mut rng);
            let u_norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            let y = layer.forward(&ctx, x)?;
            let s = y.try_mul(tape.constant(u))?.sum();
            let g = tape.grad(s, &[x])?.remove(0);
            ratios.push(g.iter().map(|v| v * v).sum::<f64>().sqrt() / u_norm);
        }
        let dev = max_deviation(&ratios);
        worst = if dev.is_nan() { dev } else { worst.max(dev) };
        detail.push_str(&format!(
            "{i:>2}→{o:<2}    {ortho:.3e}               {}\n",
            summary(&ratios)
        ));
    }
    Ok(CheckOutcome {
        name: "s0-orthonormal-linear".into(),
        kind: CheckKind::SeedClaim,
        statement: "S0 theorem 1: f(x) = W x with orthonormal W (Björck) has ‖∇(uᵀf)‖ = ‖u‖; \
                    with one output ‖∇f‖ = 1"
            .into(),
        measured: worst,
        tolerance: cfg.tolerance,
        passed: worst <= cfg.tolerance,
        detail,
    })
}

/// Theorem 2: critics of orthonormal layers that never widen, with MaxMin or GroupSort(4), have
/// `$\|\nabla f(x)\| = 1$` at random `x`. Measured: `$\max|\|\nabla f\| - 1|$` over both. The
/// detail adds, for contrast (not checked): a critic whose first layer widens (2 → 16: `$\|\nabla
/// f\| \le 1$` only) and a spectrally normalised one (`$\|\nabla f\| \le 1$`, typically well
/// below).
pub fn check_groupsort_network(cfg: &LipschitzCheckConfig) -> Result<CheckOutcome> {
    let mut rng = StdRng::seed_from_u64(cfg.seed + 1);
    let mut detail = String::from("network                              ‖∇f(x)‖ over random x\n");
    let mut worst = 0.0f64;
    for (label, activation) in [
        ("MaxMin", Activation::MaxMin),
        ("GroupSort(4)", Activation::GroupSort(4)),
    ] {
        let mut c = CriticConfig::orthonormal(&[16, 16, 8]);
        c.activation = activation;
        let mut critic = Critic::<f64>::new(16, &c, &mut rng)?;
        perturb(&mut critic, &mut rng);
        let x = normal_matrix(cfg.points, 16, 3.0, &mut rng);
        let norms = gradient_norms(&critic, &x)?;
        let dev = max_deviation(&norms);
        worst = if dev.is_nan() { dev } else { worst.max(dev) };
        detail.push_str(&format!(
            "16→16→16→8→1, {label:<13}         {}\n",
            summary(&norms)
        ));
    }
    for (label, c, d) in [
        (
            "2→16→16→1 (widens), MaxMin",
            CriticConfig::orthonormal(&[16, 16]),
            2,
        ),
        (
            "16→16→16→8→1 spectral norm, ReLU",
            CriticConfig::spectral_norm(&[16, 16, 8]),
            16,
        ),
    ] {
        let mut critic = Critic::<f64>::new(d, &c, &mut rng)?;
        for _ in 0..50 {
            critic.refresh();
        }
        let norms = gradient_norms(&critic, &normal_matrix(cfg.points, d, 3.0, &mut rng))?;
        detail.push_str(&format!("{label:<37}{} (not checked)\n", summary(&norms)));
    }
    Ok(CheckOutcome {
        name: "s0-groupsort-network".into(),
        kind: CheckKind::SeedClaim,
        statement: "S0 theorem 2: orthonormal layers (never widening) with MaxMin / GroupSort \
                    give ‖∇f‖ = 1 almost everywhere"
            .into(),
        measured: worst,
        tolerance: cfg.tolerance,
        passed: worst <= cfg.tolerance,
        detail,
    })
}

/// Theorem 3: `$t(x, y) = \alpha f(x) + \beta g(y)$` with `f, g` strictly 1-Lipschitz critics on
/// `$\mathbb{R}^8$` (orthonormal, MaxMin, `$8\to 8\to 8\to 4\to 1$`), for `$\beta \in \{0, 0.3, 0.6, 0.8,
/// 1\}$`: `$\|\nabla_{(x,y)} t\| = 1$` at random `(x, y)`. Measured: `$\max|\|\nabla t\| - 1|$`.
pub fn check_combination(cfg: &LipschitzCheckConfig) -> Result<CheckOutcome> {
    let mut rng = StdRng::seed_from_u64(cfg.seed + 2);
    let critic_cfg = CriticConfig::orthonormal(&[8, 8, 4]);
    let mut f = Critic::<f64>::new(8, &critic_cfg, &mut rng)?;
    let mut g = Critic::<f64>::new(8, &critic_cfg, &mut rng)?;
    perturb(&mut f, &mut rng);
    perturb(&mut g, &mut rng);
    let mut detail = String::from("β     α = √(1 − β²)  ‖∇t(x, y)‖ over random (x, y)\n");
    let mut worst = 0.0f64;
    for beta in [0.0, 0.3, 0.6, 0.8, 1.0] {
        let tape = Tape::new();
        let ctx = Ctx::eval(&tape);
        let x = tape.param(normal_matrix(cfg.points, 8, 3.0, &mut rng));
        let y = tape.param(normal_matrix(cfg.points, 8, 3.0, &mut rng));
        let t = lipschitz_combination(f.forward(&ctx, x)?, g.forward(&ctx, y)?, beta)?;
        let grads = tape.grad(t.sum(), &[x, y])?;
        let norms: Vec<f64> = grads[0]
            .axis_iter(Axis(0))
            .zip(grads[1].axis_iter(Axis(0)))
            .map(|(gx, gy)| {
                gx.iter()
                    .chain(gy.iter())
                    .map(|v| v * v)
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        let dev = max_deviation(&norms);
        worst = if dev.is_nan() { dev } else { worst.max(dev) };
        let alpha = (1.0 - beta * beta).sqrt();
        detail.push_str(&format!("{beta:<5} {alpha:<14.6} {}\n", summary(&norms)));
    }
    Ok(CheckOutcome {
        name: "s0-combination".into(),
        kind: CheckKind::SeedClaim,
        statement: "S0 theorem 3: t(x, y) = α f(x) + β g(y), α = √(1 − β²), is strictly \
                    1-Lipschitz: ‖∇t‖ = 1"
            .into(),
        measured: worst,
        tolerance: cfg.tolerance,
        passed: worst <= cfg.tolerance,
        detail,
    })
}
