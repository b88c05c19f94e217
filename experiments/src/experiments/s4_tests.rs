//! In-process tests of the S4 experiments: the batch loss's lookup of teacher answers, the
//! pairing of lines, the oracle's bound, the privileged grid's built-in zero row, the report
//! rows against the line names, the Twitter subsample.

use std::io::Write as _;

use autograd::Tape;
use methods::distill::{prob_distill_loss, IndexSet, LogNormalizer, ProbDistillConfig};
use ndarray::{array, Array2};
use nn::data::{discover_in, Dataset};
use nn::layers::Linear;
use nn::train::{Batch, BatchLoss};
use nn::{Ctx, Module};
use rand::SeedableRng;

use super::privileged_synthetic::{
    alone, taught, PrivilegedSynthetic, PrivilegedSyntheticConfig, ROWS,
};
use super::prob_distill_synthetic::{ProbDistillSynthetic, ProbDistillSyntheticConfig};
use super::prob_distill_twitter::sample_tweets;
use super::s4_common::ProbDistillBatch;
use crate::experiment::subset;
use crate::experiment::{Experiment, Progress, RunContext, RunRecord};
use nn::store::ModelStore;

fn run<E: Experiment>(exp: &E, config: &E::Config, seed: u64) -> RunRecord {
    let nothing = discover_in(Vec::new());
    let models = tempfile::tempdir().unwrap();
    let store = ModelStore::new(models.path());
    exp.run(
        config,
        seed,
        &RunContext::new(&nothing, &store, None),
        &mut Progress::hidden(),
    )
    .unwrap()
}

#[test]
fn the_batch_loss_looks_teacher_answers_up_by_sample_index() {
    // Four training objects, I = [1, 3]; answers one row per element of I, in I's order.
    let answers = array![[0.7f32, 0.2, 0.1], [0.1, 0.3, 0.6]];
    let config = ProbDistillConfig {
        lambda: 0.6,
        temperature: 2.0,
        log_normalizer: LogNormalizer::Include { epsilon: 1e-3 },
        reduction: methods::distill::Reduction::Mean,
    };
    let loss = ProbDistillBatch {
        answers: answers.clone(),
        index: IndexSet::from_indices(4, &[1, 3]).unwrap(),
        config,
    };
    let model = Linear::<f32>::new(2, 3, true, &mut rand::rngs::StdRng::seed_from_u64(1));
    // A batch of objects 3, 0, 1: batch positions 0 and 2 are in I, with the answers of
    // objects 3 and 1 (rows 1 and 0), in that order.
    let x = array![[1.0f32, -2.0], [0.5, 0.5], [-1.0, 3.0]];
    let labels = vec![2, 0, 1];
    let tape = Tape::new();
    let ctx = Ctx::train(&tape, 0);
    let batch = Batch {
        x: x.clone(),
        labels: labels.clone(),
        indices: &[3, 0, 1],
    };
    let got = loss.loss(&model, &ctx, &batch).unwrap().item().unwrap();
    let logits = model.forward(&ctx, ctx.input(x)).unwrap();
    let expected_answers = array![[0.1f32, 0.3, 0.6], [0.7, 0.2, 0.1]];
    let in_batch = IndexSet::from_indices(3, &[0, 2]).unwrap();
    let expected = prob_distill_loss(
        logits,
        &labels,
        ctx.input(expected_answers),
        &in_batch,
        &config,
    )
    .unwrap()
    .item()
    .unwrap();
    assert_eq!(got, expected);
    // The answers in the stored order would give another value: the lookup matters.
    let wrong = prob_distill_loss(logits, &labels, ctx.input(answers), &in_batch, &config)
        .unwrap()
        .item()
        .unwrap();
    assert!((got - wrong).abs() > 1e-3, "{got} vs {wrong}");
}

fn quick_synthetic() -> ProbDistillSyntheticConfig {
    ProbDistillSynthetic.quick_config()
}

#[test]
fn synthetic_lines_are_paired_and_lambda_zero_is_the_student_alone() {
    let config = ProbDistillSyntheticConfig {
        lambda: 0.0,
        authors_code_line: false,
        ..quick_synthetic()
    };
    let r = run(&ProbDistillSynthetic, &config, 3);
    let (alone, taught) = (&r.curves["without teacher"], &r.curves["with teacher"]);
    for metric in ["test_accuracy", "test_cross_entropy"] {
        assert_eq!(alone[metric].len(), config.epochs);
        for (a, b) in alone[metric].iter().zip(&taught[metric]) {
            // the same objective by another composition of ops: equal up to f32 rounding
            assert!((a - b).abs() < 1e-5, "{metric}: {a} vs {b}");
        }
    }
    assert!(!r.curves.contains_key("with teacher (authors' code)"));
}

#[test]
fn synthetic_teacher_changes_the_student_and_no_student_beats_the_true_probabilities() {
    // 5,000 test samples: the cross-entropy against the sampled labels is then within ~0.02
    // of its expectation, the cross-entropy against the true probabilities.
    let config = ProbDistillSyntheticConfig {
        m_test: 5_000,
        ..quick_synthetic()
    };
    let r = run(&ProbDistillSynthetic, &config, 0);
    let last = |line: &str, metric: &str| *r.curves[line][metric].last().unwrap();
    for line in [
        "without teacher",
        "with teacher",
        "with teacher (authors' code)",
        "true probabilities (oracle)",
    ] {
        let sampled = r.final_value(line, "test_cross_entropy").unwrap();
        let expected = r.final_value(line, "true_cross_entropy").unwrap();
        assert!(
            (sampled - expected).abs() < 0.05,
            "{line}: {sampled} vs {expected}"
        );
    }
    for line in [
        "without teacher",
        "with teacher",
        "with teacher (authors' code)",
    ] {
        for metric in ["test_accuracy", "test_cross_entropy"] {
            assert_eq!(r.final_value(line, metric), Some(last(line, metric)));
        }
        // Gibbs: −Σ S log g ≥ −Σ S log S for every test object.
        let student = r.final_value(line, "true_cross_entropy").unwrap();
        let oracle = r
            .final_value("true probabilities (oracle)", "true_cross_entropy")
            .unwrap();
        assert!(oracle <= student, "{line}: {student} < oracle {oracle}");
    }
    let ce = |line| last(line, "test_cross_entropy");
    assert!((ce("with teacher") - ce("without teacher")).abs() > 1e-4);
    let acc = r
        .final_value("true probabilities (oracle)", "test_accuracy")
        .unwrap();
    assert!((0.5..=1.0).contains(&acc), "{acc}");
}

#[test]
fn privileged_lambda_zero_gains_nothing_and_gains_are_differences() {
    let config = PrivilegedSyntheticConfig {
        curve_temperature: 1.0,
        ..PrivilegedSynthetic.quick_config()
    };
    let r = run(&PrivilegedSynthetic, &config, 1);
    for &nu in &config.noise_levels {
        let base = |m| r.final_value(&alone(nu), m).unwrap();
        for &t in &config.temperatures {
            let zero = taught(nu, 0.0, t);
            assert_eq!(r.final_value(&zero, "accuracy_gain"), Some(0.0), "{zero}");
            assert_eq!(
                r.final_value(&zero, "cross_entropy_gain"),
                Some(0.0),
                "{zero}"
            );
            for &lambda in &config.lambdas {
                let line = taught(nu, lambda, t);
                let acc = r.final_value(&line, "test_accuracy").unwrap();
                let ce = r.final_value(&line, "test_cross_entropy").unwrap();
                let gain = r.final_value(&line, "accuracy_gain").unwrap();
                assert_eq!(gain, acc - base("test_accuracy"), "{line}");
                let ce_gain = r.final_value(&line, "cross_entropy_gain").unwrap();
                assert_eq!(ce_gain, base("test_cross_entropy") - ce, "{line}");
                // curves only for the plotted setting
                let plotted = lambda == config.curve_lambda && t == config.curve_temperature;
                assert_eq!(r.curves.contains_key(&line), plotted, "{line}");
            }
        }
    }
    let taught_somewhere = config.noise_levels.iter().any(|&nu| {
        r.final_value(&taught(nu, 1.0, 5.0), "accuracy_gain") != Some(0.0)
            || r.final_value(&taught(nu, 1.0, 5.0), "cross_entropy_gain") != Some(0.0)
    });
    assert!(taught_somewhere, "λ = 1 changed nothing");
    assert!(
        r.final_value("teacher (on clean x*)", "test_accuracy")
            .unwrap()
            > 0.6
    );
}

#[test]
fn privileged_report_rows_and_heat_maps_name_existing_lines() {
    let config = PrivilegedSyntheticConfig::default();
    let mut lines = vec!["teacher (on clean x*)".to_owned()];
    for &nu in &config.noise_levels {
        lines.push(alone(nu));
        lines.push(taught(nu, config.curve_lambda, config.curve_temperature));
    }
    let rows: Vec<String> = ROWS.iter().map(|(_, line)| line.to_string()).collect();
    assert_eq!(rows, lines);
    let maps = PrivilegedSynthetic.heatmaps(&config);
    assert_eq!(maps.len(), 2 * config.noise_levels.len());
    for m in &maps {
        assert_eq!(m.lines.len(), config.lambdas.len());
        assert_eq!(m.y_ticks.len(), config.lambdas.len());
        assert_eq!(m.x_ticks.len(), config.temperatures.len());
        assert!(m.lines.iter().all(|r| r.len() == config.temperatures.len()));
    }
    assert_eq!(maps[2].lines[1][2], taught(1.0, 0.25, 5.0));
    let bad = PrivilegedSyntheticConfig {
        lambdas: vec![0.5, 1.5],
        ..config.clone()
    };
    let err = PrivilegedSynthetic.check_config(&bad).unwrap_err();
    assert_eq!(err.key, "lambdas");
    let empty = PrivilegedSyntheticConfig {
        temperatures: Vec::new(),
        ..config
    };
    assert_eq!(
        PrivilegedSynthetic.check_config(&empty).unwrap_err().key,
        "temperatures"
    );
}

/// A Sentiment140-like file: `negatives` rows of polarity 0, then `positives` of 4 (sorted by
/// label, as the real file), with one neutral row in between.
fn write_tweets(path: &std::path::Path, negatives: usize, positives: usize) {
    let mut f = std::fs::File::create(path).unwrap();
    let mut row = |polarity: u8, i: usize, text: &str| {
        writeln!(
            f,
            "\"{polarity}\",\"{i}\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u{i}\",\"{text} {i}\""
        )
        .unwrap();
    };
    for i in 0..negatives {
        row(0, i, "so sad and tired, i hate mondays");
    }
    row(2, negatives, "a neutral line");
    for i in 0..positives {
        row(4, negatives + 1 + i, "what a great happy day, love it");
    }
}

#[test]
fn the_twitter_sample_is_uniform_over_a_sorted_file_and_skips_neutral_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    write_tweets(&path, 500, 500);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (kept, seen) = sample_tweets(&path, 100, &mut rng).unwrap();
    assert_eq!((kept.len(), seen), (100, 1000));
    let positives = kept.iter().filter(|t| t.text.starts_with("what")).count();
    // hypergeometric: mean 50, sd ≈ 4.8; the head of the file would give 0
    assert!((30..=70).contains(&positives), "{positives}");
    let mut lines: Vec<usize> = kept.iter().map(|t| t.line).collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), 100);
    assert!(kept.iter().all(|t| t.polarity.binary_label().is_some()));
    // More asked than there are: all of them.
    let (all, _) = sample_tweets(&path, 5000, &mut rng).unwrap();
    assert_eq!(all.len(), 1000);
    // ... in random order: the first quarter (the test split) is not all negative.
    let head = all[..250]
        .iter()
        .filter(|t| t.text.starts_with("what"))
        .count();
    assert!((80..=170).contains(&head), "{head}");
}

#[test]
fn a_fashion_subset_is_all_or_a_random_part() {
    let x = Array2::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as f32);
    let data = Dataset::new(x, (0..10).map(|i| i % 3).collect()).unwrap();
    assert_eq!(subset(data.clone(), 10, 0, "s").unwrap(), data);
    assert_eq!(subset(data.clone(), 99, 0, "s").unwrap(), data);
    let part = subset(data.clone(), 4, 0, "s").unwrap();
    assert_eq!(part.len(), 4);
    assert_eq!(part, subset(data.clone(), 4, 0, "s").unwrap());
    assert_ne!(part, data.take(4), "a random part, not the head");
}
