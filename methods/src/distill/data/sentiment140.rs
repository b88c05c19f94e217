//! A reader for the Sentiment140 CSV files (Go, Bhayani & Huang, 2009), for
//! `prob-distill-twitter`.
//!
//! Each row has six fields: `polarity, id, date, query, user, text`, with `polarity` 0
//! (negative), 2 (neutral; only in the small manually labelled test file) or 4 (positive). In
//! the published files every field is double-quoted; a quoted field may contain commas, and a
//! quote inside a quoted field is written twice (`""`), as in RFC 4180.
//!
//! The fields are split by the `csv` crate (RFC 4180); the line is then checked to be in
//! RFC 4180 form, which the `csv` crate does not require.
//!
//! Choices, where the format is silent:
//! * one record per line: a quote left open at the end of a line is an error (the published
//!   files have no line breaks inside fields);
//! * a line that is not valid UTF-8 is decoded as Latin-1 (ISO-8859-1, one byte per
//!   character): the 1.6M-tweet training file is Latin-1;
//! * blank lines are skipped, and so is a first line that names the six columns (a header);
//! * unquoted fields are accepted (text up to the next comma) but may not contain a quote.
//!
//! Every malformed row is an error naming the source and the line number; nothing panics.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use nn::data::Dataset;

use super::hashing::HashingFeaturizer;
use crate::{Error, Result};

/// The sentiment label of a tweet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Polarity {
    /// `0`.
    Negative,
    /// `2`.
    Neutral,
    /// `4`.
    Positive,
}

impl Polarity {
    /// The binary class used by the experiments: negative 0, positive 1, neutral none.
    pub fn binary_label(self) -> Option<usize> {
        match self {
            Polarity::Negative => Some(0),
            Polarity::Positive => Some(1),
            Polarity::Neutral => None,
        }
    }
}

/// One row of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tweet {
    /// The line number in the source, from 1.
    pub line: usize,
    /// The label.
    pub polarity: Polarity,
    /// The tweet's text (field 6), unquoted.
    pub text: String,
}

const COLUMNS: [&str; 6] = ["polarity", "id", "date", "query", "user", "text"];

/// Reads a whole Sentiment140 CSV file (see the module documentation for the format and
/// choices). For the 1.6M-row training file prefer [`open_sentiment140`] and keep only the rows
/// needed.
pub fn read_sentiment140(path: &Path) -> Result<Vec<Tweet>> {
    open_sentiment140(path)?.collect()
}

/// Opens a Sentiment140 CSV file as a stream of rows.
pub fn open_sentiment140(path: &Path) -> Result<Sentiment140Rows<BufReader<File>>> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Sentiment140Rows::new(
        BufReader::new(file),
        &path.display().to_string(),
    ))
}

/// Parses all Sentiment140 rows of any reader; `source_name` names it in error messages.
pub fn parse_sentiment140(reader: impl BufRead, source_name: &str) -> Result<Vec<Tweet>> {
    Sentiment140Rows::new(reader, source_name).collect()
}

/// The rows of a Sentiment140 CSV stream, one `Result<Tweet>` each; after an error the
/// iterator ends.
pub struct Sentiment140Rows<R> {
    reader: R,
    source_name: String,
    line: usize,
    bytes: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Sentiment140Rows<R> {
    /// Rows of `reader`; `source_name` names it in error messages.
    pub fn new(reader: R, source_name: &str) -> Self {
        Sentiment140Rows {
            reader,
            source_name: source_name.to_string(),
            line: 0,
            bytes: Vec::new(),
            done: false,
        }
    }

    fn error(&self, reason: String) -> Error {
        Error::Csv {
            source_name: self.source_name.clone(),
            line: self.line,
            reason,
        }
    }

    /// The next row, `Ok(None)` at the end of the stream.
    fn next_row(&mut self) -> Result<Option<Tweet>> {
        loop {
            self.bytes.clear();
            self.line += 1;
            let read = self
                .reader
                .read_until(b'\n', &mut self.bytes)
                .map_err(|e| self.error(format!("read error: {e}")))?;
            if read == 0 {
                return Ok(None);
            }
            while matches!(self.bytes.last(), Some(b'\n' | b'\r')) {
                self.bytes.pop();
            }
            let text = decode(&self.bytes);
            if text.trim().is_empty() {
                continue;
            }
            let fields = split_fields(&text).map_err(|reason| self.error(reason))?;
            if self.line == 1 && is_header(&fields) {
                continue;
            }
            if fields.len() != COLUMNS.len() {
                return Err(self.error(format!(
                    "expected 6 fields (polarity, id, date, query, user, text), found {}",
                    fields.len()
                )));
            }
            let polarity = match fields[0].trim() {
                "0" => Polarity::Negative,
                "2" => Polarity::Neutral,
                "4" => Polarity::Positive,
                other => {
                    return Err(self.error(format!(
                        "polarity must be 0 (negative), 2 (neutral) or 4 (positive), found \
                         {other:?}"
                    )))
                }
            };
            let text = fields.into_iter().nth(5).expect("six fields");
            return Ok(Some(Tweet {
                line: self.line,
                polarity,
                text,
            }));
        }
    }
}

impl<R: BufRead> Iterator for Sentiment140Rows<R> {
    type Item = Result<Tweet>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let row = self.next_row().transpose();
        self.done = !matches!(row, Some(Ok(_)));
        row
    }
}

/// The binary classification set of `tweets` (negative 0, positive 1), featurised by
/// `featurizer`; neutral tweets are left out and counted (the second value).
pub fn binary_dataset<F: autograd::Float>(
    tweets: &[Tweet],
    featurizer: &HashingFeaturizer,
) -> Result<(Dataset<F>, usize)> {
    let (texts, labels): (Vec<&str>, Vec<usize>) = tweets
        .iter()
        .filter_map(|t| t.polarity.binary_label().map(|y| (t.text.as_str(), y)))
        .unzip();
    let neutral = tweets.len() - labels.len();
    let x = featurizer.matrix::<F, _>(&texts);
    Ok((Dataset::new(x, labels.into())?.with_classes(2)?, neutral))
}

fn is_header(fields: &[String]) -> bool {
    fields.len() == COLUMNS.len()
        && fields
            .iter()
            .zip(COLUMNS)
            .all(|(f, c)| f.trim().eq_ignore_ascii_case(c))
}

/// UTF-8 if valid, else Latin-1.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Splits one line, a whole record, into fields: the `csv` crate parses it (RFC 4180: fields
/// separated by commas, a quoted field may hold commas and `""` for a quote), then the line is
/// checked to be the record's own RFC 4180 form. The check gives back what the `csv` crate
/// forgives: it joins a quote left open with the next lines, keeps text after a closing quote,
/// and takes a quote inside an unquoted field literally; here each is an error naming the field.
fn split_fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    if !reader
        .read_record(&mut record)
        .map_err(|e| format!("unreadable CSV: {e}"))?
    {
        return Ok(Vec::new());
    }
    check_rfc4180(line, &record)?;
    Ok(record.iter().map(str::to_owned).collect())
}

/// Checks that `line` is exactly `record` written in RFC 4180 form, each field quoted or not as
/// in the line: a quoted field is `"` + the field with every quote doubled + `"`, an unquoted
/// one is the field itself and holds no quote; fields are separated by single commas.
fn check_rfc4180(line: &str, record: &csv::StringRecord) -> std::result::Result<(), String> {
    let mut at = 0;
    for (i, field) in record.iter().enumerate() {
        let column = i + 1;
        if i > 0 {
            // the csv crate ended the previous field at a comma (or at a line break: below)
            if !line[at..].starts_with(',') {
                break;
            }
            at += 1;
        }
        let rest = &line[at..];
        if rest.starts_with('"') {
            let quoted = format!("\"{}\"", field.replace('"', "\"\""));
            if rest.starts_with(&quoted) {
                at += quoted.len();
            } else if rest == &quoted[..quoted.len() - 1] {
                return Err(format!(
                    "field {column}: the quote opened here is never closed (one record per \
                     line is expected)"
                ));
            } else {
                return Err(format!(
                    "field {column}: unexpected text after the closing quote (expected a comma \
                     or the end of the line)"
                ));
            }
        } else if field.contains('"') {
            return Err(format!(
                "field {column}: a quote inside an unquoted field (quote the whole field and \
                 double the inner quote)"
            ));
        } else {
            at += field.len();
        }
    }
    match line[at..].chars().next() {
        None => Ok(()),
        Some(c) => Err(format!(
            "unexpected {c:?} after field {} (one record per line is expected)",
            record.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_keep_commas_and_doubled_quotes() {
        let f = split_fields(r#""0","1","Mon","NO_QUERY","u","a, ""quoted"" b""#).unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(f[5], r#"a, "quoted" b"#);
        let f = split_fields("4,2,d,q,u,plain text").unwrap();
        assert_eq!(f[5], "plain text");
        assert_eq!(split_fields(r#"a,"",b"#).unwrap(), vec!["a", "", "b"]);
        assert_eq!(split_fields("a,,").unwrap(), vec!["a", "", ""]);
    }

    #[test]
    fn what_the_csv_crate_forgives_is_an_error_naming_the_field() {
        // the csv crate reads `"a"x` as `ax`, `b"c` as `b"c`, and ends a record at a bare CR
        let err = |line: &str| split_fields(line).unwrap_err();
        assert!(err(r#"1,"a"x,2"#).starts_with("field 2: unexpected text after the closing"));
        assert!(err(r#"1,2,b"c"#).starts_with("field 3: a quote inside an unquoted field"));
        assert!(err(r#"1,"open"#).starts_with("field 2: the quote opened here is never closed"));
        assert!(
            err("a,b\rc").contains("'\\r' after field 2"),
            "{}",
            err("a,b\rc")
        );
    }

    #[test]
    fn latin1_bytes_are_decoded_one_char_per_byte() {
        // 0xE9 alone is invalid UTF-8; as Latin-1 it is 'é'.
        assert_eq!(decode(&[b'c', b'a', b'f', 0xE9]), "café");
        assert_eq!(decode("café".as_bytes()), "café");
    }
}
