//! Training that resumes: a run continued from its saved state ends with the same numbers, bit
//! for bit, as one that was never interrupted; a state that does not match is discarded.

use std::time::Duration;

use nn::data::{Dataset, SoftmaxDataConfig};
use nn::layers::{mlp, Activation, Sequential};
use nn::optim::{Adam, AdamConfig};
use nn::train::{fit, CrossEntropy, EpochReport, Observer, Resume, Silent, TrainConfig};
use nn::Module;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn data() -> (Dataset<f32>, Dataset<f32>) {
    let d = SoftmaxDataConfig::default()
        .generate::<f32, _>(&mut StdRng::seed_from_u64(7))
        .unwrap();
    (d.train, d.test)
}

fn model() -> Sequential<f32> {
    mlp::<f32>(
        &[10, 16, 3],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(3),
    )
}

fn config(epochs: usize, resume: Option<Resume>) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 64,
        seed: 11,
        resume,
        ..TrainConfig::default()
    }
}

/// Counts the reports it receives (restored epochs included).
#[derive(Default)]
struct Seen(Vec<usize>);

impl Observer for Seen {
    fn epoch(&mut self, r: &EpochReport) {
        self.0.push(r.epoch);
    }
}

fn train(
    epochs: usize,
    resume: Option<Resume>,
    seen: &mut dyn Observer,
) -> (Vec<EpochReport>, Vec<f32>) {
    let (train, test) = data();
    let mut m = model();
    let mut adam = Adam::new(AdamConfig::adam(1e-2)).unwrap();
    let reports = fit(
        &mut m,
        &mut adam,
        &CrossEntropy,
        &train,
        Some(&test),
        &config(epochs, resume),
        seen,
    )
    .unwrap();
    let mut params = Vec::new();
    m.visit_params(&mut |_, p| params.extend(p.value().iter().copied()));
    (reports, params)
}

/// An epoch's numbers as bits: epoch, training loss, (accuracy, cross-entropy).
type Bits = (usize, u64, Option<(u64, u64)>);

fn numbers(reports: &[EpochReport]) -> Vec<Bits> {
    reports
        .iter()
        .map(|r| {
            (
                r.epoch,
                r.train_loss.to_bits(),
                r.eval
                    .map(|e| (e.accuracy.to_bits(), e.cross_entropy.to_bits())),
            )
        })
        .collect()
}

fn every_epoch(dir: &std::path::Path, identity: &str) -> Resume {
    Resume {
        interval: Duration::ZERO,
        ..Resume::new(dir, identity)
    }
}

#[test]
fn a_resumed_training_ends_bit_for_bit_as_an_uninterrupted_one() {
    let (reference, reference_params) = train(6, None, &mut Silent);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // The state after 3 epochs is what a 6-epoch run killed after its third epoch leaves.
    let (first, _) = train(3, Some(every_epoch(&state, "run-a")), &mut Silent);
    assert_eq!(numbers(&first), numbers(&reference[..3]));
    assert!(state.join("state.json").is_file());
    assert!(state.join("epoch-3.safetensors").is_file());
    assert!(
        !state.join("epoch-2.safetensors").exists(),
        "older checkpoints are removed"
    );
    let mut seen = Seen::default();
    let (resumed, resumed_params) = train(6, Some(every_epoch(&state, "run-a")), &mut seen);
    // the restored epochs reach the observer too, so curves are rebuilt whole
    assert_eq!(seen.0, [1, 2, 3, 4, 5, 6]);
    assert_eq!(numbers(&resumed), numbers(&reference));
    assert_eq!(resumed_params, reference_params);
}

#[test]
fn a_state_of_another_identity_or_a_broken_one_is_discarded() {
    let (reference, reference_params) = train(4, None, &mut Silent);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    train(2, Some(every_epoch(&state, "config-1")), &mut Silent);
    // another identity: trained from epoch 1, and the result is still the reference
    let mut seen = Seen::default();
    let (r, p) = train(4, Some(every_epoch(&state, "config-2")), &mut seen);
    assert_eq!(seen.0, [1, 2, 3, 4]);
    assert_eq!(
        (numbers(&r), p),
        (numbers(&reference), reference_params.clone())
    );
    // broken JSON
    std::fs::write(state.join("state.json"), b"{ not json").unwrap();
    let (r, p) = train(4, Some(every_epoch(&state, "config-2")), &mut Silent);
    assert_eq!(
        (numbers(&r), p),
        (numbers(&reference), reference_params.clone())
    );
    // a truncated checkpoint
    train(2, Some(every_epoch(&state, "config-3")), &mut Silent);
    let ckpt = state.join("epoch-2.safetensors");
    let bytes = std::fs::read(&ckpt).unwrap();
    std::fs::write(&ckpt, &bytes[..bytes.len() / 2]).unwrap();
    let (r, p) = train(4, Some(every_epoch(&state, "config-3")), &mut Silent);
    assert_eq!((numbers(&r), p), (numbers(&reference), reference_params));
}

#[test]
fn with_the_default_interval_short_epochs_save_only_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // each epoch of this tiny problem takes well under the ten-second interval
    train(3, Some(Resume::new(&state, "x")), &mut Silent);
    let saved: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".safetensors"))
        .collect();
    assert_eq!(saved, ["epoch-3.safetensors"]);
}
