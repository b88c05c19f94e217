//! Checkpoints: bit-exact round trips in f32 and f64, the file as the safetensors crate's own
//! reader sees it, errors that name every offending tensor, damaged files that fail cleanly,
//! and saves that never leave half a file.

use std::collections::BTreeSet;
use std::path::Path;

use autograd::functional::{cross_entropy, Reduction};
use autograd::{Float, IntoTensor, Tape, Var};
use ndarray::{array, Array2};
use nn::checkpoint::{load, save};
use nn::layers::{mlp, Activation, Sequential};
use nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use nn::{Ctx, Error, Module, Param};
use proptest::prelude::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use safetensors::{Dtype, SafeTensors};

/// A small MLP `3 → hidden → 2` drawn from `seed`.
fn net<F: Float>(hidden: usize, bias: bool, seed: u64) -> Sequential<F> {
    mlp(
        &[3, hidden, 2],
        Activation::Tanh,
        bias,
        &mut StdRng::seed_from_u64(seed),
    )
}

/// Every parameter's values as bits (through `f64`, which holds every `f32` exactly).
fn bits<F: Float>(model: &dyn Module<F>) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| {
        out.push((
            n.into(),
            p.value().iter().map(|v| v.as_f64().to_bits()).collect(),
        ))
    });
    out
}

/// One Adam step on a fixed batch (another batch each `step`).
fn train_step<F: Float>(model: &mut Sequential<F>, opt: &mut dyn Optimizer<F>, step: u64) {
    let mut rng = StdRng::seed_from_u64(50 + step);
    let x = Array2::from_shape_fn((4, 3), |_| F::from_f64(rng.gen_range(-1.0..1.0)));
    let labels: Vec<usize> = (0..4).map(|_| rng.gen_range(0..2)).collect();
    let tape = Tape::new();
    let ctx = Ctx::train(&tape, step);
    let loss = cross_entropy(
        model.forward(&ctx, ctx.input(x)).unwrap(),
        &labels,
        Reduction::Mean,
    )
    .unwrap();
    let grads = ctx.grads(loss).unwrap();
    opt.step(model, &grads).unwrap();
}

fn adam<F: Float>() -> Adam<F> {
    Adam::new(AdamConfig::adamw(0.05, 0.01)).unwrap()
}

/// Saves a trained model and its Adam state, loads both into fresh ones, and checks that the
/// values are bitwise equal and that training continues exactly as it would have.
fn round_trip<F: Float>() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let (mut model, mut opt) = (net::<F>(4, true, 1), adam::<F>());
    for step in 0..2 {
        train_step(&mut model, &mut opt, step);
    }
    save(&path, &model, Some(&opt)).unwrap();

    let (mut restored, mut restored_opt) = (net::<F>(4, true, 2), adam::<F>());
    assert_ne!(
        bits(&restored),
        bits(&model),
        "a fresh model differs before loading"
    );
    load(&path, &mut restored, Some(&mut restored_opt)).unwrap();
    assert_eq!(bits(&restored), bits(&model));
    assert_eq!(restored_opt.state(), opt.state());

    train_step(&mut model, &mut opt, 2);
    train_step(&mut restored, &mut restored_opt, 2);
    assert_eq!(
        bits(&restored),
        bits(&model),
        "training resumes bit for bit"
    );
}

#[test]
fn round_trip_f32() {
    round_trip::<f32>();
}

#[test]
fn round_trip_f64() {
    round_trip::<f64>();
}

#[test]
fn the_safetensors_reader_sees_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let (mut model, mut opt) = (net::<f32>(4, true, 1), adam::<f32>());
    train_step(&mut model, &mut opt, 0);
    save(&path, &model, Some(&opt)).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let names: BTreeSet<&str> = file.names().into_iter().collect();
    let mut expected = BTreeSet::new();
    for p in ["0.weight", "0.bias", "2.weight", "2.bias"] {
        expected.insert(p.to_string());
        expected.insert(format!("optim.adamw.m.{p}"));
        expected.insert(format!("optim.adamw.v.{p}"));
    }
    assert_eq!(names, expected.iter().map(String::as_str).collect());
    model.visit_params(&mut |name, p| {
        let view = file.tensor(name).unwrap();
        assert_eq!(view.dtype(), Dtype::F32);
        assert_eq!(view.shape(), p.shape());
        let le: Vec<u8> = p.value().iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            view.data(),
            le.as_slice(),
            "{name}: row-major little-endian f32"
        );
        assert_eq!(
            file.tensor(&format!("optim.adamw.m.{name}"))
                .unwrap()
                .shape(),
            p.shape()
        );
    });
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();
    assert_eq!(meta["optimizer"], "adamw");
    assert_eq!(meta["optim.adamw.steps"], "1");
    assert_eq!(meta["optim.adamw.t.0.weight"], "1");
    assert_eq!(meta["optim.adamw.lr"].parse::<f64>().unwrap(), 0.05);

    // f64 models are stored as F64.
    let path64 = dir.path().join("m64.safetensors");
    save(&path64, &net::<f64>(4, true, 1), None).unwrap();
    let bytes = std::fs::read(&path64).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(file.len(), 4, "no optimiser, no optimiser tensors");
    assert!(file.tensors().iter().all(|(_, v)| v.dtype() == Dtype::F64));
}

/// Saves `saved`, loads into `target`, and returns the error message, checking that it is a
/// checkpoint error naming the file and that `target` was left as it was.
fn mismatch<F: Float, G: Float>(saved: &Sequential<F>, target: &mut Sequential<G>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.safetensors");
    save(&path, saved, None).unwrap();
    let before = bits(target);
    let err = load(&path, target, None).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err:?}");
    assert_eq!(bits(target), before, "a failed load changes nothing");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    msg
}

#[test]
fn missing_extra_misshapen_and_wrong_dtype_tensors_are_all_named() {
    let msg = mismatch(&net::<f32>(4, false, 1), &mut net::<f32>(4, true, 2));
    assert!(
        msg.contains("missing tensors (in the model, not in the file): 0.bias, 2.bias"),
        "{msg}"
    );

    let msg = mismatch(&net::<f32>(4, true, 1), &mut net::<f32>(4, false, 2));
    assert!(
        msg.contains("unexpected tensors (in the file, not in the model): 0.bias, 2.bias"),
        "{msg}"
    );

    let msg = mismatch(&net::<f32>(4, true, 1), &mut net::<f32>(5, true, 2));
    for part in [
        "0.weight (file [4, 3], model [5, 3])",
        "0.bias (file [4], model [5])",
    ] {
        assert!(msg.contains(part), "{part}: {msg}");
    }
    assert!(
        msg.contains("2.weight (file [2, 4], model [2, 5])"),
        "{msg}"
    );
    assert!(!msg.contains("2.bias"), "2.bias fits: {msg}");

    let msg = mismatch(&net::<f64>(4, true, 1), &mut net::<f32>(4, true, 2));
    assert!(
        msg.contains("wrong dtype") && msg.contains("the model is f32"),
        "{msg}"
    );
    for name in [
        "0.bias (F64)",
        "0.weight (F64)",
        "2.bias (F64)",
        "2.weight (F64)",
    ] {
        assert!(msg.contains(name), "{name}: {msg}");
    }
    let msg = mismatch(&net::<f32>(4, true, 1), &mut net::<f64>(4, true, 2));
    assert!(
        msg.contains("0.weight (F32)") && msg.contains("the model is f64"),
        "{msg}"
    );
}

#[test]
fn optimiser_state_must_be_present_and_of_the_right_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, with_adam) = (dir.path().join("bare"), dir.path().join("adam"));
    let (mut model, mut opt) = (net::<f64>(4, true, 1), adam::<f64>());
    train_step(&mut model, &mut opt, 0);
    save(&bare, &model, None).unwrap();
    save(&with_adam, &model, Some(&opt)).unwrap();

    let mut sgd = Sgd::<f64>::new(SgdConfig::new(0.1)).unwrap();
    let err = load(&bare, &mut net(4, true, 2), Some(&mut sgd))
        .unwrap_err()
        .to_string();
    assert!(err.contains("holds no optimiser state"), "{err}");
    let mut target = net::<f64>(4, true, 2);
    let before = bits(&target);
    let err = load(&with_adam, &mut target, Some(&mut sgd))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"adamw\"") && err.contains("\"sgd\""),
        "{err}"
    );
    assert_eq!(sgd.steps(), 0);
    assert_eq!(
        bits(&target),
        before,
        "the weights fit, but nothing is loaded"
    );
    // Without an optimiser the state is ignored, whatever its kind: the weights alone load.
    let mut fresh = net::<f64>(4, true, 2);
    load(&with_adam, &mut fresh, None).unwrap();
    assert_eq!(bits(&fresh), bits(&model));
    let with_sgd = dir.path().join("sgd");
    let mut momentum = Sgd::<f64>::new(SgdConfig::new(0.1).momentum(0.9)).unwrap();
    train_step(&mut model, &mut momentum, 1);
    save(&with_sgd, &model, Some(&momentum)).unwrap();
    load(&with_sgd, &mut fresh, None).unwrap();
    assert_eq!(bits(&fresh), bits(&model));
}

/// Writes a safetensors file with the crate's own serializer: `(name, values, shape)` in F64.
fn write_foreign(path: &Path, tensors: &[(&str, Vec<f64>, Vec<usize>)], meta: &[(&str, &str)]) {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, v, _)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = tensors.iter().zip(&bytes).map(|((name, _, shape), b)| {
        let view = safetensors::tensor::TensorView::new(Dtype::F64, shape.clone(), b).unwrap();
        (name.to_string(), view)
    });
    let meta = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

#[test]
fn a_safetensors_file_from_elsewhere_loads_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.safetensors");
    let w: Vec<f64> = (0..6).map(|i| i as f64 / 8.0).collect();
    write_foreign(
        &path,
        &[
            ("0.weight", w.clone(), vec![2, 3]),
            ("0.bias", vec![0.5, -0.5], vec![2]),
        ],
        &[],
    );
    let mut model = mlp::<f64>(
        &[3, 2],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(0),
    );
    load(&path, &mut model, None).unwrap();
    let loaded: Vec<Vec<f64>> = {
        let mut out = Vec::new();
        model.visit_params(&mut |_, p| out.push(p.value().iter().copied().collect()));
        out
    };
    assert_eq!(loaded, [w, vec![0.5, -0.5]]);

    // Optimiser scalars that are not numbers are named.
    write_foreign(
        &path,
        &[
            ("0.weight", vec![0.0; 6], vec![2, 3]),
            ("0.bias", vec![0.0; 2], vec![2]),
        ],
        &[("optimizer", "sgd"), ("optim.sgd.lr", "fast")],
    );
    let mut sgd = Sgd::<f64>::new(SgdConfig::new(0.1)).unwrap();
    let err = load(&path, &mut model, Some(&mut sgd))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("optim.sgd.lr = \"fast\" is not a number"),
        "{err}"
    );

    // State of another kind of optimiser than the metadata says is unexpected, and named.
    write_foreign(
        &path,
        &[
            ("0.weight", vec![0.0; 6], vec![2, 3]),
            ("0.bias", vec![0.0; 2], vec![2]),
            ("optim.adam.m.0.bias", vec![0.0; 2], vec![2]),
        ],
        &[("optimizer", "sgd"), ("optim.sgd.lr", "0.1")],
    );
    let err = load(&path, &mut model, Some(&mut sgd))
        .unwrap_err()
        .to_string();
    let expected = "unexpected tensors (in the file, not in the model): optim.adam.m.0.bias";
    assert!(err.contains(expected), "{err}");

    // A shape whose product is 0 passes the safetensors reader, but one whose other axes
    // overflow cannot be an array: named, not dropped.
    let huge = vec![0, 1 << 40, 1 << 40];
    write_foreign(
        &path,
        &[
            ("0.weight", vec![0.0; 6], vec![2, 3]),
            ("0.bias", vec![0.0; 2], vec![2]),
            ("optim.sgd.momentum.0.bias", vec![], huge),
        ],
        &[
            ("optimizer", "sgd"),
            ("optim.sgd.lr", "0.1"),
            ("optim.sgd.momentum", "0.9"),
            ("optim.sgd.nesterov", "0"),
            ("optim.sgd.weight_decay", "0"),
            ("optim.sgd.steps", "1"),
        ],
    );
    let err = load(&path, &mut model, Some(&mut sgd))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("optim.sgd.momentum.0.bias (shape [0, 1099511627776, 1099511627776] unusable"),
        "{err}"
    );
}

/// A checkpoint of a trained model with its Adam state, as bytes.
fn valid_file() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok");
    let (mut model, mut opt) = (net::<f32>(2, true, 1), adam::<f32>());
    train_step(&mut model, &mut opt, 0);
    save(&path, &model, Some(&opt)).unwrap();
    std::fs::read(path).unwrap()
}

/// Loads `bytes` as a checkpoint (model and Adam state); an error must name the file.
fn try_load(bytes: &[u8]) -> nn::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let result = load(&path, &mut net::<f32>(2, true, 3), Some(&mut adam::<f32>()));
    if let Err(e) = &result {
        assert!(e.to_string().contains("damaged.safetensors"), "{e}");
    }
    result
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = valid_file();
    try_load(&bytes).unwrap();
    for len in 0..bytes.len() {
        assert!(try_load(&bytes[..len]).is_err(), "truncated to {len} bytes");
    }
    let err = try_load(&bytes[..bytes.len() - 1]).unwrap_err().to_string();
    assert!(err.contains("not a readable safetensors file"), "{err}");
}

#[test]
fn absurd_header_lengths_are_errors() {
    let bytes = valid_file();
    for n in [u64::MAX, bytes.len() as u64, 0] {
        let mut b = bytes.clone();
        b[..8].copy_from_slice(&n.to_le_bytes());
        assert!(try_load(&b).is_err(), "header length {n}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_bytes_are_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(try_load(&bytes).is_err());
    }

    #[test]
    fn mutated_files_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = valid_file();
        for (i, v) in edits {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        let _ = try_load(&bytes); // Ok (a changed value) or a clean error, never a panic.
    }
}

/// The names of the entries of `dir`.
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn a_failed_save_names_the_path_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = net::<f32>(2, true, 1);
    let path = dir.path().join("no-such-dir").join("model.safetensors");
    let err = save(&path, &model, None).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    // The destination is a directory: the rename fails and the temporary file is removed.
    let target = dir.path().join("taken");
    std::fs::create_dir(&target).unwrap();
    assert!(save(&target, &model, None).is_err());
    assert_eq!(entries(dir.path()), ["taken"]);

    let err = load(
        dir.path().join("absent.safetensors"),
        &mut net::<f32>(2, true, 1),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("absent.safetensors") && err.contains("cannot be read"),
        "{err}"
    );
}

/// A module with a parameter under the prefix reserved for optimiser state.
struct Clash(Param<f64>);

impl Module<f64> for Clash {
    fn forward<'t>(&self, _: &Ctx<'t, f64>, x: Var<'t, f64>) -> nn::Result<Var<'t, f64>> {
        Ok(x)
    }
    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<f64>)) {
        f("optim.lr", &self.0);
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<f64>)) {
        f("optim.lr", &mut self.0);
    }
}

#[test]
fn parameter_names_under_the_reserved_prefix_cannot_be_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clash");
    let err = save(&path, &Clash(Param::new(array![1.0].into_tensor())), None).unwrap_err();
    assert!(
        err.to_string().contains("\"optim.lr\" uses the prefix"),
        "{err}"
    );
    assert!(entries(dir.path()).is_empty());
}
