//! Tests of the fetch path (included by `fetch.rs`), offline: the downloader is a closure that
//! serves bytes made in the test.

use super::super::checksum::sha256_hex;
use super::*;
use std::cell::Cell;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Everything in `dir` (names), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A downloader serving `good` from URLs containing "good", garbage from "bad", and failing
/// for anything else; counts calls.
struct Fake<'a> {
    good: &'a [u8],
    calls: &'a Cell<usize>,
}

fn fake<'a>(good: &'a [u8], calls: &'a Cell<usize>) -> Fake<'a> {
    Fake { good, calls }
}

impl Downloader for Fake<'_> {
    fn download(
        &self,
        url: &str,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> std::result::Result<(), String> {
        self.calls.set(self.calls.get() + 1);
        let body: &[u8] = if url.contains("good") {
            self.good
        } else if url.contains("bad") {
            b"<html>not the file</html>"
        } else {
            return Err("connection refused".to_owned());
        };
        copy_with_progress(&mut &body[..], out, Some(body.len() as u64), progress)
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

#[test]
fn verify_and_install_moves_a_good_file_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let content = b"IDX bytes";
    let hash = sha256_hex(content);
    let reference = Reference {
        decompressed: Some(&hash),
        download: None,
    };
    let temp = dir.path().join(".incoming");
    fs::write(&temp, gz(content)).unwrap();
    fs::write(dir.path().join("data"), b"stale plain copy").unwrap();
    let path =
        verify_and_install(&temp, "data", &reference, "https://x/data.gz", dir.path()).unwrap();
    assert_eq!(path, dir.path().join("data.gz"));
    assert_eq!(
        listing(dir.path()),
        ["data.gz"],
        "temp renamed, stale copy removed"
    );
    assert!(verify_file(&path, &reference).is_ok());
}

#[test]
fn a_mismatch_deletes_the_temp_and_names_file_url_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let expected = sha256_hex(b"the real thing");
    let reference = Reference {
        decompressed: Some(&expected),
        download: None,
    };
    let temp = dir.path().join(".incoming");
    fs::write(&temp, gz(b"something else")).unwrap();
    let err = verify_and_install(
        &temp,
        "data",
        &reference,
        "https://mirror/data.gz",
        dir.path(),
    )
    .unwrap_err();
    let found = sha256_hex(b"something else");
    assert!(
        matches!(&err, DataError::ChecksumMismatch { file, url, expected: e, found: f, .. }
            if file == "data" && url == "https://mirror/data.gz" && *e == expected && *f == found),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&expected) && msg.contains(&found) && msg.contains("https://mirror"),
        "{msg}"
    );
    assert!(
        listing(dir.path()).is_empty(),
        "temp not deleted: {:?}",
        listing(dir.path())
    );
}

#[test]
fn a_file_with_no_applicable_checksum_is_not_installed() {
    let dir = tempfile::tempdir().unwrap();
    let reference = Reference {
        decompressed: None,
        download: Some("00"),
    };
    let temp = dir.path().join(".incoming");
    fs::write(&temp, b"plain bytes").unwrap();
    assert!(verify_and_install(&temp, "data", &reference, "u", dir.path()).is_err());
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn fetch_falls_back_to_the_next_mirror_and_then_skips_verified_files() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("cache").join("set");
    let payload = gz(b"payload");
    let hash = sha256_hex(b"payload");
    let calls = Cell::new(0);
    let downloader = fake(&payload, &calls);
    let items = [FetchItem {
        name: "data",
        urls: vec!["https://bad/data.gz".into(), "https://good/data.gz".into()],
        reference: Reference {
            decompressed: Some(&hash),
            download: None,
        },
    }];
    let mut seen = Vec::new();
    let out = fetch_items(&items, &dest, &downloader, &mut |p| {
        seen.push((p.url.to_owned(), p.received, p.total))
    })
    .unwrap();
    assert_eq!(
        out,
        [FetchOutcome::Downloaded {
            path: dest.join("data.gz"),
            url: "https://good/data.gz".into()
        }]
    );
    assert_eq!(listing(&dest), ["data.gz"]);
    let last = seen.last().unwrap();
    assert_eq!(
        last,
        &(
            "https://good/data.gz".to_owned(),
            payload.len() as u64,
            Some(payload.len() as u64)
        )
    );
    assert_eq!(calls.get(), 2);

    let again = fetch_items(&items, &dest, &downloader, &mut |_| {}).unwrap();
    assert_eq!(again, [FetchOutcome::AlreadyPresent(dest.join("data.gz"))]);
    assert_eq!(
        calls.get(),
        2,
        "a verified file must not be downloaded again"
    );
}

#[test]
fn when_every_mirror_fails_the_error_lists_each_and_nothing_is_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let hash = sha256_hex(b"payload");
    let calls = Cell::new(0);
    let downloader = fake(b"", &calls);
    let items = [FetchItem {
        name: "data",
        urls: vec!["https://bad/data.gz".into(), "https://down/data.gz".into()],
        reference: Reference {
            decompressed: Some(&hash),
            download: None,
        },
    }];
    let err = fetch_items(&items, dir.path(), &downloader, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::FetchFailed { .. }), "{err:?}");
    assert!(
        msg.contains("https://bad/data.gz") && msg.contains("checksum mismatch"),
        "{msg}"
    );
    assert!(
        msg.contains("https://down/data.gz") && msg.contains("connection refused"),
        "{msg}"
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn a_single_network_failure_is_a_download_error() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Cell::new(0);
    let downloader = fake(b"", &calls);
    let items = [FetchItem {
        name: "data",
        urls: vec!["https://down/data.gz".into()],
        reference: Reference {
            decompressed: Some("00"),
            download: None,
        },
    }];
    let err = fetch_items(&items, dir.path(), &downloader, &mut |_| {}).unwrap_err();
    assert!(matches!(err, DataError::Download { .. }), "{err:?}");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn fetch_dataset_verifies_against_the_table() {
    let dir = tempfile::tempdir().unwrap();
    // Serve a well-formed gzip that is not Fashion-MNIST from every mirror.
    let impostor = gz(b"not fashion");
    let calls = Cell::new(0);
    let serve_all = |_: &str, out: &mut dyn Write, p: &mut dyn FnMut(u64, Option<u64>)| {
        calls.set(calls.get() + 1);
        copy_with_progress(&mut &impostor[..], out, None, p)
            .map(drop)
            .map_err(|e| e.to_string())
    };
    let err =
        fetch_dataset(DatasetId::FashionMnist, dir.path(), &serve_all, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    assert!(
        msg.contains("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
        "{msg}"
    );
    assert!(
        msg.contains("fashion-mnist.s3-website") && msg.contains("raw.githubusercontent.com"),
        "{msg}"
    );
    assert_eq!(
        calls.get(),
        2,
        "stops at the first file no mirror could provide"
    );
    assert!(listing(&dir.path().join("fashion-mnist")).is_empty());
    assert!(fetch_dataset(DatasetId::Mnist10k, dir.path(), &serve_all, &mut |_| {}).is_err());
}

#[test]
fn copy_with_progress_refuses_oversized_bodies() {
    let mut endless = io::repeat(0u8).take(MAX_DOWNLOAD + 1);
    let err = copy_with_progress(&mut endless, &mut io::sink(), None, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
}
