//! Bayesian distillation (seed S4, Grabovoy 2021, second half): the teacher's posterior
//! `p(u | X, y) = N(u0, Σ0)`, aligned to the student's architecture by Gaussian conditioning,
//! becomes the student's prior `p(w | A)`.
//!
//! ```text
//! gaussian        DenseGaussian (covariance or precision form), DiagGaussian, condition (the
//!                 conditioning theorem, both forms, Cholesky solves, reported jitter)
//! matrix_normal   MatrixNormal (K-FAC layer), kron, condition_rows / condition_cols in factors
//! alignment       Removal (neuron φ, layer ψ), Alignment (their composition on u), plan
//!                 (the removals reaching a student shape), layer_offsets
//! posterior       WeightGaussian (full, diagonal or K-FAC over u), condition_on (aligned prior)
//! mlp             NoBiasMlp (the teacher's weights), forward on a tape
//! linalg          faer helpers: Cholesky with jitter policy, log-determinant, submatrices
//! ```
//!
//! Symbols of the seed → code: teacher `f = σ ∘ U_T ∘ … ∘ σ ∘ U_1` → [`mlp::NoBiasMlp`]
//! (layer `l` in code is `U_{l+1}`), `u = vec(U_T, …, U_1)` → [`mlp::NoBiasMlp::flat`]
//! (row-major layers in increasing order: a permutation of the seed's), `N(u0, Σ0)` →
//! [`posterior::WeightGaussian`], `φ(t, u)` / `ψ(t)` → [`alignment::Removal`], `u'` / `u''`
//! → [`alignment::Alignment::kept`] / [`alignment::Alignment::removed`], `p(w | A)` →
//! [`posterior::Aligned::prior`].

pub mod alignment;
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
