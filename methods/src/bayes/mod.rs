//! Bayesian distillation (seed S4, Grabovoy 2021, second half): the teacher's posterior `$p(u | X,
//! y) = \mathcal{N}(u_{0}, \Sigma_{0})$` (a Laplace approximation at the trained teacher), aligned
//! to the student's architecture by Gaussian conditioning, becomes the student's prior `p(w | A)`;
//! the student is trained by `$\min_q \mathrm{KL} (q(w) \| p(w | A)) - \mathbb{E}_q \log p(y | X,
//! w)$`.
//!
//! ```text
//! gaussian        DenseGaussian (covariance or precision form), DiagGaussian, condition: the
//!                 conditioning theorem in both forms (Cholesky solves, reported jitter)
//! matrix_normal   MatrixNormal (a K-FAC layer), kron, condition_rows / condition_cols: the
//!                 closed form in the Kronecker factors
//! alignment       Removal (neuron φ, layer ψ), Alignment (their composition on u: kept and
//!                 removed weights with their values), plan (the removals reaching a student)
//! posterior       WeightGaussian (full, diagonal or K-FAC over u), condition_on / align_to
//!                 (the aligned prior p(w | A))
//! mlp             NoBiasMlp (the teacher's weights), forward on a tape
//! likelihood      Likelihood (Gaussian, categorical), Targets, the NLL, the output-Hessian roots
//! curvature       exact Hessian from Tape::hvp (full, diagonal, Hutchinson), GGN from
//!                 per-sample Jacobians (full, diagonal), K-FAC factors
//! laplace         LaplaceConfig (curvature × structure, α), laplace → posterior + report
//! orders          RemovalOrder (random, OBD, density ratio, Belsley), neuron_scores
//! kl              MeanField q, PreparedPrior, kl_divergence = KL(q ‖ p) for every structure
//! variational     VariationalMlp (nn's VariationalLinear layers), variational_objective
//! linalg          faer helpers: Cholesky with a jitter policy, log-determinant, submatrices
//! checks          Monte-Carlo and closed-form checks returning CheckOutcome (distillery verify)
//! ```
//!
//! Symbols of the seed → code:
//!
//! | seed | code |
//! |---|---|
//! | teacher `$f = \sigma \circ U_T \circ \dots \circ \sigma \circ U_1$` (no biases) | [`mlp::NoBiasMlp`]; layer `l` (0-based) is `$U_{l+1}$`; no `$\sigma$` after the last layer (it outputs the regression value or the logits) |
//! | `$u = \operatorname{vec} (U_T, \dots, U_1)$` | [`mlp::NoBiasMlp::flat`]: row-major `$U_1, \dots, U_T$` (a permutation of the seed's; conditioning commutes with it) |
//! | `$p(u \vert X, y) = \mathcal{N}(u_{0}, \Sigma_{0})$` | [`posterior::WeightGaussian`] from [`laplace::laplace`], precision form `$\Lambda = \Sigma_{0}^{-1}$` |
//! | `$\varphi(t, u)$`, `$\psi(t)$` | [`alignment::Removal::Neurons`] (hidden layer `$t - 1$`), [`alignment::Removal::Layer`] (layer `$t - 1$`) |
//! | `u'`, `u''`, `0` / `vec(I)` | [`alignment::Alignment::kept`], [`alignment::Alignment::removed`] (indices and values) |
//! | `p(u' | X, y)` (the theorem) | [`gaussian::condition`]; K-FAC: [`matrix_normal::MatrixNormal::condition_rows`] |
//! | `p(w | A)` | [`posterior::Aligned::prior`] |
//! | `$h_{jj}$`, `$p(0\vert X,y)/p(u_j\vert X,y)$`, `$\lambda_{\max}/\lambda_j$` | [`orders::RemovalOrder`] |
//! | `q(w)`, `$\mathrm{KL} (q(w) \Vert p(w \vert A)) - \log p(y \vert X, w)$` | [`variational::VariationalMlp`], [`variational::variational_objective`] |
//!
//! Readings where the seed is silent (each documented at its item): the teacher's prior
//! `$\mathcal{N}(0, \alpha^{-1} I)$` with `$\alpha = 1$` by default; the GGN as the default
//! curvature; the removal orders lifted from single weights to a neuron's set of weights and
//! computed once at the teacher; layer removal only for layers between two activations; the
//! `N/B`-scaled one-sample ELBO per training object as the minibatch objective.

pub mod alignment;
pub mod blocked;
pub mod checks;
pub mod curvature;
pub mod gaussian;
pub mod kl;
pub mod laplace;
pub mod likelihood;
pub mod linalg;
pub mod matrix_normal;
pub mod mlp;
pub mod orders;
pub mod posterior;
pub mod variational;
