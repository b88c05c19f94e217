//! The curvature of the negative log-likelihood of a no-bias MLP at its weights, in the
//! structures of the Laplace approximation: the exact Hessian (from Hessian-vector products
//! on the tape), the generalised Gauss–Newton matrix (from per-sample Jacobians), their
//! diagonals, and the K-FAC factors of the GGN.
//!
//! Every function sums over the data, processed in chunks of `batch` objects (the curvature of
//! a sum is the sum of the chunks' curvatures), and returns the curvature of
//! `$-\log p(y | X, u)$` only: the prior's `$\alpha I$` is added by the caller.

use std::ops::Range;

use autograd::{Tape, Tensor, Var};
use faer::Mat;
use ndarray::{Array1, Array2, ArrayD, ArrayView2, Ix2, IxDyn};
use rand::Rng;

use super::blocked::{large_matrix, syrk_lower, view, view_mut};
use super::likelihood::{Likelihood, Targets};
use super::linalg::mirror_lower;
use super::mlp::{forward, NoBiasMlp};
use crate::{Error, Result};

/// The data of the likelihood: inputs `X` (`$[N, n_0]$`) and targets.
#[derive(Clone, Copy, Debug)]
pub struct Data<'a> {
    /// `X`.
    pub x: ArrayView2<'a, f64>,
    /// `y`.
    pub targets: Targets<'a>,
}

impl<'a> Data<'a> {
    /// Checks the shapes against `teacher` and the likelihood.
    pub fn validate(&self, teacher: &NoBiasMlp, likelihood: &Likelihood) -> Result<()> {
        let sizes = teacher.sizes();
        if self.x.ncols() != sizes[0] {
            return Err(Error::config(
                "Laplace data",
                format!(
                    "inputs have {} features, the network {}",
                    self.x.ncols(),
                    sizes[0]
                ),
            ));
        }
        if self.x.nrows() == 0 || self.x.iter().any(|v| !v.is_finite()) {
            return Err(Error::config(
                "Laplace data",
                "the inputs must be finite, at least one object",
            ));
        }
        likelihood.validate(
            &self.targets,
            self.x.nrows(),
            *sizes.last().expect("≥ 2 sizes"),
        )
    }

    fn chunks(&self, batch: usize) -> impl Iterator<Item = (Range<usize>, Data<'a>)> + '_ {
        let n = self.x.nrows();
        let batch = batch.max(1);
        (0..n.div_ceil(batch)).map(move |b| {
            let r = b * batch..((b + 1) * batch).min(n);
            let d = Data {
                x: self.x.slice_move(ndarray::s![r.clone(), ..]),
                targets: self.targets.rows(r.clone()),
            };
            (r, d)
        })
    }
}

fn bind<'t>(tape: &'t Tape<f64>, teacher: &NoBiasMlp) -> Vec<Var<'t, f64>> {
    teacher
        .weights
        .iter()
        .map(|w| tape.param(w.view()))
        .collect()
}

fn matrix(t: Tensor<f64>) -> Array2<f64> {
    t.into_dimensionality::<Ix2>()
        .expect("a 2-D value")
        .to_owned()
}

/// `$\nabla_u (-\log p(y | X, u))$` as a flat vector (for the stationarity report).
pub fn gradient(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
) -> Result<Array1<f64>> {
    let mut g = Array1::zeros(teacher.num_weights());
    for (_, d) in data.chunks(batch) {
        let tape = Tape::<f64>::new();
        let w = bind(&tape, teacher);
        let pass = forward(&w, tape.constant(d.x), teacher.activation)?;
        let loss = lik.neg_log_likelihood(pass.output, &d.targets)?;
        let grads = tape.grad(loss, &w)?;
        let flat: Array1<f64> = grads.iter().flat_map(|t| t.iter().copied()).collect();
        g += &flat;
    }
    Ok(g)
}

/// Per-layer tensors of a flat direction.
fn split(teacher: &NoBiasMlp, v: &[f64]) -> Vec<Tensor<f64>> {
    let mut o = 0;
    teacher
        .weights
        .iter()
        .map(|w| {
            let n = w.len();
            let t = ArrayD::from_shape_vec(IxDyn(w.shape()), v[o..o + n].to_vec())
                .expect("layer shape");
            o += n;
            t.into_shared()
        })
        .collect()
}

/// Calls `visit(v, H v)` for each direction in `directions`, where `H` is the exact Hessian of
/// `$-\log p(y | X, u)$` at the teacher's weights, summed over the chunks: `Tape::hvp`
/// differentiates the recorded gradient once more (exact, no finite differences).
fn hessian_products(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
    directions: &mut dyn Iterator<Item = Vec<f64>>,
    visit: &mut dyn FnMut(&[f64], &[f64]),
) -> Result<usize> {
    let chunks: Vec<_> = data.chunks(batch).collect();
    let tapes: Vec<Tape<f64>> = chunks.iter().map(|_| Tape::new()).collect();
    let mut graphs = Vec::new();
    for ((_, d), tape) in chunks.iter().zip(&tapes) {
        let w = bind(tape, teacher);
        let pass = forward(&w, tape.constant(d.x), teacher.activation)?;
        let loss = lik.neg_log_likelihood(pass.output, &d.targets)?;
        graphs.push((w, loss));
    }
    let mut count = 0;
    for v in directions {
        let parts = split(teacher, &v);
        let mut hv = vec![0.0; v.len()];
        for ((w, loss), tape) in graphs.iter().zip(&tapes) {
            let out = tape.hvp(*loss, w, &parts)?;
            for (acc, x) in hv.iter_mut().zip(out.iter().flat_map(|t| t.iter())) {
                *acc += x;
            }
        }
        visit(&v, &hv);
        count += 1;
    }
    Ok(count)
}

/// `$e_0, \dots, e_{p-1}$`, the unit vectors of `$\mathbb{R}^p$`, one at a time.
fn unit_vectors(p: usize) -> impl Iterator<Item = Vec<f64>> {
    (0..p).map(move |k| {
        let mut e = vec![0.0; p];
        e[k] = 1.0;
        e
    })
}

/// The exact Hessian `$\nabla^{2}_u (-\log p(y | X, u))$` (`$P \times P$`), column `j` = `$H e_j$`
/// from one Hessian-vector product per chunk: `P` products in all. Not symmetrised (the caller
/// measures and removes the rounding asymmetry).
pub fn hessian_full(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
) -> Result<Mat<f64>> {
    let p = teacher.num_weights();
    let mut h = Mat::<f64>::zeros(p, p);
    let mut j = 0;
    let mut basis = unit_vectors(p);
    hessian_products(teacher, data, lik, batch, &mut basis, &mut |_, hv| {
        h.col_as_slice_mut(j).copy_from_slice(hv);
        j += 1;
    })?;
    Ok(h)
}

/// The exact diagonal `$h_{jj} = (H e_j)_j$` of the Hessian: `P` Hessian-vector products per chunk
/// (the cost of the full Hessian without its memory).
pub fn hessian_diagonal(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
) -> Result<Array1<f64>> {
    let p = teacher.num_weights();
    let mut d = Array1::zeros(p);
    let mut j = 0;
    let mut basis = unit_vectors(p);
    hessian_products(teacher, data, lik, batch, &mut basis, &mut |_, hv| {
        d[j] = hv[j];
        j += 1;
    })?;
    Ok(d)
}

/// Hutchinson's estimate of the Hessian diagonal: `$\operatorname{diag} H = \mathbb{E}[v \odot H
/// v]$` for Rademacher `v` (independent `$\pm 1$` entries: `$\mathbb{E}[v_i v_j] = \delta_{ij}$`),
/// averaged over `samples` draws. Returns the estimate and its standard error per entry (sample
/// standard deviation / `$\sqrt{\mathrm{samples}}$`; the estimator's variance is `$\sum_{k\ne j}
/// H_{jk}^{2}$` per draw).
pub fn hessian_diagonal_hutchinson(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
    samples: usize,
    rng: &mut impl Rng,
) -> Result<(Array1<f64>, Array1<f64>)> {
    if samples < 2 {
        return Err(Error::config(
            "Hutchinson samples",
            format!("must be ≥ 2 (for a standard error), got {samples}"),
        ));
    }
    let p = teacher.num_weights();
    let draws: Vec<Vec<f64>> = (0..samples)
        .map(|_| {
            (0..p)
                .map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 })
                .collect()
        })
        .collect();
    let (mut sum, mut sum_sq) = (Array1::<f64>::zeros(p), Array1::<f64>::zeros(p));
    hessian_products(
        teacher,
        data,
        lik,
        batch,
        &mut draws.into_iter(),
        &mut |v, hv| {
            for j in 0..p {
                let x = v[j] * hv[j];
                sum[j] += x;
                sum_sq[j] += x * x;
            }
        },
    )?;
    let s = samples as f64;
    let mean = &sum / s;
    let var = (&sum_sq / s - &mean * &mean).mapv(|v| v.max(0.0)) * (s / (s - 1.0));
    Ok((mean, var.mapv(|v| (v / s).sqrt())))
}

/// One chunk of per-sample quantities of the GGN: the inputs `$a_l$` of every layer (`$[B, n_l]$`)
/// and, for every output-Hessian root `$S_k$`, the back-propagated `$B_{kl} = S_k J_{z_l}$` at
/// every layer's pre-activation (`$[B, n_{l+1}]$`): row `i` is `$\partial(S_k[i] \cdot f(x_i)) /
/// \partial z_l[i]$` — a vector-Jacobian product of the batch is per sample because `$f(x_i)$`
/// depends on row `i` of `$z_l$` only. The per-sample Jacobian of `$S_k[i] \cdot f(x_i)$` in
/// `$U_{l+1}$` is the outer product `$B_{kl}[i]^{\top} a_l[i]$`.
pub struct GgnChunk {
    /// `$a_l$`, per layer.
    pub inputs: Vec<Array2<f64>>,
    /// `$B_{kl}$`, per root `k`, per layer `l`.
    pub backprops: Vec<Vec<Array2<f64>>>,
}

/// Calls `visit` with each chunk's [`GgnChunk`].
pub fn for_each_ggn_chunk(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
    visit: &mut dyn FnMut(&GgnChunk) -> Result<()>,
) -> Result<()> {
    for (_, d) in data.chunks(batch) {
        let tape = Tape::<f64>::new();
        let w = bind(&tape, teacher);
        let pass = forward(&w, tape.constant(d.x), teacher.activation)?;
        let out = matrix(pass.output.value());
        let mut backprops = Vec::new();
        for seed in lik.output_hessian_sqrt(out.view()) {
            let seed = tape.constant(seed);
            let g = tape.vjp(pass.output, seed, &pass.preacts, false)?;
            backprops.push(g.into_iter().map(|v| matrix(v.value())).collect());
        }
        let inputs = pass.inputs.iter().map(|a| matrix(a.value())).collect();
        visit(&GgnChunk { inputs, backprops })?;
    }
    Ok(())
}

/// The generalised Gauss–Newton matrix `$G = \sum_i J_i^{\top} \Lambda_i J_i = J^{\top} J$` (`$P
/// \times P$`), `J` the stacked rows `$S_k[i] J_i$` (one per object and output root: `$N K \times
/// P$`, built from [`GgnChunk`] as `$J[(i,k), (l, r, c)] = B_{kl}[i, r] a_l[i, c]$`), `$\Lambda_i$`
/// the output Hessian of the negative log-likelihood. Positive semi-definite by construction.
///
/// Only the lower triangle of `$J^{\top} J$` is computed (a symmetric rank-`NK` update on the
/// project's GEMM, [`syrk_lower`]: about half the multiplications of the full product) and
/// mirrored into the upper one, so the result is exactly symmetric.
pub fn ggn_full(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
) -> Result<Mat<f64>> {
    let p = teacher.num_weights();
    let mut g = large_matrix(p, p, |_, _| 0.0);
    // `$J^{\top}$` (`$P \times BK$`, column-major): one contiguous column per (object, root),
    // written in memory order, and both GEMM operands of the update packed by plain copies (a
    // row-major `J` made them transpose every block and scattered these writes a whole column
    // apart). Allocated for the first chunk, the largest, and reused: every chunk writes all of
    // its columns.
    let mut jt_store: Option<Mat<f64>> = None;
    for_each_ggn_chunk(teacher, data, lik, batch, &mut |chunk| {
        let b = chunk.inputs[0].nrows();
        let k = chunk.backprops.len();
        let mut jt = jt_store
            .get_or_insert_with(|| large_matrix(p, b * k, |_, _| 0.0))
            .as_mut()
            .subcols_mut(0, b * k);
        for i in 0..b {
            for (ki, per_layer) in chunk.backprops.iter().enumerate() {
                let column = jt
                    .as_mut()
                    .col_mut(i * k + ki)
                    .try_as_col_major_mut()
                    .expect("an owned matrix's columns are contiguous")
                    .as_slice_mut();
                let mut offset = 0;
                for (bl, a) in per_layer.iter().zip(&chunk.inputs) {
                    let a_i = a.row(i);
                    for (r, &br) in bl.row(i).iter().enumerate() {
                        let start = offset + r * a_i.len();
                        for (dst, &ac) in column[start..start + a_i.len()].iter_mut().zip(&a_i) {
                            *dst = br * ac;
                        }
                    }
                    offset += bl.ncols() * a_i.len();
                }
            }
        }
        syrk_lower(1.0, view(jt.as_ref()), view_mut(g.as_mut()));
        Ok(())
    })?;
    mirror_lower(&mut g);
    Ok(g)
}

/// The exact diagonal of the GGN without forming `J`: for layer `l`, `$\operatorname{diag} G_l[r,
/// c] = \sum_i \sum_k B_{kl}[i, r]^{2} a_l[i, c]^{2}$` (the squared entries of the per-sample outer
/// products), i.e. `$\sum_k (B_{kl} \odot B_{kl})^{\top} (a_l \odot a_l)$`.
pub fn ggn_diagonal(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
) -> Result<Array1<f64>> {
    let mut layers: Vec<Array2<f64>> = teacher
        .weights
        .iter()
        .map(|w| Array2::zeros(w.dim()))
        .collect();
    for_each_ggn_chunk(teacher, data, lik, batch, &mut |chunk| {
        for per_layer in &chunk.backprops {
            for ((acc, bl), a) in layers.iter_mut().zip(per_layer).zip(&chunk.inputs) {
                *acc += &bl.mapv(|v| v * v).t().dot(&a.mapv(|v| v * v));
            }
        }
        Ok(())
    })?;
    Ok(layers.iter().flat_map(|m| m.iter().copied()).collect())
}

/// The K-FAC factors of the GGN, summed over the data: per layer `$(A_l, G_l)$` with `$A_l = \sum_i
/// a_l[i] a_l[i]^{\top}$` (`$n_l \times n_l$`, inputs) and `$G_l = \sum_i \sum_k B_{kl}[i]
/// B_{kl}[i]^{\top}$` (`$n_{l+1} \times n_{l+1}$`, back-propagated output roots). The layer's GGN
/// block `$\sum_i (b_i b_i^{\top}) \otimes(a_i a_i^{\top})$` is approximated by `$(1/N) G_l \otimes
/// A_l$` (the expectation of a Kronecker product replaced by the product of expectations: Martens &
/// Grosse 2015; with the exact output Hessian, Botev et al. 2017's KFLR).
pub fn kfac_factors(
    teacher: &NoBiasMlp,
    data: &Data<'_>,
    lik: &Likelihood,
    batch: usize,
) -> Result<Vec<(Array2<f64>, Array2<f64>)>> {
    let mut factors: Vec<(Array2<f64>, Array2<f64>)> = teacher
        .weights
        .iter()
        .map(|w| {
            (
                Array2::zeros((w.ncols(), w.ncols())),
                Array2::zeros((w.nrows(), w.nrows())),
            )
        })
        .collect();
    for_each_ggn_chunk(teacher, data, lik, batch, &mut |chunk| {
        for (l, (a_acc, g_acc)) in factors.iter_mut().enumerate() {
            let a = &chunk.inputs[l];
            *a_acc += &a.t().dot(a);
            for per_layer in &chunk.backprops {
                let b = &per_layer[l];
                *g_acc += &b.t().dot(b);
            }
        }
        Ok(())
    })?;
    Ok(factors)
}
