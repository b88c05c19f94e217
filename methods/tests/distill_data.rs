//! The Sentiment140 reader (on small CSV files written here), the hashing featuriser and the
//! privileged-information generator.

use std::path::PathBuf;

use methods::distill::data::{
    binary_dataset, parse_sentiment140, read_sentiment140, tokenize, HashingFeaturizer, Polarity,
    PrivilegedDataConfig, Sentiment140Rows,
};
use methods::Error;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn write_tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("methods-{name}.csv"));
    std::fs::write(&path, bytes).unwrap();
    path
}

const GOOD: &str = concat!(
    "\"0\",\"1467810369\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"user_a\",\"@bob that's a bummer, you shoulda got David Carr\"\n",
    "\r\n",
    "\"4\",\"1467822272\",\"Mon Apr 06 22:22:45 PDT 2009\",\"NO_QUERY\",\"user_b\",\"I \"\"love\"\" it, really\"\r\n",
    "\"2\",\"3\",\"Mon May 11 03:17:40 UTC 2009\",\"kindle2\",\"user_c\",\"neutral text\"\n",
);

#[test]
fn reads_quoted_rows_with_commas_quotes_and_crlf() {
    let path = write_tmp("good", GOOD.as_bytes());
    let tweets = read_sentiment140(&path).unwrap();
    assert_eq!(tweets.len(), 3);
    assert_eq!(tweets[0].polarity, Polarity::Negative);
    assert_eq!(
        tweets[0].text,
        "@bob that's a bummer, you shoulda got David Carr"
    );
    assert_eq!(tweets[1].line, 3, "the blank line 2 is skipped but counted");
    assert_eq!(tweets[1].text, "I \"love\" it, really");
    assert_eq!(tweets[2].polarity, Polarity::Neutral);

    let (data, neutral) = binary_dataset::<f32>(&tweets, &HashingFeaturizer::default()).unwrap();
    assert_eq!((data.len(), data.dim(), neutral), (2, 768, 1));
    assert_eq!(data.y().to_vec(), vec![0, 1]);
}

#[test]
fn header_and_latin1_lines_are_accepted() {
    let mut bytes = b"polarity,id,date,query,user,text\n".to_vec();
    bytes.extend_from_slice(b"\"4\",\"1\",\"d\",\"q\",\"u\",\"caf\xe9 time\"\n");
    let tweets = parse_sentiment140(&bytes[..], "inline").unwrap();
    assert_eq!(tweets.len(), 1);
    assert_eq!(tweets[0].text, "café time");
    assert_eq!(tweets[0].line, 2);
}

/// Parses `content` and returns the error, which must be a CSV error at `line`.
fn csv_error(content: &str, line: usize) -> String {
    match parse_sentiment140(content.as_bytes(), "test.csv") {
        Err(e @ Error::Csv { .. }) => {
            let Error::Csv {
                line: got,
                ref source_name,
                ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(got, line, "{e}");
            assert_eq!(source_name, "test.csv");
            e.to_string()
        }
        other => panic!("expected a CSV error at line {line}, got {other:?}"),
    }
}

#[test]
fn malformed_rows_are_errors_that_name_the_line() {
    let ok = "\"0\",\"1\",\"d\",\"q\",\"u\",\"fine\"\n";
    let msg = csv_error(&format!("{ok}\"0\",\"1\",\"d\",\"q\",\"u\"\n"), 2);
    assert!(
        msg.contains("expected 6 fields") && msg.contains("found 5"),
        "{msg}"
    );
    let msg = csv_error(&format!("{ok}{ok}\"1\",\"1\",\"d\",\"q\",\"u\",\"t\"\n"), 3);
    assert!(msg.contains("polarity must be 0"), "{msg}");
    let msg = csv_error("\"0\",\"1\",\"d\",\"q\",\"u\",\"never closed\n", 1);
    assert!(msg.contains("never closed"), "{msg}");
    let msg = csv_error("\"0\"x,\"1\",\"d\",\"q\",\"u\",\"t\"\n", 1);
    assert!(msg.contains("after the closing quote"), "{msg}");
    let msg = csv_error("0,1,d,q,u,say \"hi\"\n", 1);
    assert!(msg.contains("quote inside an unquoted field"), "{msg}");
    let msg = csv_error("0,1,d,q,u,a,b\n", 1);
    assert!(msg.contains("found 7"), "{msg}");
}

#[test]
fn the_row_stream_stops_after_the_first_error() {
    let content = "0,1,d,q,u,fine\n9,1,d,q,u,bad polarity\n4,1,d,q,u,never read\n";
    let rows: Vec<_> = Sentiment140Rows::new(content.as_bytes(), "inline").collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].is_ok() && rows[1].is_err());
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("methods-no-such-file.csv");
    let err = read_sentiment140(&path).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(
        err.to_string().contains("methods-no-such-file.csv"),
        "{err}"
    );
}

#[test]
fn tokens_are_normalised() {
    assert_eq!(
        tokenize("@Bob I DON'T like http://x.co &quot;this&quot;, 'ok'"),
        vec!["<user>", "i", "don't", "like", "<url>", "this", "ok"]
    );
    assert!(tokenize("  ... !!! ").is_empty());
}

#[test]
fn hashed_features_are_deterministic_unit_vectors() {
    let f = HashingFeaturizer::default();
    let a = f.features("good morning sunshine");
    assert_eq!(a, f.features("Good   morning, sunshine!"));
    let norm: f64 = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-12);
    // 3 unigrams + 2 bigrams: at most 5 non-zero buckets, each a signed count.
    assert!(a.iter().filter(|v| **v != 0.0).count() <= 5);
    // word order changes only the bigrams
    let unigrams = HashingFeaturizer::new(768, false).unwrap();
    assert_eq!(unigrams.features("a b c"), unigrams.features("c b a"));
    assert_ne!(f.features("a b c"), f.features("c b a"));
    assert!(f.features("").iter().all(|v| *v == 0.0));
    assert!(HashingFeaturizer::new(0, true).is_err());
    // the sign is used: across many keys both signs occur
    let signs: Vec<f64> = (0..64).map(|i| f.bucket(&format!("1:w{i}")).1).collect();
    assert!(signs.contains(&1.0) && signs.contains(&-1.0));
}

#[test]
fn privileged_data_is_seeded_and_consistent() {
    let cfg = PrivilegedDataConfig {
        features: 5,
        train: 40,
        test: 30,
        noise_std: 0.0,
        label_noise_std: 0.0,
        privileged_fraction: 0.25,
    };
    let a = cfg
        .generate::<f64, _>(&mut StdRng::seed_from_u64(1))
        .unwrap();
    let b = cfg
        .generate::<f64, _>(&mut StdRng::seed_from_u64(1))
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(a.index.len(), 10);
    assert_eq!(a.train_privileged.dim(), (10, 5));
    assert_eq!(a.test_privileged.dim(), (30, 5));
    // ν = 0: the student's features are the privileged ones.
    for (row, &i) in a.index.indices().iter().enumerate() {
        assert_eq!(a.train_privileged.row(row), a.train.x().row(i));
    }
    // τ = 0: labels are the sign of αᵀx*.
    for (x, &y) in a.test_privileged.rows().into_iter().zip(a.test.y()) {
        assert_eq!(y, usize::from(x.dot(&a.alpha) > 0.0));
    }
    // ν > 0: noise reaches the student's view, not the teacher's.
    let noisy = PrivilegedDataConfig {
        noise_std: 1.0,
        ..cfg.clone()
    }
    .generate::<f64, _>(&mut StdRng::seed_from_u64(1))
    .unwrap();
    let i = noisy.index.indices()[0];
    assert_ne!(noisy.train_privileged.row(0), noisy.train.x().row(i));
    let bad = PrivilegedDataConfig {
        privileged_fraction: 1.5,
        ..cfg
    };
    assert!(bad
        .generate::<f32, _>(&mut StdRng::seed_from_u64(1))
        .is_err());
}
