//! S1's VAE: gradient checks of the ELBO (f64, noise fixed, orders 1 and 2), the map φ against
//! a hand computation, shapes of what it generates, the ELBO rising in a short training, the
//! pairing, and bad input.

use autograd::functional::{DiagGaussian, Reduction};
use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance, Var};
use methods::multidomain::vae::{
    elbo, pair_by_class, reparameterize, synthetic_digits, Decoder, Likelihood, PairedElbo,
    Reconstruction, Vae, VaeConfig, VaeMap, VaeMapMode,
};
use methods::multidomain::DomainMap;
use ndarray::{array, Array2, ArrayD, Axis, Ix1, Ix2};
use nn::data::Dataset;
use nn::optim::{Adam, AdamConfig};
use nn::train::{fit, Silent, TrainConfig};
use nn::{Ctx, Module};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn normal(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(shape, || rng.sample(StandardNormal))
}

fn uniform(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(shape, || rng.gen_range(0.05..0.95))
}

fn check_both<Fun>(name: &str, f: &Fun, x: &[ArrayD<f64>])
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> autograd::Result<Var<'t, f64>>,
{
    let report = gradcheck(f, x, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}: {report}");
    let report = gradgradcheck(f, x, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}, second order: {report}");
}

fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        other => panic!("unexpected error: {other}"),
    }
}

/// The ELBO's composites in (μ, ln σ², W) through a linear decoder `z Wᵀ`, both likelihoods,
/// two reconstructions from the same `z`, `σ_p = 1.5`. Every term is smooth (softplus, exp,
/// squares): first and second order with the default tolerances.
#[test]
fn elbo_composites_first_and_second_order() {
    let (b, k, d) = (3, 2, 4);
    let noise = normal(&[b, k], 1);
    let clothes = uniform(&[b, d], 2);
    let digits = uniform(&[b, d], 3);
    for likelihood in [
        Likelihood::Bernoulli,
        Likelihood::Gaussian { log_variance: -0.7 },
    ] {
        let f = check_fn(|tape, xs| {
            let q = DiagGaussian::new(xs[0], xs[1])?;
            let z = reparameterize(&q, tape.constant(noise.clone())).map_err(unwrap_autograd)?;
            let decoded_c = z.matmul_t(xs[2], false, true)?;
            let decoded_d = z.matmul_t(xs[3], false, true)?;
            let recon = [
                Reconstruction {
                    decoded: decoded_c,
                    target: tape.constant(clothes.clone()),
                    likelihood,
                },
                Reconstruction {
                    decoded: decoded_d,
                    target: tape.constant(digits.clone()),
                    likelihood,
                },
            ];
            elbo(&recon, &q, 1.5, Reduction::Mean).map_err(unwrap_autograd)
        });
        let x = [
            normal(&[b, k], 4),
            normal(&[b, k], 5).mapv(|v| 0.5 * v),
            normal(&[d, k], 6),
            normal(&[d, k], 7),
        ];
        check_both(&format!("ELBO, {likelihood:?}"), &f, &x);
    }
}

fn tiny() -> VaeConfig {
    VaeConfig {
        input_dim: 5,
        hidden: 4,
        latent: 2,
        prior_std: 1.0,
    }
}

/// The whole VAE's ELBO as a function of all its parameters (bound to the checked variables
/// with `Ctx::substitute`), noise fixed. LeakyReLU has a kink at 0 where neither order is
/// defined; at this random point no pre-activation is within 1e-3 of it (asserted), far
/// beyond the finite-difference step 1e-6.
#[test]
fn vae_elbo_in_its_parameters_first_and_second_order() {
    let vae = Vae::<f64>::new(tiny(), &mut StdRng::seed_from_u64(8)).unwrap();
    let clothes = uniform(&[3, 5], 9);
    let digits = uniform(&[3, 5], 10);
    let noise = normal(&[3, 2], 11);
    let mut params = Vec::new();
    vae.visit_params(&mut |_, p| params.push(p.value().to_owned()));
    assert_eq!(params.len(), 14, "7 layers, weights and biases");
    let f = check_fn(|tape, xs| {
        let ctx = Ctx::eval(tape);
        let mut i = 0;
        vae.visit_params(&mut |_, p| {
            ctx.substitute(p, xs[i]);
            i += 1;
        });
        vae.elbo(
            &ctx,
            tape.constant(clothes.clone()),
            tape.constant(digits.clone()),
            tape.constant(noise.clone()),
            Reduction::Sum,
        )
        .map_err(unwrap_autograd)
    });
    // the kink: every pre-activation of a LeakyReLU at this point, away from 0
    let param = |name: &str| {
        let mut found = None;
        vae.visit_params(&mut |n, p| {
            if n == name {
                found = Some(p.value().to_owned());
            }
        });
        found.unwrap_or_else(|| panic!("no parameter {name}"))
    };
    let affine = |x: &Array2<f64>, layer: &str| {
        let w = param(&format!("{layer}.weight"))
            .into_dimensionality::<Ix2>()
            .unwrap();
        let b = param(&format!("{layer}.bias"))
            .into_dimensionality::<Ix1>()
            .unwrap();
        x.dot(&w.t()) + &b
    };
    let x = clothes.clone().into_dimensionality::<Ix2>().unwrap();
    let mut pre = vec![affine(&x, "encoder")];
    let tape = Tape::<f64>::new();
    let ctx = Ctx::eval(&tape);
    let q = vae.encode(&ctx, tape.constant(x.clone())).unwrap();
    let z = reparameterize(&q, tape.constant(noise.clone()))
        .unwrap()
        .value()
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_owned();
    pre.push(affine(&z, "clothes_decoder.0"));
    pre.push(affine(&z, "digit_decoder.0"));
    let closest = pre
        .iter()
        .flatten()
        .fold(f64::INFINITY, |m, v| m.min(v.abs()));
    assert!(
        closest > 1e-3,
        "a pre-activation at {closest}: move the test point"
    );
    check_both("VAE ELBO", &f, &params);
}

/// A VAE with hand-set weights (input 2, hidden 1, latent 1): encoder `h = leaky(x₁ + x₂)`,
/// `μ = h`, digit decoder `a = leaky(μ)`, logits `(2a, 1 − a)`. For `x = (0.5, 0.25)`:
/// `μ = a = 0.75`, `φ(x) = (σ(1.5), σ(0.25))`; for `x = (−1, 0)`: `h = μ = −0.01`,
/// `a = −0.0001`, `φ(x) = (σ(−0.0002), σ(1.0001))`.
#[test]
fn the_vae_map_matches_a_hand_computation() {
    let config = VaeConfig {
        input_dim: 2,
        hidden: 1,
        latent: 1,
        prior_std: 1.0,
    };
    let mut vae = Vae::<f64>::new(config, &mut StdRng::seed_from_u64(0)).unwrap();
    vae.visit_params_mut(&mut |name, p| {
        let value: ArrayD<f64> = match name {
            "encoder.weight" => array![[1.0, 1.0]].into_dyn(),
            "mean.weight" | "digit_decoder.0.weight" => array![[1.0]].into_dyn(),
            "digit_decoder.2.weight" => array![[2.0], [-1.0]].into_dyn(),
            "digit_decoder.2.bias" => array![0.0, 1.0].into_dyn(),
            _ => ArrayD::zeros(p.shape()),
        };
        p.set(value).unwrap();
    });
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let x = array![[0.5, 0.25], [-1.0, 0.0]];
    let want = array![
        [sigmoid(1.5), sigmoid(0.25)],
        [sigmoid(-0.0002), sigmoid(1.0001)]
    ];
    let map = VaeMap {
        vae: &vae,
        mode: VaeMapMode::Mean,
    };
    let mut rng = StdRng::seed_from_u64(1);
    let got = map.apply(x.view(), &mut rng).unwrap();
    for (g, w) in got.iter().zip(&want) {
        // a handful of f64 ops: a few ulps
        assert!((g - w).abs() < 1e-14, "{got} vs {want}");
    }
    // the module's forward pass is the same map
    let tape = Tape::<f64>::new();
    let ctx = Ctx::eval(&tape);
    let forward = vae.forward(&ctx, tape.constant(x.clone())).unwrap().value();
    assert_eq!(forward.into_dimensionality().unwrap(), got);
    assert_eq!(map.output_dim(2).unwrap(), 2);
    assert!(map.output_dim(784).is_err());
}

#[test]
fn generated_images_have_their_shapes_and_are_intensities() {
    let vae = Vae::<f32>::new(tiny(), &mut StdRng::seed_from_u64(3)).unwrap();
    let x = Array2::from_shape_fn((4, 5), |(i, j)| ((i + j) % 3) as f32 / 2.0);
    let mut rng = StdRng::seed_from_u64(4);
    let recon = vae.reconstruct(x.view(), Decoder::Clothes).unwrap();
    assert_eq!(recon.dim(), (4, 5));
    let samples = vae.sample(x.view(), Decoder::Digits, 3, &mut rng).unwrap();
    assert_eq!(samples.dim(), (12, 5));
    assert!(samples.iter().all(|&v| v > 0.0 && v < 1.0));
    // samples of one image differ (the latent is sampled), the mean map does not
    assert_ne!(samples.row(0), samples.row(1));
    let sampled_map = VaeMap {
        vae: &vae,
        mode: VaeMapMode::Sample,
    };
    assert_eq!(sampled_map.apply(x.view(), &mut rng).unwrap().dim(), (4, 5));
    let grid = vae
        .decode_latent(Decoder::Digits, Array2::zeros((6, 2)).view())
        .unwrap();
    assert_eq!(grid.dim(), (6, 5));
    assert!(vae
        .decode_latent(Decoder::Digits, Array2::zeros((6, 3)).view())
        .is_err());

    let clothes = Dataset::new(x, array![0, 1, 2, 1]).unwrap();
    let synthetic = synthetic_digits(&vae, &clothes, 3, &mut rng).unwrap();
    assert_eq!(synthetic.len(), 12);
    assert_eq!(synthetic.y().to_vec(), [0, 0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1]);
    assert!(synthetic_digits(&vae, &clothes, 0, &mut rng).is_err());
}

#[test]
fn bad_sizes_are_errors_naming_the_key() {
    let mut rng = StdRng::seed_from_u64(0);
    let err = Vae::<f32>::new(
        VaeConfig {
            latent: 0,
            ..VaeConfig::default()
        },
        &mut rng,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("latent size (latent)") && err.contains("≥ 1"),
        "{err}"
    );
    let err = Vae::<f32>::new(
        VaeConfig {
            prior_std: 0.0,
            ..VaeConfig::default()
        },
        &mut rng,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("(prior_std)") && err.contains("> 0"), "{err}");
}

/// A data slice where the pairing carries information: 4 classes, 16-pixel "clothes" and
/// "digits", each a class prototype (pixels 0.9 / 0.1) with uniform jitter of ±0.05.
fn toy_pairs(n: usize, seed: u64) -> (Dataset<f32>, Array2<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let labels: Vec<usize> = (0..n).map(|i| i % 4).collect();
    let image = |rng: &mut StdRng, c: usize, offset: usize| {
        (0..16)
            .map(|j| {
                let on = (j + offset) % 4 == c;
                (if on { 0.9 } else { 0.1 }) + rng.gen_range(-0.05f32..0.05)
            })
            .collect::<Vec<f32>>()
    };
    let clothes: Vec<f32> = labels.iter().flat_map(|&c| image(&mut rng, c, 0)).collect();
    let digits: Vec<f32> = labels.iter().flat_map(|&c| image(&mut rng, c, 1)).collect();
    let x = Array2::from_shape_vec((n, 16), clothes).unwrap();
    let d = Array2::from_shape_vec((n, 16), digits).unwrap();
    (Dataset::new(x, labels.into()).unwrap(), d)
}

/// The mean one-sample ELBO over the slice with 8 fixed noise draws, and its Monte-Carlo
/// standard error (the spread of the 8 draw means over √8).
fn mean_elbo(vae: &Vae<f32>, data: &Dataset<f32>, digits: &Array2<f32>) -> (f64, f64) {
    let mut rng = StdRng::seed_from_u64(99);
    let draws: Vec<f64> = (0..8)
        .map(|_| {
            let tape = Tape::new();
            let ctx = Ctx::eval(&tape);
            let noise = vae.draw_noise(data.len(), &mut rng);
            vae.elbo(
                &ctx,
                ctx.input(data.x().clone()),
                ctx.input(digits.clone()),
                ctx.input(noise),
                Reduction::Mean,
            )
            .unwrap()
            .item()
            .unwrap() as f64
        })
        .collect();
    let mean = draws.iter().sum::<f64>() / 8.0;
    let var = draws.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 7.0;
    (mean, (var / 8.0).sqrt())
}

/// 30 epochs of Adam on 256 paired toy images: the ELBO rises by far more than its Monte-Carlo
/// standard error (20 of them), and the digit map has learned the pairing: `φ(clothes of
/// class c)` is closer to the class-`c` digit prototype than to any other.
#[test]
fn the_elbo_rises_during_a_short_training_and_phi_learns_the_pairing() {
    let (data, digits) = toy_pairs(256, 5);
    let mut vae = Vae::<f32>::new(
        VaeConfig {
            input_dim: 16,
            hidden: 32,
            latent: 4,
            prior_std: 1.0,
        },
        &mut StdRng::seed_from_u64(6),
    )
    .unwrap();
    let (before, se_before) = mean_elbo(&vae, &data, &digits);
    let mut adam = Adam::new(AdamConfig::adam(1e-2)).unwrap();
    let config = TrainConfig {
        epochs: 30,
        batch_size: 32,
        seed: 7,
        ..TrainConfig::default()
    };
    let loss = PairedElbo {
        digits: digits.clone(),
    };
    let reports = fit(
        &mut vae,
        &mut adam,
        &loss,
        &data,
        None,
        &config,
        &mut Silent,
    )
    .unwrap();
    let (after, se_after) = mean_elbo(&vae, &data, &digits);
    let margin = 20.0 * (se_before.powi(2) + se_after.powi(2)).sqrt();
    assert!(
        after > before + margin,
        "ELBO {before:.3} → {after:.3} (margin {margin:.3})"
    );
    assert!(reports.last().unwrap().train_loss < reports[0].train_loss);

    let phi = vae.reconstruct(data.x().view(), Decoder::Digits).unwrap();
    for (row, &c) in phi.axis_iter(Axis(0)).zip(data.y()) {
        let distance = |class: usize| {
            row.iter()
                .enumerate()
                .map(|(j, &v)| {
                    let p = if (j + 1) % 4 == class { 0.9 } else { 0.1 };
                    (v - p).powi(2)
                })
                .sum::<f32>()
        };
        let nearest = (0..4)
            .min_by(|&a, &b| distance(a).total_cmp(&distance(b)))
            .unwrap();
        assert_eq!(nearest, c, "φ of a class-{c} image looks like a {nearest}");
    }
}

proptest! {
    /// Every clothes image gets a digit of its own class index, whatever the labels.
    #[test]
    fn pairing_picks_a_same_class_digit_every_time(
        clothes in prop::collection::vec(0usize..5, 1..60),
        extra in prop::collection::vec(0usize..5, 0..40),
        seed in any::<u64>(),
    ) {
        // every class 0..5 present among the digits, then random extras
        let digits: Vec<usize> = (0..5).chain(extra).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let pairs = pair_by_class(&clothes, &digits, &mut rng).unwrap();
        prop_assert_eq!(pairs.len(), clothes.len());
        for (&c, &d) in clothes.iter().zip(&pairs) {
            prop_assert_eq!(digits[d], c);
        }
    }
}

#[test]
fn pairing_draws_every_digit_of_the_class_and_names_a_missing_class() {
    let digits = [0, 1, 1, 1, 2];
    let clothes = vec![1; 300];
    let mut rng = StdRng::seed_from_u64(0);
    let pairs = pair_by_class(&clothes, &digits, &mut rng).unwrap();
    for d in [1, 2, 3] {
        // 100 expected per digit; with 300 draws each count has std ≈ 8.2
        let count = pairs.iter().filter(|&&p| p == d).count();
        assert!((60..=140).contains(&count), "digit {d}: {count}");
    }
    let err = pair_by_class(&[0, 3, 3], &digits, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no digit of class 3") && err.contains("2 clothes image"),
        "{err}"
    );
}

/// The same on a slice of the real data: 1,000 Fashion-MNIST training images, each paired with
/// an MNIST digit of its class, S1's VAE (latent 64), 3 epochs of Adam: the ELBO rises by more
/// than 20 Monte-Carlo standard errors. Skipped loudly without `DISTILLERY_DATA`.
#[test]
fn the_elbo_rises_on_a_slice_of_the_real_data() {
    use nn::data::discover::RootOrigin;
    use nn::data::{discover_in, load, DatasetId, Part, SearchRoot};

    let Some(root) =
        nn::data::testing::real_data_root("the_elbo_rises_on_a_slice_of_the_real_data")
    else {
        return;
    };
    let found = discover_in(vec![SearchRoot {
        origin: RootOrigin::EnvVar,
        path: root,
    }]);
    let clothes = load::<f32>(found.fashion_mnist().unwrap(), Part::Train)
        .unwrap()
        .take(1_000);
    let located = found.mnist().unwrap();
    let part = if located.dataset == DatasetId::Mnist10k {
        Part::All
    } else {
        Part::Train
    };
    let digits = load::<f32>(located, part).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let pairs = pair_by_class(
        clothes.y().as_slice().unwrap(),
        digits.y().as_slice().unwrap(),
        &mut rng,
    )
    .unwrap();
    let paired = digits.x().select(Axis(0), &pairs);
    let mut vae = Vae::<f32>::new(VaeConfig::default(), &mut rng).unwrap();
    let (before, se_before) = mean_elbo(&vae, &clothes, &paired);
    let mut adam = Adam::new(AdamConfig::adam(1e-3)).unwrap();
    let config = TrainConfig {
        epochs: 3,
        batch_size: 64,
        seed: 12,
        ..TrainConfig::default()
    };
    let loss = PairedElbo {
        digits: paired.clone(),
    };
    fit(
        &mut vae,
        &mut adam,
        &loss,
        &clothes,
        None,
        &config,
        &mut Silent,
    )
    .unwrap();
    let (after, se_after) = mean_elbo(&vae, &clothes, &paired);
    let margin = 20.0 * (se_before.powi(2) + se_after.powi(2)).sqrt();
    assert!(
        after > before + margin,
        "ELBO {before:.2} → {after:.2} (margin {margin:.2})"
    );
}
