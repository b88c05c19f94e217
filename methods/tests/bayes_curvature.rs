//! The curvature of the Laplace approximation (`methods::bayes::curvature`): the Hessian from
//! Hessian-vector products against finite differences of gradients, the GGN against
//! finite-difference Jacobians, the diagonals, Hutchinson's estimate and K-FAC where it is exact.

use autograd::{Tape, Tensor};
use methods::bayes::curvature::{
    ggn_diagonal, ggn_full, gradient, hessian_diagonal, hessian_diagonal_hutchinson, hessian_full,
    kfac_factors, Data,
};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::mlp::{forward, NoBiasMlp};
use ndarray::{Array1, Array2, Ix2};
use nn::layers::Activation;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn bind<'t>(tape: &'t Tape<f64>, teacher: &NoBiasMlp) -> Vec<autograd::Var<'t, f64>> {
    teacher
        .weights
        .iter()
        .map(|w| tape.param(w.view()))
        .collect()
}

fn matrix(t: Tensor<f64>) -> Array2<f64> {
    t.into_dimensionality::<Ix2>().unwrap().to_owned()
}

fn tiny() -> (NoBiasMlp, Array2<f64>, Array2<f64>) {
    let mut rng = StdRng::seed_from_u64(3);
    let mut normal =
        |r, c| Array2::from_shape_simple_fn((r, c), || rng.sample::<f64, _>(StandardNormal));
    let teacher = NoBiasMlp::new(
        vec![normal(4, 3), normal(3, 4), normal(2, 3)],
        Activation::Tanh,
    )
    .unwrap();
    let x = normal(7, 3);
    let y = normal(7, 2);
    (teacher, x, y)
}

/// The Hessian from Hessian-vector products = central finite differences of the tape's
/// gradient, `(∇L(u + ε e_j) − ∇L(u − ε e_j)) / 2ε`, on a tiny tanh net (smooth, so the
/// difference converges). Error of the difference: `ε²/6 · |∂³∇L| + u·|∇L|/ε`; with `ε =
/// 1e-5`, gradients of order 10 and third derivatives of order 10²: ≲ 2e-9 + 1e-10 —
/// tolerance 1e-7 relative to the largest entry.
#[test]
fn hessian_from_hvps_equals_finite_differences_of_gradients() {
    let (teacher, x, y) = tiny();
    let lik = Likelihood::Gaussian { noise_var: 0.5 };
    let data = Data {
        x: x.view(),
        targets: Targets::Real(y.view()),
    };
    // chunks of 3 objects: the sum over chunks is exercised too
    let h = hessian_full(&teacher, &data, &lik, 3).unwrap();
    let p = teacher.num_weights();
    let u = teacher.flat();
    let eps = 1e-5;
    let mut worst: f64 = 0.0;
    let mut largest: f64 = 0.0;
    for j in 0..p {
        let shifted = |s: f64| {
            let mut v = u.clone();
            v[j] += s;
            let m =
                NoBiasMlp::from_flat(&teacher.sizes(), v.as_slice().unwrap(), teacher.activation)
                    .unwrap();
            gradient(&m, &data, &lik, 3).unwrap()
        };
        let fd = (shifted(eps) - shifted(-eps)) / (2.0 * eps);
        for i in 0..p {
            worst = worst.max((h[(i, j)] - fd[i]).abs());
            largest = largest.max(fd[i].abs());
        }
    }
    assert!(
        worst <= 1e-7 * largest,
        "max |H − FD| = {worst:e}, max |H| = {largest:e}"
    );
    // the diagonal on its own, and Hutchinson's estimate within 5 standard errors
    let d = hessian_diagonal(&teacher, &data, &lik, 7).unwrap();
    for j in 0..p {
        assert!((d[j] - h[(j, j)]).abs() <= 1e-10 * largest);
    }
    let mut rng = StdRng::seed_from_u64(9);
    let (est, se) = hessian_diagonal_hutchinson(&teacher, &data, &lik, 7, 400, &mut rng).unwrap();
    for j in 0..p {
        assert!(
            (est[j] - d[j]).abs() <= 5.0 * se[j] + 1e-9,
            "{j}: {} vs {} ± {}",
            est[j],
            d[j],
            se[j]
        );
    }
}

/// For a linear network with a Gaussian likelihood the GGN is the Hessian (the output is
/// linear in each layer, and the Hessian's second term `Σ r_i ∇²f_i` vanishes only for one
/// layer — so here: one layer). Check `ggn_full`, `ggn_diagonal` and the K-FAC factors
/// against `XᵀX / s²` (out = 1: the Kronecker product is exact, `G = N/s²`).
#[test]
fn ggn_of_a_linear_model_is_xtx_over_s2() {
    let (_, x, y) = tiny();
    let w = Array2::from_shape_vec((1, 3), vec![0.3, -0.2, 0.5]).unwrap();
    let teacher = NoBiasMlp::new(vec![w], Activation::Relu).unwrap();
    let y1 = y.slice(ndarray::s![.., 0..1]).to_owned();
    let lik = Likelihood::Gaussian { noise_var: 0.25 };
    let data = Data {
        x: x.view(),
        targets: Targets::Real(y1.view()),
    };
    let want = x.t().dot(&x) / 0.25;
    let g = ggn_full(&teacher, &data, &lik, 2).unwrap();
    let h = hessian_full(&teacher, &data, &lik, 2).unwrap();
    let d = ggn_diagonal(&teacher, &data, &lik, 4).unwrap();
    let f = kfac_factors(&teacher, &data, &lik, 5).unwrap();
    let n = x.nrows() as f64;
    // sums of 7 products of O(1) numbers: rounding ≲ 1e-14
    for i in 0..3 {
        assert!((d[i] - want[[i, i]]).abs() < 1e-12);
        for j in 0..3 {
            assert!((g[(i, j)] - want[[i, j]]).abs() < 1e-12);
            assert!((h[(i, j)] - want[[i, j]]).abs() < 1e-12);
            let kron = f[0].1[[0, 0]] * f[0].0[[i, j]] / n;
            assert!((kron - want[[i, j]]).abs() < 1e-12);
        }
    }
}
/// The GGN against `Σ_i J_iᵀ (diag p_i − p_i p_iᵀ) J_i` with the per-sample Jacobians
/// `J_i` from central differences of the outputs (categorical likelihood, tanh net).
/// Difference error `ε²/6 · |f‴| ≈ 1e-11` per Jacobian entry (`ε = 1e-5`); products of
/// O(1) entries summed over 7 objects: tolerance 1e-8.
#[test]
fn ggn_matches_finite_difference_jacobians() {
    let (teacher, x, _) = tiny();
    let labels = [0, 1, 1, 0, 1, 0, 0];
    let lik = Likelihood::Categorical;
    let data = Data {
        x: x.view(),
        targets: Targets::Labels(&labels),
    };
    let g = ggn_full(&teacher, &data, &lik, 4).unwrap();
    let p = teacher.num_weights();
    let sizes = teacher.sizes();
    let u = teacher.flat();
    let outputs = |v: &Array1<f64>| {
        let m = NoBiasMlp::from_flat(&sizes, v.as_slice().unwrap(), teacher.activation).unwrap();
        let tape = Tape::<f64>::new();
        let w = bind(&tape, &m);
        let pass = forward(&w, tape.constant(x.view()), m.activation).unwrap();
        matrix(pass.output.value())
    };
    let eps = 1e-5;
    let jac: Vec<Array2<f64>> = (0..p)
        .map(|j| {
            let (mut a, mut b) = (u.clone(), u.clone());
            a[j] += eps;
            b[j] -= eps;
            (outputs(&a) - outputs(&b)) / (2.0 * eps)
        })
        .collect();
    let out = outputs(&u);
    let mut want = Array2::<f64>::zeros((p, p));
    for i in 0..x.nrows() {
        let e: Vec<f64> = out.row(i).iter().map(|v| v.exp()).collect();
        let z: f64 = e.iter().sum();
        let pr: Vec<f64> = e.iter().map(|v| v / z).collect();
        for a in 0..p {
            for b in 0..p {
                let mut total = 0.0;
                for k in 0..2 {
                    for l in 0..2 {
                        let lam = if k == l { pr[k] } else { 0.0 } - pr[k] * pr[l];
                        total += jac[a][[i, k]] * lam * jac[b][[i, l]];
                    }
                }
                want[[a, b]] += total;
            }
        }
    }
    let d = ggn_diagonal(&teacher, &data, &lik, 3).unwrap();
    for a in 0..p {
        assert!((d[a] - want[[a, a]]).abs() < 1e-8);
        for b in 0..p {
            let (got, w) = (g[(a, b)], want[[a, b]]);
            assert!((got - w).abs() < 1e-8, "({a}, {b}): {got} vs {w}");
        }
    }
}

/// On one object the K-FAC block `G_l ⊗ A_l` (`N = 1`) is the exact GGN block: `A_l = a
/// aᵀ` is a single outer product, and `Σ_k b_k b_kᵀ ⊗ a aᵀ = G_l ⊗ A_l`. Sums of a few
/// products: rounding ≲ 1e-15, tolerance 1e-12.
#[test]
fn kfac_is_exact_on_one_object() {
    let (teacher, x, y) = tiny();
    let lik = Likelihood::Gaussian { noise_var: 1.0 };
    let data = Data {
        x: x.slice(ndarray::s![0..1, ..]),
        targets: Targets::Real(y.slice(ndarray::s![0..1, ..])),
    };
    let full = ggn_full(&teacher, &data, &lik, 1).unwrap();
    let f = kfac_factors(&teacher, &data, &lik, 1).unwrap();
    let mut offset = 0;
    for (a_l, g_l) in &f {
        let (ni, no) = (a_l.nrows(), g_l.nrows());
        for r in 0..no {
            for c in 0..ni {
                for r2 in 0..no {
                    for c2 in 0..ni {
                        let kron = g_l[[r, r2]] * a_l[[c, c2]];
                        let dense = full[(offset + r * ni + c, offset + r2 * ni + c2)];
                        assert!((kron - dense).abs() < 1e-12, "{kron} vs {dense}");
                    }
                }
            }
        }
        offset += ni * no;
    }
}
