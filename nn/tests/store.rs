//! The model store: a model is trained once and loaded after; its identity decides which
//! stored model is used; a stored model that is damaged or does not match is retrained with a
//! warning, never used.

use std::cell::Cell;
use std::path::Path;

use nn::data::{DataFile, Dataset, SoftmaxDataConfig};
use nn::layers::{mlp, Activation, Sequential};
use nn::optim::{Sgd, SgdConfig};
use nn::store::{ModelIdentity, ModelStore, Origin, StoredModel, TrainingRecord};
use nn::train::{evaluate, fit, CrossEntropy, Silent, TrainConfig};
use nn::Module;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

#[derive(Serialize)]
struct Training {
    epochs: usize,
    learning_rate: f64,
}

const TRAINING: Training = Training {
    epochs: 2,
    learning_rate: 0.1,
};

fn data() -> (Dataset<f64>, Dataset<f64>) {
    let d = SoftmaxDataConfig::default()
        .generate::<f64, _>(&mut StdRng::seed_from_u64(5))
        .unwrap();
    (d.train, d.test)
}

fn fresh(seed: u64) -> Sequential<f64> {
    mlp::<f64>(
        &[10, 8, 3],
        Activation::Tanh,
        true,
        &mut StdRng::seed_from_u64(seed),
    )
}

fn identity(seed: u64, training: &Training, data: &str) -> ModelIdentity {
    ModelIdentity::of(
        "teacher",
        "MLP 10-8-3, tanh, biases",
        &fresh(seed),
        training,
        seed,
        vec![DataFile::generated("softmax", data)],
    )
    .unwrap()
}

/// Gets the model of `id` from `store`, counting trainings in `trained`.
fn get(
    store: &ModelStore,
    id: &ModelIdentity,
    trained: &Cell<usize>,
) -> StoredModel<Sequential<f64>> {
    store
        .get_or_train(id, fresh(id.seed), |model, resume| {
            trained.set(trained.get() + 1);
            let (train, test) = data();
            let mut sgd = Sgd::new(SgdConfig::new(TRAINING.learning_rate)).unwrap();
            let config = TrainConfig {
                epochs: TRAINING.epochs,
                batch_size: 50,
                seed: id.seed,
                resume: Some(resume),
                ..TrainConfig::default()
            };
            let curve = fit(
                model,
                &mut sgd,
                &CrossEntropy,
                &train,
                Some(&test),
                &config,
                &mut Silent,
            )?;
            let test = Some(evaluate(model, &test, 100)?);
            Ok(TrainingRecord { curve, test })
        })
        .unwrap()
}

fn params(m: &dyn Module<f64>) -> Vec<u64> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.extend(p.value().iter().map(|v| v.to_bits())));
    out
}

#[test]
fn a_model_is_trained_once_then_loaded_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path().join("models"));
    let id = identity(0, &TRAINING, "m=1000 seed=5");
    let trained = Cell::new(0);
    let first = get(&store, &id, &trained);
    assert_eq!((first.origin.clone(), trained.get()), (Origin::Trained, 1));
    let second = get(&store, &id, &trained);
    assert_eq!((second.origin.clone(), trained.get()), (Origin::Loaded, 1));
    assert_eq!(params(&second.model), params(&first.model));
    assert_eq!(second.sidecar, first.sidecar);
    assert_eq!(second.stem(), format!("teacher-{}", id.hash()));
    assert_eq!(first.sidecar.training.curve.len(), 2);
    assert_eq!(first.sidecar.parameter_count, 10 * 8 + 8 + 8 * 3 + 3);
    // the training's per-epoch state is gone once the model is stored
    assert!(!dir
        .path()
        .join("models/.partial")
        .join(first.stem())
        .exists());
    // retraining on request gives the same weights (the training is deterministic), once
    let retraining = store.clone().retraining(true);
    let again = get(&retraining, &id, &trained);
    assert_eq!((again.origin, trained.get()), (Origin::Trained, 2));
    assert_eq!(params(&again.model), params(&first.model));
    let once = get(&retraining, &id, &trained);
    assert_eq!((once.origin, trained.get()), (Origin::Loaded, 2));
}

#[test]
fn another_seed_config_or_data_is_another_model() {
    let base = identity(0, &TRAINING, "m=1000 seed=5");
    let others = [
        identity(1, &TRAINING, "m=1000 seed=5"),
        identity(
            0,
            &Training {
                epochs: 3,
                ..TRAINING
            },
            "m=1000 seed=5",
        ),
        identity(
            0,
            &Training {
                learning_rate: 0.1 + 1e-16,
                ..TRAINING
            },
            "m=1000 seed=5",
        ),
        identity(0, &TRAINING, "m=1000 seed=6"),
        identity(0, &TRAINING, "m=1000 seed=5").revised(2),
    ];
    for other in &others {
        assert_ne!(other.hash(), base.hash(), "{other:?}");
    }
    assert_eq!(identity(0, &TRAINING, "m=1000 seed=5").hash(), base.hash());
    // an identity made from another architecture does not fit this model
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let mut wrong = base.clone();
    wrong.parameters.pop();
    let err = store
        .get_or_train(&wrong, fresh(0), |_, _| Ok(TrainingRecord::default()))
        .unwrap_err();
    assert!(err.to_string().contains("parameters differ"), "{err}");
}

/// Damages the stored files of `id` with `damage`, then checks the next get retrains.
fn retrained_after(damage: impl Fn(&Path, &Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path());
    let id = identity(0, &TRAINING, "m=1000 seed=5");
    let trained = Cell::new(0);
    let first = get(&store, &id, &trained);
    let sidecar = dir.path().join(format!("{}.json", id.stem()));
    damage(&first.path, &sidecar);
    let again = get(&store, &id, &trained);
    assert_eq!(trained.get(), 2, "the damaged model was used");
    assert_eq!(params(&again.model), params(&first.model));
    // and the store is repaired: the next get loads
    assert_eq!(get(&store, &id, &trained).origin, Origin::Loaded);
    match again.origin {
        Origin::Retrained(reason) => reason,
        other => panic!("expected a retrain, got {other:?}"),
    }
}

#[test]
fn a_damaged_or_mismatched_stored_model_is_retrained_with_the_reason() {
    let truncated = retrained_after(|weights, _| {
        let b = std::fs::read(weights).unwrap();
        std::fs::write(weights, &b[..b.len() - 7]).unwrap();
    });
    assert!(truncated.contains("SHA-256"), "{truncated}");
    let tampered = retrained_after(|weights, _| {
        let mut b = std::fs::read(weights).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1; // one bit of one weight
        std::fs::write(weights, &b).unwrap();
    });
    assert!(tampered.contains("SHA-256"), "{tampered}");
    let bad_json =
        retrained_after(|_, sidecar| std::fs::write(sidecar, b"{\"format\": 1,").unwrap());
    assert!(bad_json.contains("not valid JSON"), "{bad_json}");
    let other_identity = retrained_after(|_, sidecar| {
        let text = std::fs::read_to_string(sidecar).unwrap();
        std::fs::write(sidecar, text.replace("\"seed\": 0", "\"seed\": 9")).unwrap();
    });
    assert!(
        other_identity.contains("another identity"),
        "{other_identity}"
    );
    let no_sidecar = retrained_after(|_, sidecar| std::fs::remove_file(sidecar).unwrap());
    assert!(
        no_sidecar.contains("sidecar .json is missing"),
        "{no_sidecar}"
    );
}

#[test]
fn an_unwritable_store_is_an_error_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let store = ModelStore::new(file.join("models"));
    let id = identity(0, &TRAINING, "m=1000 seed=5");
    let err = store
        .get_or_train(&id, fresh(0), |_, _| Ok(TrainingRecord::default()))
        .unwrap_err();
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

/// A full disk: a 16 KiB tmpfs holds the sidecar but not a model of ~140 KiB. Needs root to
/// mount; skipped loudly otherwise.
#[test]
fn a_full_disk_is_an_error_and_leaves_no_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("tiny");
    std::fs::create_dir(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?): the full-disk case is untested");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let store = ModelStore::new(&mount);
        let big = mlp::<f64>(
            &[10, 400, 3],
            Activation::Tanh,
            true,
            &mut StdRng::seed_from_u64(0),
        );
        let id = ModelIdentity::of("big", "MLP 10-400-3", &big, &TRAINING, 0, vec![]).unwrap();
        let err = store
            .get_or_train(&id, big, |_, _| Ok(TrainingRecord::default()))
            .unwrap_err();
        let left: Vec<String> = std::fs::read_dir(&mount)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        (err.to_string(), left)
    });
    let _ = std::process::Command::new("umount").arg(&mount).status();
    let (err, left) = result.unwrap();
    assert!(err.contains("big-"), "{err}");
    assert!(left.is_empty(), "half-written files left: {left:?}");
}
