//! Tests on the real data sets, found through `DISTILLERY_DATA` (e.g. `../shared/data` from the
//! project root). Without it they print a loud `SKIPPED` line and return.

use std::io::Write;
use std::path::Path;

use super::*;
use discover::RootOrigin;
use testing::real_data_root;

/// Discovery restricted to the one root, so nothing else on the machine can be picked up.
fn discover_only(root: &Path) -> Discovery {
    discover_in(vec![SearchRoot {
        origin: RootOrigin::EnvVar,
        path: root.to_path_buf(),
    }])
}

fn assert_all_ok(checks: &[FileCheck]) {
    for c in checks {
        assert!(c.status.is_ok(), "{c}");
    }
}

#[test]
fn real_fashion_mnist_loads_with_shapes_counts_and_checksums() {
    let Some(root) = real_data_root("real_fashion_mnist") else {
        return;
    };
    let found = discover_only(&root);
    let located = found.fashion_mnist().unwrap();
    assert_all_ok(&check_located(located));
    let TrainTest { train, test } = load_train_test::<f32>(located).unwrap();
    assert_eq!(train.x().dim(), (60_000, 784));
    assert_eq!(test.x().dim(), (10_000, 784));
    assert_eq!(train.image_shape(), Some(ImageShape::MNIST));
    // Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class.
    assert_eq!(train.class_counts(), vec![6_000; 10]);
    assert_eq!(test.class_counts(), vec![1_000; 10]);
    let (lo, hi) = train
        .x()
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((lo, hi), (0.0, 1.0));
    // The protocol split of S1.
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    let (big, small) = train.split(59_000, &mut rng).unwrap();
    assert_eq!((big.len(), small.len()), (59_000, 1_000));
}

#[test]
fn real_mnist_10k_loads_with_shapes_counts_and_checksums() {
    let Some(root) = real_data_root("real_mnist_10k") else {
        return;
    };
    let found = discover_only(&root);
    let located = found.mnist().unwrap();
    assert_eq!(located.dataset, DatasetId::Mnist10k);
    assert!(
        located.to_string().contains("10,000-digit subset"),
        "{located}"
    );
    assert_all_ok(&check_located(located));
    let all = load::<f64>(located, Part::All).unwrap();
    assert_eq!(all.x().dim(), (10_000, 784));
    assert_eq!(all.image_shape(), Some(ImageShape::MNIST));
    // Class counts from shared/data/README.md.
    assert_eq!(
        all.class_counts(),
        vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    );
    assert!(load::<f64>(located, Part::Train).is_err());
}

#[test]
fn real_fashion_mnist_goes_through_the_fetch_path() {
    let Some(root) = real_data_root("real_fetch_path") else {
        return;
    };
    let source = root.join("fashion-mnist");
    // A "mirror" that serves the local (Debian-recompressed) files by their URL's file name:
    // the decompressed checksums must match the table even though the .gz bytes differ.
    let serve = |url: &str, out: &mut dyn Write, p: &mut dyn FnMut(u64, Option<u64>)| {
        let name = url.rsplit('/').next().unwrap_or_default();
        let mut file = std::fs::File::open(source.join(name)).map_err(|e| e.to_string())?;
        fetch::copy_with_progress(&mut file, out, None, p)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let cache = tempfile::tempdir().unwrap();
    let mut last = 0;
    let outcomes = fetch_dataset(DatasetId::FashionMnist, cache.path(), &serve, &mut |p| {
        last = p.received
    })
    .unwrap();
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o, FetchOutcome::Downloaded { url, .. }
        if url.starts_with(catalog::FASHION_MNIST_MIRRORS[0]))));
    assert!(last > 0);
    let dir = cache.path().join("fashion-mnist");
    assert_all_ok(&check_dataset(DatasetId::FashionMnist, &dir));
    let found = discover_in(vec![SearchRoot {
        origin: RootOrigin::Cache,
        path: cache.path().to_path_buf(),
    }]);
    let labels = read_idx(
        found
            .fashion_mnist()
            .unwrap()
            .path(FileRole::TestLabels)
            .unwrap(),
        1,
    );
    assert_eq!(labels.unwrap().dims(), &[10_000]);
}
