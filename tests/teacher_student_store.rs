//! Across the crates: a teacher trained with nn, a student distilled from it with methods'
//! Hinton loss, both kept in nn's model store and loaded back with the same predictions, bit for
//! bit; the store's identity follows the data file's content, and a tampered file is retrained.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;

use autograd::Var;
use methods::distill::{hinton_loss, HintonConfig, TemperatureScaling};
use ndarray::{Array2, Axis};
use nn::data::{file_identity, Dataset, SoftmaxDataConfig};
use nn::layers::{mlp, Activation, Linear, Sequential};
use nn::optim::{Adam, AdamConfig};
use nn::store::{ModelIdentity, ModelStore, Origin, StoredModel, TrainingRecord};
use nn::train::{evaluate, fit, predict, Batch, BatchLoss, CrossEntropy, Silent, TrainConfig};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The synthetic data, and a file holding them (the data's identity is that file's content).
fn data(dir: &Path, seed: u64) -> (Dataset<f32>, Dataset<f32>, std::path::PathBuf) {
    let d = SoftmaxDataConfig::default()
        .generate::<f32, _>(&mut StdRng::seed_from_u64(seed))
        .unwrap();
    let path = dir.join(format!("data-{seed}.bin"));
    let mut bytes: Vec<u8> = d.train.x().iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes.extend(d.train.y().iter().flat_map(|&y| (y as u64).to_le_bytes()));
    std::fs::write(&path, bytes).unwrap();
    (d.train, d.test, path)
}

fn training(epochs: usize) -> BTreeMap<&'static str, f64> {
    BTreeMap::from([("epochs", epochs as f64), ("learning_rate", 1e-2)])
}

fn teacher(
    store: &ModelStore,
    data_file: &Path,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    trainings: &Cell<usize>,
) -> StoredModel<Sequential<f32>> {
    let model = mlp::<f32>(
        &[10, 32, 3],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(1),
    );
    let id = ModelIdentity::of(
        "teacher",
        "MLP 10-32-3, ReLU, biases",
        &model,
        &training(5),
        1,
        vec![file_identity("data", data_file).unwrap()],
    )
    .unwrap();
    store
        .get_or_train(&id, model, |m, resume| {
            trainings.set(trainings.get() + 1);
            let mut adam = Adam::new(AdamConfig::adam(1e-2))?;
            let config = TrainConfig {
                epochs: 5,
                batch_size: 50,
                seed: 1,
                resume: Some(resume),
                ..TrainConfig::default()
            };
            let curve = fit(
                m,
                &mut adam,
                &CrossEntropy,
                train,
                Some(test),
                &config,
                &mut Silent,
            )?;
            Ok(TrainingRecord {
                test: Some(evaluate(m, test, 100)?),
                curve,
            })
        })
        .unwrap()
}

/// Hinton's loss against the teacher's logits on the training set.
struct Distill<'a> {
    teacher_logits: &'a Array2<f32>,
    config: HintonConfig,
}

impl BatchLoss<f32, Linear<f32>> for Distill<'_> {
    fn loss<'t>(
        &self,
        model: &Linear<f32>,
        ctx: &Ctx<'t, f32>,
        batch: &Batch<'_, f32>,
    ) -> nn::Result<Var<'t, f32>> {
        let z = model.forward(ctx, ctx.input(batch.x.clone()))?;
        let v = ctx.input(self.teacher_logits.select(Axis(0), batch.indices));
        hinton_loss(z, &batch.labels, v, &self.config)
            .map_err(|e| nn::Error::config("distillation loss", e.to_string()))
    }
}

fn bits(a: &Array2<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn teacher_then_student_stored_and_loaded_back_predict_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path().join("models"));
    let (train, test, file) = data(dir.path(), 0);
    let trainings = Cell::new(0);
    let t = teacher(&store, &file, &train, &test, &trainings);
    assert_eq!(t.origin, Origin::Trained);
    let teacher_logits = predict(&t.model, train.x(), 1000).unwrap();

    // The student: logistic regression distilled from the teacher, stored as well.
    let student = Linear::<f32>::new(10, 3, true, &mut StdRng::seed_from_u64(2));
    let loss = Distill {
        teacher_logits: &teacher_logits,
        config: HintonConfig::imitation(0.5, 2.0, TemperatureScaling::Squared).unwrap(),
    };
    let id = ModelIdentity::of(
        "student",
        &format!("logistic regression 10 → 3, distilled from {}", t.stem()),
        &student,
        &training(4),
        2,
        vec![file_identity("data", &file).unwrap()],
    )
    .unwrap();
    let train_student = |m: &mut Linear<f32>, resume| {
        let mut adam = Adam::new(AdamConfig::adam(1e-2))?;
        let config = TrainConfig {
            epochs: 4,
            batch_size: 50,
            seed: 2,
            resume: Some(resume),
            ..TrainConfig::default()
        };
        let curve = fit(
            m,
            &mut adam,
            &loss,
            &train,
            Some(&test),
            &config,
            &mut Silent,
        )?;
        Ok(TrainingRecord { test: None, curve })
    };
    let s = store
        .get_or_train(&id, student.clone(), train_student)
        .unwrap();
    assert_eq!(s.origin, Origin::Trained);
    let before = predict(&s.model, test.x(), 1000).unwrap();
    // the student learnt something from the teacher
    assert!(evaluate(&s.model, &test, 1000).unwrap().accuracy > 0.5);

    // Loaded back, from a fresh model of the same architecture: the same predictions.
    let s2 = store
        .get_or_train(&id, student, |_, _| {
            panic!("the stored student must be loaded")
        })
        .unwrap();
    assert_eq!(s2.origin, Origin::Loaded);
    assert_eq!(
        bits(&predict(&s2.model, test.x(), 1000).unwrap()),
        bits(&before)
    );
    let t2 = teacher(&store, &file, &train, &test, &trainings);
    assert_eq!((t2.origin, trainings.get()), (Origin::Loaded, 1));
    assert_eq!(
        bits(&predict(&t2.model, train.x(), 1000).unwrap()),
        bits(&teacher_logits)
    );
}

#[test]
fn another_data_file_is_another_teacher_and_a_tampered_one_is_retrained() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path().join("models"));
    let trainings = Cell::new(0);
    let (train, test, file) = data(dir.path(), 0);
    let a = teacher(&store, &file, &train, &test, &trainings);
    // the same data, another content: one byte of the file changed
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 1;
    let other = dir.path().join("data-changed.bin");
    std::fs::write(&other, bytes).unwrap();
    let b = teacher(&store, &other, &train, &test, &trainings);
    assert_ne!(a.stem(), b.stem());
    assert_eq!((b.origin, trainings.get()), (Origin::Trained, 2));

    // a tampered weights file is retrained, and the retrained teacher equals the original
    let mut weights = std::fs::read(&a.path).unwrap();
    let n = weights.len();
    weights[n - 2] ^= 0x10;
    std::fs::write(&a.path, weights).unwrap();
    let c = teacher(&store, &file, &train, &test, &trainings);
    assert!(matches!(c.origin, Origin::Retrained(_)), "{:?}", c.origin);
    assert_eq!(trainings.get(), 3);
    let logits = |m: &Sequential<f32>| bits(&predict(m, train.x(), 1000).unwrap());
    assert_eq!(logits(&c.model), logits(&a.model));
}
