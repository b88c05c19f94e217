//! Gradient checks of the methods' losses and objectives, and their documentation for
//! `distillery explain loss/NAME`: one table ([`LOSSES`]) that `distillery verify` checks
//! (`loss/NAME/1`, `loss/NAME/2`: first and second derivatives against finite differences, on
//! a seeded random f64 instance) and `explain` explains, so that no loss can be explained and
//! untested.
//!
//! Each entry names the function of `methods` it checks (a file and a text that occurs in it
//! once, resolved to a line at run time), its formula in Unicode with the paper's symbols, the
//! gradient in words, and which inputs the instance differentiates (the others are constants of
//! the tape, as in training). Every loss is a composite of autograd ops: the tape differentiates
//! the ops its forward records. A check also fails when an input does not reach the output.

mod bayesian;
mod distill;
mod transfer;

use anyhow::Result;
use autograd::op_table::Instance;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance, Var};
use ndarray::ArrayD;
use nn::{Ctx, Module, Param};
use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::StandardNormal;

use super::layers::check_reaches;
use super::values::rng_for;
use super::{check, Check, Outcome};

type Draw = fn(&mut StdRng) -> Result<Instance>;

/// A loss of the table: its name, its formula, the gradient in words, the inputs the check
/// differentiates, where the function is (a file of the workspace and a text that occurs in it
/// once), and how to draw an instance.
pub(crate) struct Loss {
    pub name: &'static str,
    pub formula: &'static str,
    pub gradient: &'static str,
    pub checked: &'static str,
    pub site: (&'static str, &'static str),
    draw: Draw,
}

const fn loss(
    name: &'static str,
    formula: &'static str,
    gradient: &'static str,
    checked: &'static str,
    site: (&'static str, &'static str),
    draw: Draw,
) -> Loss {
    Loss {
        name,
        formula,
        gradient,
        checked,
        site,
        draw,
    }
}

/// Every loss and objective of the methods, with the symbols of their papers.
pub(crate) const LOSSES: &[Loss] = &[
    loss(
        "hinton",
        "L = Σ_i [ α·(−log g_{y_i}(x_i)|_{T=1}) + β·c(T0)·(−Σ_k f_k(x_i)|_{T=T0} log g_k(x_i)|_{T=T0}) ],  g|_T = softmax(z/T), f|_T = softmax(v/T), c(T0) = 1 or T0²",
        "∂L/∂z_i = α (softmax(z_i) − e_{y_i}) + β c(T0)/T0 · (softmax(z_i/T0) − softmax(v_i/T0)); the teacher logits v are constants",
        "the student logits z [5, 3]; α = 0.7, β = 0.4, T0 = 3, c = T0², summed; v, y constants",
        ("methods/src/distill/hinton.rs", "pub fn hinton_loss<"),
        distill::hinton,
    ),
    loss(
        "generalized_distillation",
        "L = Σ_i α·(−log g_{y_i}(x_i)|_{T=1}) + Σ_{i∈I} β·c(T0)·(−Σ_k f_k(x*_i)|_{T=T0} log g_k(x_i)|_{T=T0})  (Vapnik's privileged information: the teacher f reads x*, the student g reads x)",
        "as Hinton's on the rows of I, the hard term alone elsewhere: ∂L/∂z_i = α (softmax(z_i) − e_{y_i}) + [i ∈ I] β c(T0)/T0 · (softmax(z_i/T0) − f(x*_i))",
        "the student logits z [5, 3]; I = {1, 3, 4}, imitation λ = 0.6 (α = 0.4, β = 0.6), T0 = 2.5, c = T0², batch mean; the teacher's logits on x* constants",
        ("methods/src/distill/privileged.rs", "pub fn generalized_distillation_loss<"),
        distill::generalized,
    ),
    loss(
        "prob_distill",
        "L = −[ Σ_{i∉I} log g_{y_i}(x_i) + (1−λ) Σ_{i∈I} log g_{y_i}(x_i) + λ Σ_{i∈I} Σ_k s_ik log g_k(x_i)|_{T0} + λ Σ_{i∈I} Σ_k (log g_k + log log(1/g_k))|_{T0} ]",
        "label terms: w_i (g_i − e_{y_i}) with w_i = 1 (i ∉ I) or 1 − λ (i ∈ I); teacher term: (λ/T0)(g_i|_{T0} − s_i); the log C term: −(λ/T0) Σ_k (1 + 1/log g_k)(e_k − g_i)|_{T0} (the derivative of log g_k + log log(1/g_k) in log g_k, times ∂ log g_k/∂z_i)",
        "the student logits z [5, 3] in [−1.5, 1.5] (every g_k at T0 far below the clamp 1 − ε); I = {0, 2, 3}, λ = 0.35, T0 = 2, log C with ε = 1e-3, summed; s, y constants",
        ("methods/src/distill/probabilistic.rs", "pub fn prob_distill_loss<"),
        distill::prob_distill,
    ),
    loss(
        "prob_regression",
        "L = Σ_{i∉I} σ²(y_i − g_i)² + (1−λ) Σ_{i∈I} σ²(y_i − g_i)² + λ Σ_{i∈I} σ_s²(s_i − g_i)²",
        "∂L/∂g_i = 2σ'_i g_i − 2y'_i: −2σ²(y_i − g_i) for i ∉ I, −2(1−λ)σ²(y_i − g_i) − 2λσ_s²(s_i − g_i) for i ∈ I; the second derivative is the constant 2σ'_i (the theorem's weights)",
        "the predictions g [6]; I = {1, 2, 5}, λ = 0.3, σ = 1.7, σ_s = 0.6, summed; y, s constants",
        ("methods/src/distill/regression.rs", "pub fn prob_regression_loss<"),
        distill::prob_regression,
    ),
    loss(
        "multidomain",
        "L = Σ_i [ λ·(−log g_{y_i}(x_i)) − (1 − λ)·Σ_r (f∘φ)^r(x_i)|_{T0} log g^r(x_i)|_{T0} ],  g|_T = softmax(z/T), (f∘φ)|_{T0} = softmax(v(φ(x))/T0)",
        "Hinton's with α = λ, β = 1 − λ: ∂L/∂z_i = λ (softmax(z_i) − e_{y_i}) + (1 − λ)/T0 · (softmax(z_i/T0) − (f∘φ)(x_i)|_{T0}); the teacher on φ(x) is a constant",
        "the student logits z [5, 3]; λ = 0.3, T0 = 2, summed (S1's form); v(φ(x)), y constants",
        ("methods/src/multidomain/loss.rs", "pub fn multidomain_loss<"),
        distill::multidomain,
    ),
    loss(
        "multidomain_regression",
        "L = Σ_i λ ‖y_i − g(x_i)‖² + (1 − λ) ‖g(x_i) − (f∘φ)(x_i)‖²",
        "∂L/∂g(x_i) = 2λ (g(x_i) − y_i) + 2(1 − λ)(g(x_i) − (f∘φ)(x_i)); the teacher's answers are detached",
        "the predictions g [4, 2]; λ = 0.3, summed; y, f∘φ constants",
        ("methods/src/multidomain/loss.rs", "pub fn multidomain_regression_loss<"),
        distill::multidomain_regression,
    ),
    loss(
        "complexity",
        "L(q; λ) = −(1/B) Σ_{i∈B} log softmax(f(x_i, w))_{y_i} + (λ/N)·KL(q(w) ‖ N(0, s² I)),  w = μ + e^{ρ/2} ⊙ ε  (S2: E_q log p(D|w) − λ KL(q ‖ p), negated, per object)",
        "through the reparameterised draw, with NLL the first term: ∂L/∂μ = ∂NLL/∂w + (λ/N) μ/s², ∂L/∂ρ = ½ e^{ρ/2} ε ⊙ ∂NLL/∂w + (λ/N) ½ (e^ρ/s² − 1); ε is fixed by the pass's seed",
        "every mean μ and log-variance ρ of a [3, 4, 2] tanh network with biases (8 tensors); λ = 0.5, s² = 0.1, N = 50, B = 5",
        ("methods/src/hypernet/objective.rs", "pub fn complexity_loss<"),
        bayesian::complexity,
    ),
    loss(
        "kl_to_prior",
        "KL(q ‖ N(0, s² I)) = Σ_j ½ [ ln s² − ρ_j + (e^{ρ_j} + μ_j²)/s² − 1 ],  q = N(μ, diag(e^ρ))",
        "∂KL/∂μ_j = μ_j/s², ∂KL/∂ρ_j = ½ (e^{ρ_j}/s² − 1): zero at q = p",
        "every mean and log-variance of a [3, 4, 2] network with biases; s² = 0.1",
        ("methods/src/hypernet/objective.rs", "pub fn kl_to_prior<"),
        bayesian::kl_prior,
    ),
    loss(
        "bayes_kl_full",
        "KL(q ‖ p(w|A)) = ½ [ tr(Λ diag(e^ρ)) + (μ − m)ᵀ Λ (μ − m) − d − ln|Λ| − Σ_j ρ_j ],  p(w|A) = N(m, Λ⁻¹) the teacher's posterior conditioned on the removal, Λ dense",
        "∂KL/∂μ = Λ (μ − m), ∂KL/∂ρ_j = ½ (Λ_jj e^{ρ_j} − 1)",
        "the student's means and log-variances per layer ([4, 3], [2, 4] each); the prior: a random full precision over a [3, 5, 2] teacher, conditioned on removing hidden neuron 1",
        ("methods/src/bayes/kl.rs", "pub fn kl_divergence<"),
        bayesian::bayes_kl_full,
    ),
    loss(
        "bayes_kl_diagonal",
        "KL(q ‖ p(w|A)) = ½ Σ_j [ λ_j e^{ρ_j} + λ_j (μ_j − m_j)² − 1 − ln λ_j − ρ_j ],  Λ = diag(λ)",
        "∂KL/∂μ_j = λ_j (μ_j − m_j), ∂KL/∂ρ_j = ½ (λ_j e^{ρ_j} − 1)",
        "as bayes_kl_full, with a random diagonal precision (conditioning keeps the other coordinates' marginals)",
        ("methods/src/bayes/kl.rs", "pub fn kl_divergence<"),
        bayesian::bayes_kl_diagonal,
    ),
    loss(
        "bayes_kl_kfac",
        "KL(q ‖ p(w|A)) = ½ Σ_l [ Σ_ij P_ii Q_jj e^{ρ_l,ij} + Σ (P D_l) ⊙ (D_l Q) − r_l c_l − c_l ln|P| − r_l ln|Q| − Σ_ij ρ_l,ij ],  Λ_l = P ⊗ Q, D_l = μ_l − M_l (r_l × c_l)",
        "∂KL/∂μ_l = P D_l Q (P, Q symmetric), ∂KL/∂ρ_l,ij = ½ (P_ii Q_jj e^{ρ_l,ij} − 1); P ⊗ Q is never formed",
        "as bayes_kl_full, with random K-FAC factors per layer, each conditioned in closed form",
        ("methods/src/bayes/kl.rs", "pub fn kl_divergence<"),
        bayesian::bayes_kl_kfac,
    ),
    loss(
        "bayes_elbo",
        "L(μ, ρ) = (1/N) [ κ·KL(q ‖ p(w|A)) − (N/B) log p(y_B | X_B, w) ],  w = μ + e^{ρ/2} ⊙ ε  (S4: min_q KL(q(w) ‖ p(w|A)) − E_q log p(y|X, w))",
        "the KL's gradient (bayes_kl_full) times κ/N, plus the likelihood's through the reparameterised draw: ∂/∂μ = −(1/B) ∂ log p/∂w, ∂/∂ρ = −(1/B) ½ e^{ρ/2} ε ⊙ ∂ log p/∂w; ε fixed by the pass's seed",
        "every mean and log-variance of a [3, 4, 2] tanh student without biases; the aligned full prior; categorical likelihood, κ = 1, N = 50, B = 5",
        ("methods/src/bayes/variational.rs", "pub fn variational_objective<"),
        bayesian::bayes_elbo,
    ),
    loss(
        "wasserstein_penalty",
        "Ω = Σ_j λ_j [ (1/n_j) Σ_k f_j(q_jk) − (1/n_j) Σ_k f_j(p_jk) ],  q_jk = row k of the target's weight W_j, p_jk the source's; f_j a fixed 1-Lipschitz critic",
        "∂Ω/∂q_jk = (λ_j/n_j) ∇f_j(q_jk): the critic's input gradient at each row of the weight (norm ≤ λ_j/n_j, the critic being 1-Lipschitz); the source rows are constants",
        "the target weight W [4, 6] (four points of R⁶); λ = 0.8; an orthonormal GroupSort critic 6 → 4 → 2 → 1, fixed",
        ("methods/src/transfer/wasserstein.rs", "pub fn penalty<'t>("),
        transfer::wasserstein_penalty,
    ),
    loss(
        "critic_dual",
        "J(φ) = (1/n) Σ_i f_φ(a_i) − (1/m) Σ_j f_φ(b_j)  (Kantorovich–Rubinstein: W1(P, Q) = sup_{Lip(f) ≤ 1} E_P f − E_Q f; the critic ascends J)",
        "∂J/∂φ = the mean of ∂f_φ(a_i)/∂φ minus the mean of ∂f_φ(b_j)/∂φ, through every Björck iteration of each orthonormal layer (the output bias cancels)",
        "every parameter of an orthonormal GroupSort critic 3 → 4 → 2 → 1 except its output bias; two clouds of 5 points of R³, constants",
        ("methods/src/transfer/critic.rs", "pub fn mean_gap<'t>("),
        transfer::critic_dual,
    ),
    loss(
        "gradient_penalty",
        "GP = λ (1/B) Σ_i ( √(‖∇_x f(x̂_i)‖² + δ) − 1 )²,  x̂_i = ε_i p_i + (1 − ε_i) q_i  (Gulrajani et al.)",
        "∂GP/∂φ = (2λ/B) Σ_i (1 − 1/√(‖∇_x f(x̂_i)‖² + δ)) · (∂∇_x f(x̂_i)/∂φ)ᵀ ∇_x f(x̂_i): a mixed second derivative of f, through the inner gradient recorded on the tape (grad_graph)",
        "every parameter of a tanh critic 3 → 5 → 4 → 1 except its output bias (which does not change ∇_x f); λ = 10, 4 pairs (p_i, q_i) and ε_i constants",
        ("methods/src/transfer/critic.rs", "pub fn gradient_penalty<"),
        transfer::critic_gradient_penalty,
    ),
    loss(
        "l2_sp",
        "Ω = α ‖w_cl‖² + β ‖w_enc − w_enc^src‖²  (L2-SP: the classifier towards 0, the encoder towards the source's starting point)",
        "∂Ω/∂w_cl = 2α w_cl, ∂Ω/∂w_enc = 2β (w_enc − w_enc^src); the source's values are constants",
        "a classifier weight [2, 3] and two encoder tensors [3, 2], [4]; α = 0.3, β = 1.7",
        ("methods/src/transfer/regularizers.rs", "pub fn l2_sp<"),
        transfer::l2_sp_penalty,
    ),
    loss(
        "delta",
        "Ω_FM = β Σ_j (1/B) Σ_i ‖FM_j^tgt(x_i) − FM_j^src(x_i)‖²  (DELTA's feature-map distance)",
        "∂Ω_FM/∂FM_j^tgt(x_i) = (2β/B)(FM_j^tgt(x_i) − FM_j^src(x_i)); the source's maps are constants",
        "a conv map [2, 3, 2, 2] and a dense one [2, 4] of the target; β = 0.7",
        ("methods/src/transfer/regularizers.rs", "pub fn feature_map_distance<"),
        transfer::delta,
    ),
    loss(
        "delta_attentive",
        "Ω_FM = β Σ_j Σ_c w_jc (1/B) Σ_i ‖FM_jc^tgt(x_i) − FM_jc^src(x_i)‖²  (DELTA with channel attention w_jc)",
        "∂Ω_FM/∂FM_jc^tgt(x_i) = (2β w_jc/B)(FM_jc^tgt(x_i) − FM_jc^src(x_i)); the attention weights are constants",
        "the maps of delta; attention (0.2, 0.5, 0.3) and (0.1, 0.2, 0.3, 0.4); β = 1.3",
        ("methods/src/transfer/regularizers.rs", "pub fn attentive_feature_map_distance<"),
        transfer::delta_attentive,
    ),
    loss(
        "meta_train",
        "L_train(w, λ) = β1·(−(1/B) Σ_i log softmax(z_i)_{y_i}) + β2·c(T)·S(z, v, T),  S = −(1/B) Σ_i Σ_k softmax(v_i/T)_k log softmax(z_i/T)_k,  β1 = σ(a1), β2 = σ(a2), T = T_min + (T_max − T_min) σ(a3)",
        "in z as Hinton's with α = β1, β = β2, T0 = T; in a: ∂L/∂a1 = σ'(a1)·CE, ∂L/∂a2 = σ'(a2)·c(T)·S, ∂L/∂a3 = β2 (T_max − T_min) σ'(a3) ∂(c(T) S)/∂T, T reaching S through both softmaxes",
        "the student logits z [5, 3] and the metaparameter coordinates a [3]; c = T², T ∈ (0.1, 10); v, y constants",
        ("methods/src/meta/loss.rs", "pub fn train_loss<"),
        distill::meta_train,
    ),
    loss(
        "meta_hypergradient",
        "F(a, W) = L_val(W − γ ∇_W L_train(W, λ(a))),  L_val(W) = −(1/B_val) Σ_i log softmax(x_i Wᵀ)_{y_i}  (S3: the greedy one-step objective of λ)",
        "∇_a F = −γ (∂²L_train/∂a∂W)ᵀ ∇L_val(W'), W' = W − γ ∇_W L_train: the hypergradient, a second derivative of L_train taken exactly on the tape (grad_graph); the order-2 check reaches third derivatives",
        "the metaparameter coordinates a [3] and a linear student's weight W [3, 3]; γ = 0.7, c = 1; the batches constants",
        ("methods/src/meta/hypergrad.rs", "pub fn hypergradient<"),
        distill::meta_unrolled,
    ),
];

/// The instance of `l` that `distillery verify --only loss/NAME` checks.
fn draw(l: &Loss) -> Result<Instance> {
    (l.draw)(&mut rng_for(&format!("loss/{}", l.name)))
}

/// The check of `l` at `order` (1 or 2) on its instance, failing when an input does not reach
/// the output.
pub(crate) fn run(l: &Loss, order: u32) -> Result<Outcome> {
    let instance = draw(l)?;
    check_reaches(&*instance.f, &instance.inputs)?;
    let report = match order {
        1 => gradcheck(&*instance.f, &instance.inputs, Tolerance::default())?,
        _ => gradgradcheck(&*instance.f, &instance.inputs, Tolerance::default())?,
    };
    Ok(Outcome::from_gradcheck(&report))
}

/// The first- and second-order check of every loss.
pub fn checks() -> Vec<Box<dyn Check>> {
    let mut out = Vec::new();
    for l in LOSSES {
        for order in [1, 2] {
            let which = if order == 1 { "first" } else { "second" };
            out.push(check(
                format!("loss/{}/{order}", l.name),
                format!(
                    "{which} derivatives of the {} loss match finite differences",
                    l.name
                ),
                move || run(l, order),
            ));
        }
    }
    out
}

/// Values of `N(0, scale²)`.
fn normal(rng: &mut StdRng, shape: &[usize], scale: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(shape, || scale * rng.sample::<f64, _>(StandardNormal))
}

/// Values of `U(−half_width, half_width)`.
fn uniform(rng: &mut StdRng, shape: &[usize], half_width: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(shape, || rng.gen_range(-half_width..half_width))
}

/// `n` class labels in `0..classes`.
fn labels(rng: &mut StdRng, n: usize, classes: usize) -> Vec<usize> {
    (0..n).map(|_| rng.gen_range(0..classes)).collect()
}

/// Every parameter of `m`, in visiting order.
fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

/// A training pass on `tape` whose noise stream is `seed`, with the checker's variables `xs`
/// in place of `params`: the checked function of a loss in a model's parameters.
fn pass_with<'t>(
    tape: &'t Tape<f64>,
    seed: u64,
    params: &[Param<f64>],
    xs: &[Var<'t, f64>],
) -> Ctx<'t, f64> {
    let ctx = Ctx::train(tape, seed);
    for (p, &v) in params.iter().zip(xs) {
        ctx.substitute(p, v);
    }
    ctx
}

/// A methods error as an engine error (the checked functions return the engine's).
fn engine_error(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) | methods::Error::Nn(nn::Error::Autograd(e)) => e,
        other => autograd::Error::Argument {
            op: "loss",
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use methods::distill::soft_targets;
    use ndarray::Ix2;

    #[test]
    fn every_loss_passes_at_both_orders() {
        crate::verify::assert_requirements_pass(&checks());
    }

    /// The premise of the `prob_distill` instance: no `g_k` at `T0 = 2` near the clamp of
    /// `log C` at `1 − ε` (its kink is not differentiable).
    #[test]
    fn the_prob_distill_point_is_away_from_the_clamp() {
        let l = LOSSES.iter().find(|l| l.name == "prob_distill").unwrap();
        let z = draw(l).unwrap().inputs[0]
            .clone()
            .into_dimensionality::<Ix2>()
            .unwrap();
        let g = soft_targets(z.view(), 2.0).unwrap();
        assert!(g.iter().all(|&p| p < 0.7), "{g}");
    }

    /// A loss whose checked input does not reach the output fails instead of passing with
    /// zero gradients on both sides.
    #[test]
    fn a_loss_that_ignores_an_input_fails() {
        let l = loss("ignores", "", "", "", ("", ""), |_| {
            Ok(Instance {
                inputs: vec![ndarray::arr1(&[1.0, 2.0]).into_dyn(); 2],
                f: Box::new(|_, xs| Ok(xs[0].tanh().sum())),
            })
        });
        let err = run(&l, 1).unwrap_err();
        assert!(err.to_string().contains("input 1"), "{err}");
    }
}
