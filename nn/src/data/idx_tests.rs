//! Tests of the IDX reader and writer (included by `idx.rs`).

use super::*;
use proptest::prelude::*;
use std::path::PathBuf;

fn sample_images() -> IdxArray {
    // 3 images of 2×4, every byte distinct so a reordering would show.
    IdxArray::new(
        vec![3, 2, 4],
        (0..24).map(|i| (i * 11 % 256) as u8).collect(),
    )
    .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn p() -> PathBuf {
    PathBuf::from("test.idx")
}

#[test]
fn encode_writes_the_documented_header() {
    let a = IdxArray::new(vec![2, 1], vec![7, 9]).unwrap();
    // 00 00 | 08 | 02 | 00 00 00 02 | 00 00 00 01 | 07 09
    assert_eq!(a.encode(), vec![0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 1, 7, 9]);
}

#[test]
fn round_trip_plain_and_gzip_through_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample_images();
    for (name, compression) in [("plain", Compression::None), ("gz", Compression::Gzip)] {
        let path = dir.path().join(name);
        write_idx(&path, &a, compression).unwrap();
        let raw = fs::read(&path).unwrap();
        assert_eq!(is_gzip(&raw), compression == Compression::Gzip);
        assert_eq!(read_idx(&path, 3).unwrap(), a);
    }
}

#[test]
fn gzip_is_detected_by_content_not_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = IdxArray::new(vec![5], vec![1, 2, 3, 4, 5]).unwrap();
    let misnamed_plain = dir.path().join("labels.gz");
    let misnamed_gzip = dir.path().join("labels");
    write_idx(&misnamed_plain, &a, Compression::None).unwrap();
    write_idx(&misnamed_gzip, &a, Compression::Gzip).unwrap();
    assert_eq!(read_idx(&misnamed_plain, 1).unwrap(), a);
    assert_eq!(read_idx(&misnamed_gzip, 1).unwrap(), a);
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let bytes = sample_images().encode();
    let (a, b) = bytes.split_at(10);
    let mut two = gzip(a);
    two.extend(gzip(b));
    assert_eq!(decode_idx(&two, 3, &p()).unwrap(), sample_images());
}

#[test]
fn zero_sized_dimensions_are_valid() {
    let a = IdxArray::new(vec![0, 28, 28], vec![]).unwrap();
    assert_eq!(decode_idx(&a.encode(), 3, &p()).unwrap(), a);
}

#[test]
fn idx_array_new_rejects_a_wrong_length() {
    assert!(IdxArray::new(vec![2, 3], vec![0; 5]).is_err());
    assert!(IdxArray::new(vec![0; 256], vec![]).is_err());
}

#[test]
fn short_file_is_truncated_magic() {
    let err = decode_idx(&[0, 0, 8], 1, &p()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                part: "magic number",
                expected: 4,
                found: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("test.idx"), "{err}");
}

#[test]
fn nonzero_magic_is_bad_magic() {
    let err = decode_idx(b"PK\x03\x04rest", 1, &p()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: [0x50, 0x4b],
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("50 4b"), "{err}");
}

#[test]
fn other_element_types_are_rejected_by_name() {
    let err = decode_idx(&[0, 0, 0x0D, 1, 0, 0, 0, 0], 1, &p()).unwrap_err();
    assert!(
        matches!(err, DataError::UnsupportedType { code: 0x0D, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("32-bit float"), "{err}");
}

#[test]
fn wrong_dimension_count_names_both() {
    let labels = IdxArray::new(vec![2], vec![1, 2]).unwrap().encode();
    let err = decode_idx(&labels, 3, &p()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongDims {
                expected: 3,
                found: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("expected 3") && msg.contains("found 1"),
        "{msg}"
    );
}

#[test]
fn cut_header_is_truncated_header() {
    let bytes = sample_images().encode();
    let err = decode_idx(&bytes[..9], 3, &p()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                part: "header",
                expected: 16,
                found: 9,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn cut_data_is_truncated_data_with_both_lengths() {
    let bytes = sample_images().encode();
    let err = decode_idx(&bytes[..30], 3, &p()).unwrap_err();
    // Header 16 bytes + 3·2·4 = 24 data bytes = 40.
    assert!(
        matches!(
            err,
            DataError::Truncated {
                part: "data",
                expected: 40,
                found: 30,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn extra_bytes_are_trailing_bytes() {
    let mut bytes = sample_images().encode();
    bytes.extend_from_slice(&[1, 2, 3]);
    let err = decode_idx(&bytes, 3, &p()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TrailingBytes {
                expected: 40,
                found: 43,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("3 trailing bytes"), "{err}");
    // A single extra byte is caught too, plain and gzipped.
    let mut one = sample_images().encode();
    one.push(0);
    for bytes in [one.clone(), gzip(&one)] {
        let err = decode_idx(&bytes, 3, &p()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::TrailingBytes {
                    expected: 40,
                    found: 41,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn gzip_garbage_and_cut_gzip_are_gzip_errors() {
    let err = decode_idx(&[0x1f, 0x8b, 0xff, 0xff, 0xff], 3, &p()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    let gz = gzip(&sample_images().encode());
    let err = decode_idx(&gz[..gz.len() - 6], 3, &p()).unwrap_err();
    assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
    assert!(err.to_string().contains("distillery data fetch"), "{err}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = read_idx(Path::new("/no/such/file-idx3-ubyte"), 3).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/no/such/file-idx3-ubyte"),
        "{err}"
    );
}

#[test]
fn write_idx_into_a_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("x");
    assert!(write_idx(&path, &sample_images(), Compression::Gzip).is_err());
}

/// A small valid file, and the same file gzipped, as seeds for mutation.
fn valid_files() -> [Vec<u8>; 2] {
    let plain = sample_images().encode();
    let gz = gzip(&plain);
    [plain, gz]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64),
                                ndims in 0usize..5) {
        let _ = decode_idx(&bytes, ndims, &p());
    }

    #[test]
    fn random_headers_never_panic(type_byte in any::<u8>(), nd in any::<u8>(),
                                  rest in proptest::collection::vec(any::<u8>(), 0..48),
                                  ndims in 0usize..4) {
        // Starting with 00 00 gets past the magic check, so the deeper checks are exercised.
        let mut bytes = vec![0, 0, type_byte, nd];
        bytes.extend(rest);
        let _ = decode_idx(&bytes, ndims, &p());
    }

    #[test]
    fn mutations_and_truncations_of_a_valid_file_never_panic(
        which in 0usize..2,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let mut bytes = valid_files()[which].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        match decode_idx(&bytes, 3, &p()) {
            // An intact (or harmlessly mutated) file must still have the declared shape.
            Ok(a) => prop_assert_eq!(a.data().len(), a.dims().iter().product::<usize>()),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
