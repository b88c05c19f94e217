//! Tests of the synthetic generators (included by `synthetic.rs`).
//!
//! Distribution checks compare a sample statistic with its expectation within 5 standard
//! errors (a false alarm has probability below 10⁻⁶ per check; the seeds are fixed anyway, so
//! the tests are deterministic). The standard errors used:
//! mean of m N(μ, σ²) draws: σ/√m; sample variance of m normal draws: σ²·√(2/m);
//! a frequency p over m draws: √(p(1−p)/m).

use super::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn mean_var(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = v.clone().count() as f64;
    let mean = v.clone().sum::<f64>() / n;
    (mean, v.map(|x| (x - mean).powi(2)).sum::<f64>() / n)
}

/// Asserts `value` is within 5 standard errors of `expected`.
fn within_5se(what: &str, value: f64, expected: f64, se: f64) {
    assert!(
        (value - expected).abs() <= 5.0 * se,
        "{what}: {value} is more than 5 SE ({se}) from {expected}"
    );
}

#[test]
fn defaults_follow_methods_md() {
    let s = SoftmaxDataConfig::default();
    assert_eq!(
        (s.n_features, s.n_classes, s.m_train, s.m_test),
        (10, 3, 1000, 100)
    );
    let r = LinearRegressionConfig::default();
    assert_eq!(
        (r.n_features, r.m_train, r.m_test, r.noise_variance),
        (10, 900, 124, 0.1)
    );
}

#[test]
fn generators_are_deterministic_per_seed_and_precision_independent() {
    let a: SignData<f64> = SignDataConfig::default().generate(&mut rng(1)).unwrap();
    let b: SignData<f64> = SignDataConfig::default().generate(&mut rng(1)).unwrap();
    let c: SignData<f64> = SignDataConfig::default().generate(&mut rng(2)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.teacher.x(), c.teacher.x());
    let a32: SignData<f32> = SignDataConfig::default().generate(&mut rng(1)).unwrap();
    assert_eq!(a32.test.x(), &a.test.x().mapv(|v| v as f32));

    let s = SoftmaxDataConfig::default();
    let (p, q): (SoftmaxData<f64>, SoftmaxData<f64>) = (
        s.generate(&mut rng(5)).unwrap(),
        s.generate(&mut rng(5)).unwrap(),
    );
    assert_eq!(p, q);
    let p32: SoftmaxData<f32> = s.generate(&mut rng(5)).unwrap();
    assert_eq!(p32.train.y(), p.train.y());
    assert_ne!(p.w, s.generate::<f64, _>(&mut rng(6)).unwrap().w);

    let r = LinearRegressionConfig::default();
    let (u, v): (RegressionData<f64>, RegressionData<f64>) = (
        r.generate(&mut rng(9)).unwrap(),
        r.generate(&mut rng(9)).unwrap(),
    );
    assert_eq!(u, v);
    assert_eq!((u.train.len(), u.test.len(), u.train.dim()), (900, 124, 10));
}

#[test]
fn sign_data_has_the_stated_distribution() {
    let m = 20_000;
    let d: Dataset<f64> = sign_samples(m, 0.5, &mut rng(3)).unwrap();
    let col = |j: usize| d.x().column(j).to_owned();
    for j in 0..2 {
        let c = col(j);
        let (mean, var) = mean_var(c.iter().copied());
        within_5se("mean of x", mean, 0.0, (1.0 / m as f64).sqrt());
        within_5se("variance of x", var, 1.0, (2.0 / m as f64).sqrt());
    }
    // x3 is exactly the indicator that both signs are positive: P = 1/4.
    for row in d.x().rows() {
        assert_eq!(
            row[2],
            if row[0] > 0.0 && row[1] > 0.0 {
                1.0
            } else {
                0.0
            }
        );
    }
    let p3 = col(2).sum() / m as f64;
    within_5se("P(x3 = 1)", p3, 0.25, (0.25 * 0.75 / m as f64).sqrt());
    // x1·x2 and δ are symmetric about 0, so P(y = 1) = 1/2.
    let p1 = d.y().iter().filter(|&&y| y == 1).count() as f64 / m as f64;
    within_5se("P(y = 1)", p1, 0.5, (0.25 / m as f64).sqrt());
    // Agreement with the noiseless rule sign(x1 x2): E[Φ(|x1 x2| / σ_δ)] = 0.7687 ± 0.0007 by an
    // independent Monte Carlo of 4·10⁵ draws; its own error is added to the tolerance.
    let agree = d
        .x()
        .rows()
        .into_iter()
        .zip(d.y())
        .filter(|(r, &y)| usize::from(r[0] * r[1] > 0.0) == y)
        .count() as f64
        / m as f64;
    let se = (0.7687f64 * 0.2313 / m as f64).sqrt();
    assert!(
        (agree - 0.7687).abs() <= 5.0 * se + 0.002,
        "agreement {agree}"
    );
    assert_eq!(d.class_counts().len(), 2);
}

#[test]
fn sign_data_without_noise_is_the_sign_of_the_product() {
    let d: Dataset<f64> = sign_samples(500, 0.0, &mut rng(4)).unwrap();
    for (r, &y) in d.x().rows().into_iter().zip(d.y()) {
        assert_eq!(y, usize::from(r[0] * r[1] > 0.0));
    }
    assert!(sign_samples::<f64, _>(5, -1.0, &mut rng(4)).is_err());
    assert!(sign_samples::<f64, _>(5, f64::NAN, &mut rng(4)).is_err());
}

#[test]
fn softmax_data_keeps_the_true_probabilities_and_samples_from_them() {
    let cfg = SoftmaxDataConfig {
        n_features: 40,
        n_classes: 25,
        m_train: 20_000,
        m_test: 10,
    };
    let d: SoftmaxData<f64> = cfg.generate(&mut rng(7)).unwrap();
    // W: 1000 N(0, 1) entries.
    let (mean, var) = mean_var(d.w.iter().copied());
    within_5se("mean of W", mean, 0.0, (1.0f64 / 1000.0).sqrt());
    within_5se("variance of W", var, 1.0, (2.0f64 / 1000.0).sqrt());
    // S is softmax(X W), recomputed here directly from the definition.
    let z = d.train.x().dot(&d.w);
    for (zi, si) in z.rows().into_iter().zip(d.train_probs.rows()) {
        let denom: f64 = zi.iter().map(|v| v.exp()).sum();
        for (zk, sk) in zi.iter().zip(si) {
            assert!((zk.exp() / denom - sk).abs() < 1e-12);
        }
    }
    // For each class, Σ_i (1{y_i = k} − s_ik) has mean 0 and variance Σ_i s_ik (1 − s_ik).
    for k in 0..cfg.n_classes {
        let (mut dev, mut var) = (0.0, 0.0);
        for (&y, s) in d.train.y().iter().zip(d.train_probs.column(k)) {
            dev += f64::from(u8::from(y == k)) - s;
            var += s * (1.0 - s);
        }
        within_5se("label frequency − probability", dev, 0.0, var.sqrt());
    }
    assert_eq!(d.test_probs.dim(), (10, 25));
    assert_eq!(d.train.num_classes(), 25);
}

#[test]
fn softmax_config_errors() {
    let bad = SoftmaxDataConfig {
        n_classes: 0,
        ..Default::default()
    };
    assert!(bad.generate::<f64, _>(&mut rng(0)).is_err());
}

#[test]
fn regression_noise_has_variance_beta() {
    let cfg = LinearRegressionConfig {
        m_train: 20_000,
        ..Default::default()
    };
    let d: RegressionData<f64> = cfg.generate(&mut rng(8)).unwrap();
    let residuals = d.train.y() - &d.train.x().dot(&d.w);
    let m = residuals.len() as f64;
    let (mean, var) = mean_var(residuals.iter().copied());
    within_5se("mean of ε", mean, 0.0, (0.1 / m).sqrt());
    // β = 0.1 is the variance: reading it as a standard deviation would give 0.01 here.
    within_5se("variance of ε", var, 0.1, 0.1 * (2.0 / m).sqrt());
    let (wm, wv) = mean_var(d.train.x().iter().copied());
    within_5se("mean of X", wm, 0.0, (1.0 / (m * 10.0)).sqrt());
    within_5se("variance of X", wv, 1.0, (2.0 / (m * 10.0)).sqrt());
    let bad = LinearRegressionConfig {
        noise_variance: -0.1,
        ..Default::default()
    };
    assert!(bad.generate::<f64, _>(&mut rng(0)).is_err());
}
