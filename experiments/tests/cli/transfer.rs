//! `transfer` (S0) through the binary: without data, an error naming both data sets; its
//! `--quick` form on the real data from `DISTILLERY_DATA` (loudly SKIPPED without it): the
//! thesis's figures in the report, the plots, shared source models, and the inequalities the
//! per-layer `W1` measurements must obey.

use crate::sandbox::*;

#[test]
fn transfer_without_data_names_both_data_sets() {
    let sb = Sandbox::new();
    let err = sb.fails(&["run", "transfer", "--quick", "--out", "res"]);
    for needle in [
        "experiment transfer cannot run here",
        "Fashion-MNIST is missing; get it with `distillery data fetch fashion-mnist`",
        "MNIST is missing; get it with `distillery data fetch mnist`",
    ] {
        assert!(err.contains(needle), "lacks {needle}: {err}");
    }
}

const METHODS: [&str; 6] = [
    "from scratch",
    "fine-tuning",
    "L2-penalty",
    "L2-SP",
    "DELTA",
    "Wasserstein",
];

#[test]
fn transfer_quick_on_the_real_data() {
    let Some(root) = nn::data::testing::real_data_root("transfer_quick_on_the_real_data") else {
        return;
    };
    let sb = Sandbox::new();
    let root = root.display().to_string();
    let out = sb.ok(&[
        "run",
        "transfer",
        "--quick",
        "--out",
        "res",
        "--data-dir",
        &root,
    ]);
    assert_eq!(out.matches("done: ").count(), 2, "{out}");
    let report = read(&sb.path("res/transfer/report.md"));
    for needle in [
        "Quick protocol",
        "| Wasserstein | fashion to mnist auc |",
        "| L2-SP | mnist to fashion auc rank |",
        // the thesis's AUCs (C101-60 and C256-20) and ranks
        "72.280",
        "71.090",
        "67.450",
        "67.760",
        "42.570",
        "38.680",
        "out of reach",
        "fashion_to_mnist_test_accuracy.svg",
        "mnist_to_fashion_w1_fc1.svg",
    ] {
        assert!(
            report.contains(needle),
            "report.md lacks {needle}:\n{report}"
        );
    }
    let run = |seed: u64| json(&sb.path(&format!("res/transfer/runs/{seed}.json")));
    let (first, second) = (run(0), run(1));
    assert_eq!(first["protocol"], "quick");
    // one source model per domain, shared by the seeds
    assert_eq!(first["models"], second["models"]);
    assert_eq!(first["models"].as_object().unwrap().len(), 2);
    for key in ["fashion_to_mnist", "mnist_to_fashion"] {
        let source = first["finals"]["source model"][format!("{key}_source_test_accuracy")]
            .as_f64()
            .unwrap();
        // one epoch on 5,000 images: far above the 10 % of chance on its own test set
        assert!(source > 50.0, "{key}: source model {source}");
        for method in METHODS {
            let curve = first["curves"][method][format!("{key}_test_accuracy")]
                .as_array()
                .unwrap_or_else(|| panic!("{method}: no {key} curve"));
            assert_eq!(curve.len(), 3, "{method}: one point per quick epoch");
            let auc = first["finals"][method][format!("{key}_auc")]
                .as_f64()
                .unwrap();
            assert!((0.0..=100.0).contains(&auc), "{method}: AUC {auc}");
        }
        let ranks: Vec<f64> = ["L2-penalty", "L2-SP", "DELTA", "Wasserstein"]
            .iter()
            .map(|m| {
                first["finals"][m][format!("{key}_auc_rank")]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        assert!(ranks.contains(&1.0), "{key}: ranks {ranks:?}");
        assert!(ranks.iter().all(|r| (1.0..=4.0).contains(r)), "{ranks:?}");
        for layer in ["conv1", "conv2", "fc1"] {
            let metric = format!("{key}_w1_{layer}");
            let curve = |line: &str| -> Vec<f64> {
                first["curves"][line][&metric]
                    .as_array()
                    .unwrap_or_else(|| panic!("{line}: no {metric}"))
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            };
            let (exact, critic, identity) = (
                curve("Wasserstein"),
                curve("Wasserstein: critic estimate"),
                curve("Wasserstein: identity-plan W̃1"),
            );
            for e in 0..exact.len() {
                // W1 ≤ W̃1 (the identity is one plan), up to the f64 sums' round-off
                assert!(
                    exact[e] <= identity[e] + 1e-9,
                    "{metric}: {exact:?} vs {identity:?}"
                );
                // a 1-Lipschitz critic's dual value on the very clouds is ≤ their W1, up to
                // f32 round-off of values of size ≲ 10 (≲ 1e-4)
                assert!(
                    critic[e] <= exact[e] + 1e-3,
                    "{metric}: {critic:?} vs {exact:?}"
                );
            }
            // fine-tuning moves the encoder off the source: W1 > 0 after an epoch
            assert!(curve("fine-tuning")[0] > 0.0, "{metric}");
        }
    }
}
