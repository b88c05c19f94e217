//! The normalising-constant theorem (against closed forms derived by hand) and the temperature
//! limits.

use methods::distill::checks::{
    check_high_temperature_gradient, check_high_temperature_limit, check_low_temperature_limit,
    check_normalizing, closed_forms_outcome, hinton_gradient_errors, normalizing_integrals,
    seed_normalizing_constant, theorem_outcome, Domain, NormalizingConfig, TemperatureConfig,
};

/// A smaller configuration for the tests: three cases, K = 2 and 3, all `g_k ≤ 0.8`
/// (`a_k ≥ 0.22`), where the exp-sinh step 1/16 is already exact to ≈ 1e-15 (see the
/// quadrature's unit test), so the tests may use it and run 8× faster in three dimensions.
fn small() -> NormalizingConfig {
    NormalizingConfig {
        cases: vec![vec![0.5, 0.5], vec![0.2, 0.8], vec![0.2, 0.3, 0.5]],
        orthant_step: 1.0 / 16.0,
        ..NormalizingConfig::default()
    }
}

#[test]
fn seed_constant_by_hand() {
    // K = 2, g = (1/2, 1/2): C = (+1)·2^1 / 2^1 · (½ ln ½)² = (ln 2)²/4.
    let c = seed_normalizing_constant(&[0.5, 0.5]);
    assert!((c - 2f64.ln().powi(2) / 4.0).abs() < 1e-16);
    // K = 3, g = (1/3, 1/3, 1/3): C = (−1)³ 3^{3/2}/2³ (⅓ ln ⅓)³ = 3^{3/2}/8 · (ln 3 / 3)³.
    let c = seed_normalizing_constant(&[1.0 / 3.0; 3]);
    let want = 3f64.powf(1.5) / 8.0 * (3f64.ln() / 3.0).powi(3);
    assert!((c - want).abs() < 1e-16 * want.max(1.0) * 10.0);
}

#[test]
fn integrals_match_the_closed_forms_derived_by_hand() {
    let rows = normalizing_integrals(&small()).unwrap();
    assert_eq!(rows.len(), 3 * Domain::ALL.len());
    for r in &rows {
        let k = r.g.len() as f64;
        let a: Vec<f64> = r.g.iter().map(|g| (1.0 / g).ln()).collect();
        // Independent hand forms, written here again rather than read from the library:
        let want = match r.domain {
            // ∫_0^∞ g^s ds = 1/ln(1/g) per axis, so ∫p = K^{K/2} 2^{−K(K−1)/2} Π g_k.
            Domain::Orthant => {
                k.powf(k / 2.0) * 2f64.powf(-k * (k - 1.0) / 2.0) * r.g.iter().product::<f64>()
            }
            // ∫_0^1 g^s ds = (1 − g)/ln(1/g) per axis.
            Domain::UnitCube => {
                r.c * r
                    .g
                    .iter()
                    .zip(&a)
                    .map(|(g, a)| (1.0 - g) / a)
                    .product::<f64>()
            }
            // Σ_k g_k = 1.
            Domain::OneHotVertices => r.c,
            // K = 2: ∫_0^1 e^{−a_1 s − a_2 (1 − s)} ds = (e^{−a_2} − e^{−a_1})/(a_1 − a_2)
            //   = (g_2 − g_1)/(a_1 − a_2), or e^{−a} when a_1 = a_2.
            // K = 3 (distinct a): Σ_k e^{−a_k} / Π_{j≠k} (a_j − a_k).
            Domain::Simplex => {
                let inner = if a.len() == 2 && a[0] == a[1] {
                    r.g[0]
                } else if a.len() == 2 {
                    (r.g[1] - r.g[0]) / (a[0] - a[1])
                } else {
                    (0..3)
                        .map(|kk| {
                            let den: f64 =
                                (0..3).filter(|&j| j != kk).map(|j| a[j] - a[kk]).product();
                            r.g[kk] / den
                        })
                        .sum()
                };
                r.c * inner
            }
        };
        // The fine quadrature is within ≈ 1e-10 relative (NormalizingConfig::tolerance).
        assert!(
            (r.numeric - want).abs() <= 1e-8 * want,
            "{:?} at {:?}: quadrature {} vs hand {}",
            r.domain,
            r.g,
            r.numeric,
            want
        );
        assert!(
            (r.closed_form - want).abs() <= 1e-12 * want,
            "{:?}: {} vs {}",
            r.domain,
            r.closed_form,
            want
        );
    }
}

#[test]
fn the_seed_constant_normalises_no_candidate_domain() {
    let [theorem, closed] = check_normalizing(&small()).unwrap();
    println!("{theorem}\n{closed}");
    assert!(!theorem.passed, "{theorem}");
    assert!(theorem.detail.contains("does not hold"));
    assert!(closed.passed, "{closed}");
    // K = 2, g = (½, ½): the orthant integral is 2^{1}·2^{−1}·¼ = ¼.
    let rows = normalizing_integrals(&small()).unwrap();
    // The verdict is computed, not hard-wired: with a tolerance of 1 (|∫p − 1| ≤ 1 holds for
    // every positive integral below 2) the statement "holds".
    assert!(theorem_outcome(&rows, 1.0).passed);
    let orthant = rows
        .iter()
        .find(|r| r.domain == Domain::Orthant && r.g == [0.5, 0.5])
        .unwrap();
    assert!((orthant.numeric - 0.25).abs() < 1e-9);
}

#[test]
fn closed_forms_check_rejects_a_too_coarse_rule() {
    // One Gauss–Legendre node per panel and a coarse exp-sinh step: far from the closed forms.
    let coarse = NormalizingConfig {
        nodes: 1,
        panels: 2,
        orthant_step: 1.0,
        ..small()
    };
    let rows = normalizing_integrals(&coarse).unwrap();
    assert!(!closed_forms_outcome(&rows, coarse.tolerance).passed);
}

#[test]
fn softmax_limits_hold() {
    let cfg = TemperatureConfig::default();
    for outcome in [
        check_low_temperature_limit(&cfg).unwrap(),
        check_high_temperature_limit(&cfg).unwrap(),
    ] {
        println!("{outcome}");
        assert!(outcome.passed, "{outcome}");
    }
    // A tie for the maximum has no one-hot limit: refused.
    let tie = TemperatureConfig {
        logits: vec![1.0, 1.0, 0.0],
        ..cfg
    };
    assert!(check_low_temperature_limit(&tie).is_err());
}

#[test]
fn hinton_gradient_error_shrinks_like_one_over_t() {
    let cfg = TemperatureConfig::default();
    let outcome = check_high_temperature_gradient(&cfg).unwrap();
    println!("{outcome}");
    assert!(outcome.passed, "{outcome}");
    let (rows, c1) = hinton_gradient_errors(&cfg).unwrap();
    // T·error converges to the predicted c₁: the gap shrinks from T = 10 to 20 to 50.
    let gap = |t: f64| {
        let r = rows.iter().find(|r| r.temperature == t).unwrap();
        (t * r.relative_error - c1).abs()
    };
    assert!(gap(50.0) < gap(20.0) && gap(20.0) < gap(10.0));
}

#[test]
fn hinton_gradient_check_fails_where_the_approximation_does_not_apply() {
    // The approximation is a high-temperature one: at T = 0.5 and 1 the error is O(1) and does
    // not fall like 1/T, so the check must not pass.
    let cfg = TemperatureConfig {
        gradient_temperatures: vec![0.5, 1.0],
        ..TemperatureConfig::default()
    };
    assert!(!check_high_temperature_gradient(&cfg).unwrap().passed);
}

/// The reports `distillery verify` will print (default configurations, ≈ 3 s): every property
/// holds; of the seed's claims, the regression theorem holds and the normalising constant does
/// not. `--nocapture` shows the reports.
#[test]
fn run_all_reports_every_check() {
    use methods::distill::checks::run_all;
    use methods::distill::CheckKind;
    let outcomes = run_all().unwrap();
    for outcome in &outcomes {
        println!("{outcome}");
    }
    let names: Vec<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "s4-regression-theorem",
            "s4-normalizing-constant",
            "s4-normalizing-closed-forms",
            "softmax-low-temperature",
            "softmax-high-temperature",
            "hinton-high-temperature-gradient"
        ]
    );
    for o in &outcomes {
        match (o.kind, o.name.as_str()) {
            (CheckKind::SeedClaim, "s4-normalizing-constant") => assert!(!o.passed, "{o}"),
            (CheckKind::SeedClaim, "s4-regression-theorem") | (CheckKind::Property, _) => {
                assert!(o.passed, "{o}")
            }
            _ => panic!("unexpected kind for {}", o.name),
        }
    }
}
