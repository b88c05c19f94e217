//! Example 9 — distillation across domains (seed S1, `methods::multidomain`): a map `φ` carries
//! a student's input to where the teacher can read it, and the loss mixes labels and teacher.
//!
//! ```sh
//! cargo run --release --example 09_multidomain
//! ```
//!
//! The student sees 6×6 images `x`; the teacher was trained on another domain, 2×2 images. The
//! known map is a dilated convolution with no padding (`methods::multidomain::DilatedConv`, the
//! kind the authors used on MNIST): `φ(x)[r, c] = Σ_{a,b} k[a, b] · x[r + d·a, c + d·b]` with
//! `k = [[1,0,1],[0,1,0],[1,0,1]]` and `d = 2`, so `6 − 2·2 = 2`. The teacher's logits
//! `v = f(φ(x))` enter the loss (`methods::multidomain::multidomain_loss`, classification form):
//!
//! `ℓ_i = λ · (−log softmax(z_i)_{y_i}) + (1 − λ) · (−Σ_r softmax(v_i/T0)_r log softmax(z_i/T0)_r)`
//!
//! summed over the objects (as S1 writes it). Its gradient in the student's logits is, by hand,
//! `∂ℓ_i/∂z_i = λ (softmax(z_i) − e_{y_i}) + (1 − λ)(softmax(z_i/T0) − softmax(v_i/T0)) / T0`.

mod common;

use autograd::functional::cross_entropy;
use autograd::Tape;
use common::{Checks, Res};
use methods::distill::Reduction;
use methods::multidomain::{multidomain_loss, DilatedConv, DomainMap, MultiDomainConfig};
use ndarray::{Array1, Array2, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn softmax_rows(z: &Array2<f64>, t: f64) -> Array2<f64> {
    let mut out = z.mapv(|v| v / t);
    for mut row in out.axis_iter_mut(Axis(0)) {
        let m = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    }
    out
}

/// The example's body; `short` changes nothing here (it is already instant).
pub fn run(_short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let mut rng = StdRng::seed_from_u64(9);
    let (b, k) = (4, 3);
    let x = Array2::from_shape_simple_fn((b, 36), || rng.gen_range(0.0..1.0));

    // ---- the map φ, by the library and by hand
    let phi = DilatedConv::authors(6, 6)?;
    println!("φ: {}", DomainMap::<f64>::describe(&phi));
    let mapped = phi.apply(x.view(), &mut rng)?;
    let kernel = phi.kernel().clone();
    let mut hand = Array2::<f64>::zeros((b, 4));
    for i in 0..b {
        for r in 0..2 {
            for c in 0..2 {
                let mut s = 0.0;
                for a in 0..3 {
                    for bb in 0..3 {
                        s += kernel[(a, bb)] * x[(i, (r + 2 * a) * 6 + c + 2 * bb)];
                    }
                }
                hand[(i, r * 2 + c)] = s;
            }
        }
    }
    println!("φ(x) of the first image: {:.4}", mapped.row(0));
    checks.at_most(
        "φ by the library (conv2d) = φ by hand",
        common::max_abs_diff(mapped.iter(), hand.iter()),
        1e-14,
        "five products of values in [0, 1] summed in another order: a few ulps",
    );

    // ---- the teacher on φ(x), the student's logits, the loss
    let teacher_w = Array2::from_shape_simple_fn((4, k), || rng.gen_range(-1.0..1.0));
    let v = mapped.dot(&teacher_w);
    let z0 = Array2::from_shape_simple_fn((b, k), || rng.gen_range(-1.0..1.0));
    let labels: Vec<usize> = (0..b).map(|_| rng.gen_range(0..k)).collect();
    let (lambda, t0) = (0.3, 2.0);
    let cfg = MultiDomainConfig::seeds(lambda, t0)?;
    println!("loss: {}", cfg.describe());
    let tape = Tape::<f64>::new();
    let z = tape.param(z0.clone());
    let loss = multidomain_loss(z, &labels, tape.constant(v.clone()), &cfg)?;
    let g = tape.grad(loss, &[z])?.remove(0);

    let p1 = softmax_rows(&z0, 1.0);
    let pt = softmax_rows(&z0, t0);
    let ft = softmax_rows(&v, t0);
    let mut loss_hand = 0.0;
    let mut grad_hand = Array2::<f64>::zeros((b, k));
    for i in 0..b {
        loss_hand -= lambda * p1[(i, labels[i])].ln();
        for r in 0..k {
            loss_hand -= (1.0 - lambda) * ft[(i, r)] * pt[(i, r)].ln();
            let onehot = if r == labels[i] { 1.0 } else { 0.0 };
            grad_hand[(i, r)] =
                lambda * (p1[(i, r)] - onehot) + (1.0 - lambda) * (pt[(i, r)] - ft[(i, r)]) / t0;
        }
    }
    let loss_lib = loss.item().ok_or("scalar loss")?;
    println!("L: library {loss_lib:.12}, by hand {loss_hand:.12}");
    checks.at_most(
        "loss = hand formula",
        loss_lib - loss_hand,
        1e-13,
        "sums of a dozen O(1) logarithms: a few ulps each",
    );
    println!("∂L/∂z by the tape:\n{g:.6}");
    checks.at_most(
        "∂L/∂z = λ(softmax(z) − e_y) + (1 − λ)(softmax(z/T0) − softmax(v/T0))/T0",
        common::max_abs_diff(g.iter(), grad_hand.iter()),
        1e-14,
        "differences of probabilities: a few ulps",
    );

    // λ = 1: the teacher drops out, plain cross-entropy
    let tape = Tape::<f64>::new();
    let z = tape.param(z0.clone());
    let only_labels = multidomain_loss(
        z,
        &labels,
        tape.constant(v),
        &MultiDomainConfig::seeds(1.0, t0)?,
    )?;
    let ce = cross_entropy(z, &labels, Reduction::Sum)?;
    let gap: Array1<f64> =
        ndarray::array![only_labels.item().unwrap_or(f64::NAN) - ce.item().unwrap_or(f64::NAN)];
    checks.at_most(
        "λ = 1 is the labels' cross-entropy alone",
        gap[0],
        1e-15,
        "the teacher term is multiplied by 0",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
