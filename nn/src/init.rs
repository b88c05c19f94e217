//! Weight initialisers, all drawing from an explicit seeded RNG.
//!
//! For a weight of shape `$[\mathrm{out}, \mathrm{in}, k\dots]$`: `fan_in = in·Πk`, `fan_out =
//! out·Πk`.

use autograd::{Float, Tensor};
use ndarray::{Array2, ArrayD, IxDyn};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// How to draw a tensor's initial values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's default for `Linear` and `Conv2d`: `U(−1/√fan_in, 1/√fan_in)` (Kaiming-uniform
    /// with `$a = \sqrt{5}$`). Also used for biases, with the weight's `fan_in`.
    TorchDefault,
    /// He/Kaiming uniform: `$U(-b, b)$`, `b = gain·√(3 / fan_in)`; `$\mathrm{gain} = \sqrt{2}$` for
    /// ReLU.
    KaimingUniform {
        /// The nonlinearity's gain.
        gain: f64,
    },
    /// He/Kaiming normal: `N(0, (gain / √fan_in)²)`.
    KaimingNormal {
        /// The nonlinearity's gain.
        gain: f64,
    },
    /// Glorot/Xavier uniform: `$U(-b, b)$`, `b = gain·√(6 / (fan_in + fan_out))`.
    XavierUniform {
        /// The nonlinearity's gain.
        gain: f64,
    },
    /// Glorot/Xavier normal: `N(0, gain²·2 / (fan_in + fan_out))`.
    XavierNormal {
        /// The nonlinearity's gain.
        gain: f64,
    },
    /// A (semi-)orthogonal matrix times `gain`, the weight flattened to `[out, fan_in]`: rows
    /// orthonormal if `out ≤ fan_in`, columns otherwise (Saxe et al., 2014). Drawn as the `Q`
    /// of a Gaussian matrix's QR factorisation, signs fixed so the draw is uniform (Haar).
    Orthogonal {
        /// Scale of the orthonormal matrix.
        gain: f64,
    },
    /// Every value equal to this.
    Constant(f64),
}

/// The ReLU gain `$\sqrt{2}$` for Kaiming initialisation.
pub const RELU_GAIN: f64 = std::f64::consts::SQRT_2;

/// `(fan_in, fan_out)` of a weight shaped `$[\mathrm{out}, \mathrm{in}, k\dots]$` (a 1-D shape is
/// `[out]`: fan 1).
pub fn fans(shape: &[usize]) -> (usize, usize) {
    let receptive: usize = shape.iter().skip(2).product();
    let fan_in = shape.get(1).copied().unwrap_or(1) * receptive;
    let fan_out = shape.first().copied().unwrap_or(1) * receptive;
    (fan_in.max(1), fan_out.max(1))
}

impl Init {
    /// A tensor of `shape` drawn from this initialiser; `fan_in` and `fan_out` are those of the
    /// weight the tensor belongs to (for a bias, its layer's weight).
    pub fn sample<F: Float>(
        self,
        shape: &[usize],
        (fan_in, fan_out): (usize, usize),
        rng: &mut impl Rng,
    ) -> Tensor<F> {
        let (fi, fo) = (fan_in as f64, fan_out as f64);
        let mut uniform = |b: f64| {
            ArrayD::from_shape_simple_fn(IxDyn(shape), || F::from_f64(rng.gen_range(-b..=b)))
        };
        let values = match self {
            Init::TorchDefault => uniform(1.0 / fi.sqrt()),
            Init::KaimingUniform { gain } => uniform(gain * (3.0 / fi).sqrt()),
            Init::XavierUniform { gain } => uniform(gain * (6.0 / (fi + fo)).sqrt()),
            Init::KaimingNormal { gain } => normal(shape, gain / fi.sqrt(), rng),
            Init::XavierNormal { gain } => normal(shape, gain * (2.0 / (fi + fo)).sqrt(), rng),
            Init::Orthogonal { gain } => orthogonal(shape, gain, rng),
            Init::Constant(c) => ArrayD::from_elem(IxDyn(shape), F::from_f64(c)),
        };
        values.into_shared()
    }
}

fn normal<F: Float>(shape: &[usize], std: f64, rng: &mut impl Rng) -> ArrayD<F> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        let z: f64 = StandardNormal.sample(rng);
        F::from_f64(std * z)
    })
}

/// See [`Init::Orthogonal`]. Modified Gram–Schmidt on the columns of a tall Gaussian matrix
/// gives the QR factorisation with a positive diagonal of `R`, whose `Q` is Haar-distributed.
fn orthogonal<F: Float>(shape: &[usize], gain: f64, rng: &mut impl Rng) -> ArrayD<F> {
    let rows = shape.first().copied().unwrap_or(1);
    let cols: usize = shape.iter().skip(1).product::<usize>().max(1);
    let (tall, wide) = (rows.max(cols), rows.min(cols));
    let mut q = Array2::<f64>::from_shape_simple_fn((tall, wide), || StandardNormal.sample(rng));
    for j in 0..wide {
        for k in 0..j {
            let dot = q.column(j).dot(&q.column(k));
            let qk = q.column(k).to_owned();
            q.column_mut(j).scaled_add(-dot, &qk);
        }
        let norm = q.column(j).dot(&q.column(j)).sqrt();
        q.column_mut(j).mapv_inplace(|v| v / norm);
    }
    let q = if rows < cols { q.reversed_axes() } else { q };
    let data: Vec<F> = q.iter().map(|&v| F::from_f64(gain * v)).collect();
    ArrayD::from_shape_vec(IxDyn(shape), data).expect("rows·cols elements")
}
