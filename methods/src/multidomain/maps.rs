//! The domain maps `$\varphi : X_t \to X_s$` of seed S1: a student input carried to where the
//! teacher reads it. Three are fixed here — the identity, additive Gaussian noise and a dilated
//! convolution; the fourth, learned, is the VAE's map ([`VaeMap`](super::vae::VaeMap)).
//!
//! A map works on data, not on the tape: the teacher term of the loss is a constant for the
//! student, so `$\varphi(x)$` needs no gradient. Rows of the arrays are samples; images are
//! flattened row by row (as `nn::data` loads them).

use autograd::{Conv2dGeometry, Float, Tape};
use ndarray::{Array2, ArrayView2, Axis};
use rand::RngCore;
use rand_distr::{Distribution, StandardNormal};

use crate::{Error, Result};

/// A map `$\varphi$` from the student's domain to the teacher's.
pub trait DomainMap<F: Float>: Send + Sync {
    /// A one-line description for reports, naming every constant of the map.
    fn describe(&self) -> String;

    /// The dimension of `$\varphi(x)$` for an `x` of dimension `input_dim`; an error when the map
    /// does not accept that dimension.
    fn output_dim(&self, input_dim: usize) -> Result<usize>;

    /// `$\varphi$` applied to every row of `x` (`[n, input_dim]` → `[n, output_dim]`). A map that
    /// draws noise draws it from `rng`, row after row.
    fn apply(&self, x: ArrayView2<'_, F>, rng: &mut dyn RngCore) -> Result<Array2<F>>;
}

/// `$\varphi(x) = x$`: the teacher reads the student's inputs as they are (the identity rows of
/// S1's Table 2, and the "no map" row, where a digit teacher is given clothes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<F: Float> DomainMap<F> for Identity {
    fn describe(&self) -> String {
        "identity: φ(x) = x".to_owned()
    }

    fn output_dim(&self, input_dim: usize) -> Result<usize> {
        Ok(input_dim)
    }

    fn apply(&self, x: ArrayView2<'_, F>, _rng: &mut dyn RngCore) -> Result<Array2<F>> {
        Ok(x.to_owned())
    }
}

/// The two readings of S1's noise `N(0, 1/10)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoiseReading {
    /// `$\varphi(x) = x + \varepsilon$`, `$\varepsilon \sim \mathcal{N}(0, 0.1)$` per pixel — the
    /// seed's `N(0, 1/10)` read as a variance (standard deviation `$\sqrt{0.1} \approx 0.316$`),
    /// nothing clipped. The default: it is what the seed writes, in the usual `$\mathcal{N}(\mu,
    /// \sigma^{2})$` notation.
    #[default]
    SeedVariance,
    /// `$\varphi(x) = \mathrm{clip}(x + 0.08\cdot \varepsilon, 0, 1)$`, `$\varepsilon \sim
    /// \mathcal{N}(0, 1)$`: the authors' code (noise factor 0.08, then clipped to the pixel range).
    Authors,
}

impl NoiseReading {
    /// Both readings, the default first.
    pub const ALL: [NoiseReading; 2] = [NoiseReading::SeedVariance, NoiseReading::Authors];

    /// `"seed-variance"` or `"authors"` (the names of the experiments' config values).
    pub fn name(self) -> &'static str {
        match self {
            NoiseReading::SeedVariance => "seed-variance",
            NoiseReading::Authors => "authors",
        }
    }

    /// The reading called `name` ([`NoiseReading::name`]); the error lists the names.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| {
                Error::config(
                    "noise reading",
                    format!(
                        "{name:?} is not one; allowed: \"seed-variance\" (N(0, 0.1), the \
                         default) or \"authors\" (0.08·N(0, 1), clipped to [0, 1])"
                    ),
                )
            })
    }
}

/// `$\varphi(x) = \mathrm{clip}(x + \sigma \varepsilon)$`, `$\varepsilon \sim \mathcal{N}(0, I)$`,
/// with the clip optional: the "noise" row of S1's Table 2, where the teacher is trained on noisy
/// images and the student sees clean ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianNoise {
    /// `$\sigma \ge 0$`, the standard deviation of the noise.
    pub std: f64,
    /// `(lo, hi)`: every output is clipped to `[lo, hi]`; `None`: nothing is clipped.
    pub clip: Option<(f64, f64)>,
}

impl GaussianNoise {
    /// The noise of a reading of the seed (see [`NoiseReading`]).
    pub fn reading(reading: NoiseReading) -> Self {
        match reading {
            NoiseReading::SeedVariance => GaussianNoise {
                std: 0.1f64.sqrt(),
                clip: None,
            },
            NoiseReading::Authors => GaussianNoise {
                std: 0.08,
                clip: Some((0.0, 1.0)),
            },
        }
    }

    /// Checks `$\sigma$` finite and `$\ge 0$` and a clip interval with `$\mathrm{lo} \le
    /// \mathrm{hi}$`.
    pub fn validate(&self) -> Result<()> {
        if !(self.std.is_finite() && self.std >= 0.0) {
            return Err(Error::config(
                "noise standard deviation σ",
                format!("must be finite and ≥ 0, got {}", self.std),
            ));
        }
        if let Some((lo, hi)) = self.clip {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(Error::config(
                    "noise clip interval",
                    format!("needs lo ≤ hi, got [{lo}, {hi}]"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for GaussianNoise {
    fn default() -> Self {
        GaussianNoise::reading(NoiseReading::default())
    }
}

impl<F: Float> DomainMap<F> for GaussianNoise {
    fn describe(&self) -> String {
        let clip = match self.clip {
            Some((lo, hi)) => format!(", clipped to [{lo}, {hi}]"),
            None => ", not clipped".to_owned(),
        };
        format!(
            "additive Gaussian noise: φ(x) = x + σε, ε ~ N(0, I), σ = {:.4} (variance {:.4}){clip}",
            self.std,
            self.std * self.std
        )
    }

    fn output_dim(&self, input_dim: usize) -> Result<usize> {
        Ok(input_dim)
    }

    fn apply(&self, x: ArrayView2<'_, F>, rng: &mut dyn RngCore) -> Result<Array2<F>> {
        self.validate()?;
        let mut out = x.to_owned();
        for v in out.iter_mut() {
            let e: f64 = StandardNormal.sample(rng);
            let mut y = v.as_f64() + self.std * e;
            if let Some((lo, hi)) = self.clip {
                y = y.clamp(lo, hi);
            }
            *v = F::from_f64(y);
        }
        Ok(out)
    }
}

/// `$\varphi(x) = k \star x$`: a fixed one-channel 2-D cross-correlation of each image with a
/// kernel `k`, dilated, without padding — the "dilation" row of S1's Table 2:
///
/// `$\varphi(x)[p, q] = \sum_{i,j} k[i, j] \cdot x[p + i\cdot d, q + j\cdot d]$`, `$0 \le p < H -
/// d(\mathrm{kh} - 1)$`, `$0 \le q < W - d(\mathrm{kw} - 1)$`.
///
/// The authors' map ([`DilatedConv::authors`]) has `$k = [[1,0,1],[0,1,0],[1,0,1]]$` (symmetric:
/// convolution and cross-correlation agree) and `$d = 2$`, so a 28×28 image becomes 24×24 and the
/// teacher's input is 576-dimensional. Computed with the engine's `conv2d` on a tape that
/// records nothing.
#[derive(Clone, Debug, PartialEq)]
pub struct DilatedConv {
    kernel: Array2<f64>,
    dilation: usize,
    height: usize,
    width: usize,
}

/// Images per `conv2d` call: bounds the engine's working memory on 59,000-image sets.
const CONV_CHUNK: usize = 1024;

impl DilatedConv {
    /// The authors' kernel `[[1,0,1],[0,1,0],[1,0,1]]`, dilation 2, on `$\mathrm{height} \times
    /// \mathrm{width}$` images.
    pub fn authors(height: usize, width: usize) -> Result<Self> {
        let kernel = ndarray::array![[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 1.0]];
        Self::new(kernel, 2, height, width)
    }

    /// Kernel `k` (`$\mathrm{kh} \times \mathrm{kw}$`, both ≥ 1), dilation `$d \ge 1$`, images of
    /// `$\mathrm{height} \times \mathrm{width}$`; an error when the dilated kernel does not fit in
    /// the image.
    pub fn new(kernel: Array2<f64>, dilation: usize, height: usize, width: usize) -> Result<Self> {
        const WHAT: &str = "dilated convolution map";
        let (kh, kw) = kernel.dim();
        if kh == 0 || kw == 0 || dilation == 0 {
            return Err(Error::config(
                WHAT,
                format!("needs a non-empty kernel and dilation ≥ 1, got {kh}×{kw}, d = {dilation}"),
            ));
        }
        if dilation * (kh - 1) >= height || dilation * (kw - 1) >= width {
            return Err(Error::config(
                WHAT,
                format!(
                    "the {kh}×{kw} kernel dilated by {dilation} spans more than the \
                     {height}×{width} image"
                ),
            ));
        }
        Ok(DilatedConv {
            kernel,
            dilation,
            height,
            width,
        })
    }

    /// The output image's `(height, width)`: `$(H - d(\mathrm{kh} - 1), W - d(\mathrm{kw} - 1))$`.
    pub fn output_shape(&self) -> (usize, usize) {
        let (kh, kw) = self.kernel.dim();
        (
            self.height - self.dilation * (kh - 1),
            self.width - self.dilation * (kw - 1),
        )
    }

    /// The kernel `k`.
    pub fn kernel(&self) -> &Array2<f64> {
        &self.kernel
    }
}

impl<F: Float> DomainMap<F> for DilatedConv {
    fn describe(&self) -> String {
        let rows: Vec<String> = self
            .kernel
            .rows()
            .into_iter()
            .map(|r| {
                let v: Vec<String> = r.iter().map(|v| format!("{v}")).collect();
                format!("[{}]", v.join(","))
            })
            .collect();
        let (ho, wo) = self.output_shape();
        format!(
            "fixed convolution: kernel [{}], dilation {}, no padding: {}×{} → {ho}×{wo} \
             ({} features)",
            rows.join(","),
            self.dilation,
            self.height,
            self.width,
            ho * wo
        )
    }

    fn output_dim(&self, input_dim: usize) -> Result<usize> {
        if input_dim != self.height * self.width {
            return Err(Error::config(
                "dilated convolution map",
                format!(
                    "expects {}×{} = {} features per image, got {input_dim}",
                    self.height,
                    self.width,
                    self.height * self.width
                ),
            ));
        }
        let (ho, wo) = self.output_shape();
        Ok(ho * wo)
    }

    fn apply(&self, x: ArrayView2<'_, F>, _rng: &mut dyn RngCore) -> Result<Array2<F>> {
        let out_dim = <Self as DomainMap<F>>::output_dim(self, x.ncols())?;
        let (kh, kw) = self.kernel.dim();
        let weight = self
            .kernel
            .mapv(F::from_f64)
            .into_shape_with_order((1, 1, kh, kw))
            .expect("a kernel's elements");
        let geometry = Conv2dGeometry::new(1, 0, self.dilation);
        let mut parts = Vec::new();
        for chunk in x.axis_chunks_iter(Axis(0), CONV_CHUNK) {
            let tape = Tape::<F>::new();
            let _no_grad = tape.no_grad();
            let n = chunk.nrows();
            let images = chunk
                .as_standard_layout()
                .into_owned()
                .into_shape_with_order((n, 1, self.height, self.width))
                .expect("rows of H·W features");
            let y = tape
                .constant(images)
                .conv2d(tape.constant(weight.clone()), None, geometry)?
                .reshape(&[n, out_dim])?
                .value();
            parts.push(
                y.into_dimensionality::<ndarray::Ix2>()
                    .expect("reshaped to 2-D")
                    .to_owned(),
            );
        }
        if parts.is_empty() {
            return Ok(Array2::zeros((0, out_dim)));
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        Ok(ndarray::concatenate(Axis(0), &views).expect("chunks of one width"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn identity_returns_its_input() {
        let x = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 / 7.0);
        let mut rng = StdRng::seed_from_u64(0);
        let y = Identity.apply(x.view(), &mut rng).unwrap();
        assert_eq!(y, x);
        assert_eq!(DomainMap::<f32>::output_dim(&Identity, 784).unwrap(), 784);
    }

    /// The sample mean and variance of the added noise, against σ. With `$n = 200,000$` draws the
    /// standard error of the mean is `$\sigma/\sqrt{n} \approx 0.0022\sigma$` and that of the
    /// variance `$\sigma^{2}\sqrt{2/n} \approx 0.0032\sigma^{2}$`: 5 standard errors is
    /// `$0.011\sigma$` and `$0.016\sigma^{2}$`.
    #[test]
    fn noise_has_the_reading_s_standard_deviation() {
        let x = Array2::<f64>::from_elem((400, 500), 0.5);
        let noise = GaussianNoise {
            std: 0.1f64.sqrt(),
            clip: None,
        };
        let mut rng = StdRng::seed_from_u64(1);
        let y = noise.apply(x.view(), &mut rng).unwrap();
        let n = y.len() as f64;
        let mean = y.iter().map(|v| v - 0.5).sum::<f64>() / n;
        let var = y.iter().map(|v| (v - 0.5 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 5.0 * noise.std / n.sqrt(), "mean {mean}");
        assert!(
            (var - 0.1).abs() < 5.0 * 0.1 * (2.0 / n).sqrt(),
            "variance {var}, want 0.1"
        );
        assert_eq!(GaussianNoise::default(), noise);
    }

    #[test]
    fn the_authors_noise_is_scaled_and_clipped() {
        let authors = GaussianNoise::reading(NoiseReading::Authors);
        assert_eq!(authors.std, 0.08);
        // pixels at the ends of [0, 1]: about half the draws leave the range and are clipped
        let x = Array2::<f32>::from_shape_fn((100, 100), |(i, _)| (i % 2) as f32);
        let mut rng = StdRng::seed_from_u64(2);
        let y = authors.apply(x.view(), &mut rng).unwrap();
        assert!(y.iter().all(|&v| (0.0..=1.0).contains(&v)));
        let clipped = y.iter().filter(|&&v| v == 0.0 || v == 1.0).count();
        // each pixel is clipped with probability 1/2: 10,000 draws, std 50
        assert!((clipped as f64 - 5_000.0).abs() < 5.0 * 50.0, "{clipped}");
        assert_eq!(
            NoiseReading::from_name("authors").unwrap(),
            NoiseReading::Authors
        );
        let err = NoiseReading::from_name("std").unwrap_err().to_string();
        assert!(
            err.contains("seed-variance") && err.contains("\"std\""),
            "{err}"
        );
        let bad = GaussianNoise {
            std: -1.0,
            clip: None,
        };
        let err = DomainMap::<f32>::apply(&bad, x.view(), &mut rng).unwrap_err();
        assert!(err.to_string().contains("σ"), "{err}");
    }

    /// The authors' kernel on a 28×28 image whose pixel `(r, c)` is `$r\cdot 28 + c$`: output `(p,
    /// q)` is the sum of the five taps `(p, q), (p, q+4), (p+2, q+2), (p+4, q), (p+4, q+4)`, by
    /// hand `$5\cdot(28p + q) + 28\cdot(0 + 0 + 2 + 4 + 4) + (0 + 4 + 2 + 0 + 4) = 140p + 5q +
    /// 290$`.
    #[test]
    fn the_dilated_kernel_matches_a_hand_computed_patch() {
        let map = DilatedConv::authors(28, 28).unwrap();
        assert_eq!(map.output_shape(), (24, 24));
        assert_eq!(DomainMap::<f64>::output_dim(&map, 784).unwrap(), 576);
        let x = Array2::from_shape_fn((2, 784), |(n, k)| k as f64 + 1000.0 * n as f64);
        let mut rng = StdRng::seed_from_u64(0);
        let y = map.apply(x.view(), &mut rng).unwrap();
        assert_eq!(y.dim(), (2, 576));
        for p in 0..24 {
            for q in 0..24 {
                let want = 140.0 * p as f64 + 5.0 * q as f64 + 290.0;
                assert_eq!(y[[0, p * 24 + q]], want, "({p}, {q})");
                // the second image is the first plus 1000 everywhere: five taps, +5000
                assert_eq!(y[[1, p * 24 + q]], want + 5000.0, "({p}, {q})");
            }
        }
        // a single bright pixel at (10, 10) lights exactly the outputs whose taps reach it
        let mut one = Array2::<f32>::zeros((1, 784));
        one[[0, 10 * 28 + 10]] = 1.0;
        let y = map.apply(one.view(), &mut rng).unwrap();
        let lit: Vec<(usize, usize)> = (0..576)
            .filter(|&k| y[[0, k]] != 0.0)
            .map(|k| (k / 24, k % 24))
            .collect();
        assert_eq!(lit, [(6, 6), (6, 10), (8, 8), (10, 6), (10, 10)]);
        assert!(DomainMap::<f32>::output_dim(&map, 100).is_err());
        assert!(DilatedConv::new(Array2::ones((3, 3)), 20, 28, 28).is_err());
    }
}
