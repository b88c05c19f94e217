//! Tests of `Dataset` and `Batches` (included by `dataset.rs`).

use super::*;
use ndarray::array;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Sample `i` has features `[i, 10 i]` and label `i`, so every row can be traced back.
fn traceable(n: usize) -> Dataset<f64> {
    let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * if j == 0 { 1 } else { 10 }) as f64);
    Dataset::new(x, (0..n).collect()).unwrap()
}

/// Checks rows still match their labels after any reordering.
fn assert_rows_follow_labels(d: &Dataset<f64>) {
    for (row, &label) in d.x().rows().into_iter().zip(d.y()) {
        assert_eq!(row[0], label as f64);
        assert_eq!(row[1], 10.0 * label as f64);
    }
}

fn sorted(v: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut v: Vec<_> = v.into_iter().collect();
    v.sort_unstable();
    v
}

#[test]
fn construction_checks_counts_labels_and_image_shape() {
    assert!(Dataset::<f64>::new(Array2::zeros((3, 2)), array![0, 1]).is_err());
    let d = Dataset::<f64>::new(Array2::zeros((2, 4)), array![0, 3]).unwrap();
    let err = d.clone().with_classes(3).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 3,
                num_classes: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(d
        .clone()
        .with_image_shape(ImageShape {
            channels: 1,
            height: 2,
            width: 3
        })
        .is_err());
    let d = d
        .with_image_shape(ImageShape {
            channels: 1,
            height: 2,
            width: 2,
        })
        .unwrap();
    assert_eq!(d.image_shape().map(|s| s.len()), Some(4));
}

#[test]
fn shuffling_is_a_permutation_and_deterministic_per_seed() {
    let d = traceable(100);
    let a = d.shuffled(&mut StdRng::seed_from_u64(7));
    let b = d.shuffled(&mut StdRng::seed_from_u64(7));
    let c = d.shuffled(&mut StdRng::seed_from_u64(8));
    assert_eq!(a, b);
    assert_ne!(a.y(), c.y());
    assert_ne!(a.y(), d.y(), "100 samples left in place: not shuffled");
    assert_eq!(sorted(a.y().iter().copied()), (0..100).collect::<Vec<_>>());
    assert_rows_follow_labels(&a);
}

#[test]
fn split_sizes_are_exact_and_parts_disjoint_and_complete() {
    let d = traceable(1000);
    let (big, small) = d.split(990, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!((big.len(), small.len()), (990, 10));
    let all = sorted(big.y().iter().chain(small.y()).copied());
    assert_eq!(
        all,
        (0..1000).collect::<Vec<_>>(),
        "parts overlap or lose samples"
    );
    assert_rows_follow_labels(&big);
    assert_rows_follow_labels(&small);
    // Each part keeps the original order.
    for part in [&big, &small] {
        assert!(part.y().windows(2).into_iter().all(|w| w[0] < w[1]));
    }
    // The small part is a random subset, not the tail.
    assert_ne!(small.y().to_vec(), (990..1000).collect::<Vec<_>>());
    let (_, again) = d.split(990, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!(small, again);
    assert!(d.split(1001, &mut StdRng::seed_from_u64(1)).is_err());
    let (all_of_it, none) = d.split(1000, &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!((all_of_it.len(), none.len()), (1000, 0));
}

#[test]
fn batches_cover_every_sample_exactly_once() {
    let d = traceable(103);
    for shuffle in [false, true] {
        let mut rng = StdRng::seed_from_u64(3);
        let batches: Vec<_> = if shuffle {
            d.shuffled_batches(10, false, &mut rng).unwrap().collect()
        } else {
            d.batches(10, false).unwrap().collect()
        };
        assert_eq!(batches.len(), 11);
        assert!(batches[..10]
            .iter()
            .all(|(x, y)| x.nrows() == 10 && y.len() == 10));
        assert_eq!(batches[10].0.nrows(), 3, "last partial batch kept");
        let seen = sorted(batches.iter().flat_map(|(_, y)| y.iter().copied()));
        assert_eq!(seen, (0..103).collect::<Vec<_>>());
        for (x, y) in &batches {
            assert_rows_follow_labels(&Dataset::new(x.clone(), y.clone()).unwrap());
        }
    }
}

#[test]
fn drop_last_drops_only_the_partial_batch() {
    let d = traceable(103);
    let it = d
        .shuffled_batches(10, true, &mut StdRng::seed_from_u64(3))
        .unwrap();
    assert_eq!(it.len(), 10);
    let order = it.order().to_vec();
    let batches: Vec<_> = it.collect();
    assert!(batches.iter().all(|(x, _)| x.nrows() == 10));
    let seen = sorted(batches.iter().flat_map(|(_, y)| y.iter().copied()));
    assert_eq!(seen, sorted(order[..100].iter().copied()));
    // Exactly divisible: nothing dropped.
    assert_eq!(traceable(100).batches(10, true).unwrap().count(), 10);
    assert!(d.batches(0, false).is_err());
    assert_eq!(traceable(0).batches(4, false).unwrap().count(), 0);
}

#[test]
fn shuffled_batches_differ_between_epochs_of_one_rng() {
    let d = traceable(50);
    let mut rng = StdRng::seed_from_u64(11);
    let e1 = d
        .shuffled_batches(50, false, &mut rng)
        .unwrap()
        .order()
        .to_vec();
    let e2 = d
        .shuffled_batches(50, false, &mut rng)
        .unwrap()
        .order()
        .to_vec();
    assert_ne!(e1, e2);
}

#[test]
fn select_slice_take_and_concat() {
    let d = traceable(10);
    let s = d.select(&[9, 0, 9]).unwrap();
    assert_eq!(s.y(), &array![9, 0, 9]);
    assert_rows_follow_labels(&s);
    assert!(d.select(&[10]).is_err());
    assert_eq!(d.slice(2..5).unwrap().y(), &array![2, 3, 4]);
    assert!(d.slice(5..11).is_err());
    assert_eq!(d.take(3).y(), &array![0, 1, 2]);
    assert_eq!(d.take(50).len(), 10);
    let c = d.take(2).concat(&d.slice(8..10).unwrap()).unwrap();
    assert_eq!(c.y(), &array![0, 1, 8, 9]);
    assert_rows_follow_labels(&c);
    let wide = Dataset::<f64>::new(Array2::zeros((1, 3)), array![0]).unwrap();
    assert!(d.concat(&wide).is_err());
}

#[test]
fn class_counts_and_num_classes() {
    let d = Dataset::<f32>::new(Array2::zeros((6, 1)), array![2, 0, 2, 2, 1, 0]).unwrap();
    assert_eq!(d.num_classes(), 3);
    assert_eq!(d.class_counts(), vec![2, 1, 3]);
    let d = d.with_classes(5).unwrap();
    assert_eq!(d.class_counts(), vec![2, 1, 3, 0, 0]);
    // A subset keeps the recorded class count even when it lacks the top classes.
    assert_eq!(d.take(2).class_counts(), vec![1, 0, 1, 0, 0]);
}

#[test]
fn cast_converts_features_and_keeps_the_rest() {
    let d = traceable(4).with_classes(4).unwrap();
    let f: Dataset<f32> = d.cast();
    assert_eq!(f.x()[[3, 1]], 30.0f32);
    assert_eq!(f.y(), d.y());
    assert_eq!(f.class_counts(), d.class_counts());
    let back: Dataset<f64> = f.cast();
    assert_eq!(back, d);
}

#[test]
fn regression_targets_batch_like_labels() {
    let d = Dataset::<f64, f64>::new(array![[1.0], [2.0], [3.0]], array![0.5, 1.5, 2.5]).unwrap();
    let batches: Vec<_> = d.batches(2, false).unwrap().collect();
    assert_eq!(batches[1].1, array![2.5]);
}
