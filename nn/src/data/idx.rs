//! The IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! offset 0      2 bytes   0x00 0x00
//! offset 2      1 byte    element type: 0x08 unsigned byte (the only one MNIST uses)
//! offset 3      1 byte    number of dimensions d
//! offset 4      4·d bytes the dimensions n_1 … n_d, u32 each
//! offset 4+4d   n_1·…·n_d elements, row-major (the last dimension varies fastest)
//! ```
//!
//! Images files have d = 3 (count × rows × columns), labels files d = 1. A file is gzip when it
//! starts with the gzip magic bytes `1f 8b` — decided by the content, never by the file name
//! (an IDX file always starts with `00 00`, so the two cannot be confused).

use std::borrow::Cow;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

use super::error::{DataError, Result};
use super::fsutil::write_atomic;

/// The first two bytes of every gzip stream.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The IDX element type code of unsigned bytes.
pub const TYPE_U8: u8 = 0x08;

/// The largest file size, and decompressed size, accepted (1 GiB; the largest file used,
/// Fashion-MNIST's training images, is 47 MB). Protects against a corrupt or hostile file that
/// decompresses without end.
pub const MAX_DECOMPRESSED: u64 = 1 << 30;

/// An n-dimensional array of bytes read from (or to be written to) an IDX file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    dims: Vec<usize>,
    data: Vec<u8>,
}

impl IdxArray {
    /// An array with the given dimensions and row-major data.
    ///
    /// Errors unless `data.len()` is the product of `dims`, there are at most 255 dimensions and
    /// each fits in the format's u32.
    pub fn new(dims: Vec<usize>, data: Vec<u8>) -> Result<Self> {
        if dims.len() > 255 {
            return Err(DataError::InvalidArgument(format!(
                "an IDX file has at most 255 dimensions, got {}",
                dims.len()
            )));
        }
        if let Some(d) = dims.iter().find(|&&d| u32::try_from(d).is_err()) {
            return Err(DataError::InvalidArgument(format!(
                "IDX dimensions are u32: {d} does not fit"
            )));
        }
        let count = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if count != Some(data.len()) {
            return Err(DataError::InvalidArgument(format!(
                "IDX dimensions {dims:?} need {} elements, got {}",
                count.map_or_else(|| "more than usize::MAX".to_owned(), |c| c.to_string()),
                data.len()
            )));
        }
        Ok(IdxArray { dims, data })
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Takes the elements out.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    /// The uncompressed IDX encoding: header then data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.dims.len() + self.data.len());
        // `new` guarantees at most 255 dimensions, each fitting in u32.
        out.extend_from_slice(&[0, 0, TYPE_U8, self.dims.len() as u8]);
        for &d in &self.dims {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// Whether a file is written plain or gzip-compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain IDX.
    None,
    /// Gzip (default level), as the upstream downloads.
    Gzip,
}

/// A readable name for an IDX element type code, for error messages.
pub fn element_type_name(code: u8) -> &'static str {
    match code {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "16-bit integer",
        0x0C => "32-bit integer",
        0x0D => "32-bit float",
        0x0E => "64-bit float",
        _ => "not an IDX type",
    }
}

/// Whether `bytes` start with the gzip magic bytes.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// The content of `bytes`: decompressed if they are gzip, borrowed as they are otherwise.
/// `path` only names the source in errors.
pub fn decompress_if_gzip<'a>(bytes: &'a [u8], path: &Path) -> Result<Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let mut reader = MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| gzip_error(path, &e))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(DataError::TooLarge {
            path: path.to_owned(),
            limit: MAX_DECOMPRESSED,
        });
    }
    Ok(Cow::Owned(out))
}

/// The gzip error for a decompression failure, with "ends early" spelled out.
pub(super) fn gzip_error(path: &Path, e: &io::Error) -> DataError {
    let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
        "the compressed stream ends early".to_owned()
    } else {
        e.to_string()
    };
    DataError::Gzip {
        path: path.to_owned(),
        reason,
    }
}

/// Parses decompressed IDX content, checking it has `expected_ndims` dimensions and exactly the
/// length its header declares. `path` only names the source in errors.
pub fn parse_idx(content: &[u8], expected_ndims: usize, path: &Path) -> Result<IdxArray> {
    let header_len = check_header(content, expected_ndims, path)?;
    let dims = read_dims(content, expected_ndims);
    Ok(IdxArray {
        dims,
        data: content[header_len..].to_vec(),
    })
}

/// Validates the header and total length; returns the header length.
fn check_header(content: &[u8], expected_ndims: usize, path: &Path) -> Result<usize> {
    let truncated = |part, expected: usize| DataError::Truncated {
        path: path.to_owned(),
        part,
        expected: expected as u128,
        found: content.len(),
    };
    if content.len() < 4 {
        return Err(truncated("magic number", 4));
    }
    if content[0] != 0 || content[1] != 0 {
        return Err(DataError::BadMagic {
            path: path.to_owned(),
            found: [content[0], content[1]],
        });
    }
    if content[2] != TYPE_U8 {
        return Err(DataError::UnsupportedType {
            path: path.to_owned(),
            code: content[2],
        });
    }
    let ndims = usize::from(content[3]);
    if ndims != expected_ndims {
        return Err(DataError::WrongDims {
            path: path.to_owned(),
            expected: expected_ndims,
            found: ndims,
        });
    }
    let header_len = 4 + 4 * ndims;
    if content.len() < header_len {
        return Err(truncated("header", header_len));
    }
    // Up to 255 factors below 2^32 can overflow even u128: saturate, the comparison still holds.
    let count = read_dims(content, ndims)
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))
        .unwrap_or(u128::MAX);
    let expected = count.saturating_add(header_len as u128);
    let found = content.len() as u128;
    if found < expected {
        return Err(DataError::Truncated {
            path: path.to_owned(),
            part: "data",
            expected,
            found: content.len(),
        });
    }
    if found > expected {
        return Err(DataError::TrailingBytes {
            path: path.to_owned(),
            expected,
            found: content.len(),
        });
    }
    Ok(header_len)
}

/// The `ndims` big-endian u32 dimensions after the 4-byte magic (the caller checked the length).
fn read_dims(content: &[u8], ndims: usize) -> Vec<usize> {
    content[4..4 + 4 * ndims]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect()
}

/// Decodes an IDX file's bytes, plain or gzip (detected by the magic bytes).
pub fn decode_idx(raw: &[u8], expected_ndims: usize, path: &Path) -> Result<IdxArray> {
    match decompress_if_gzip(raw, path)? {
        Cow::Borrowed(content) => parse_idx(content, expected_ndims, path),
        Cow::Owned(content) => parse_idx_owned(content, expected_ndims, path),
    }
}

/// [`parse_idx`] reusing the buffer for the data instead of copying it out.
fn parse_idx_owned(mut content: Vec<u8>, expected_ndims: usize, path: &Path) -> Result<IdxArray> {
    let header_len = check_header(&content, expected_ndims, path)?;
    let dims = read_dims(&content, expected_ndims);
    content.drain(..header_len);
    Ok(IdxArray {
        dims,
        data: content,
    })
}

/// Reads an IDX file, plain or gzip, with `expected_ndims` dimensions.
pub fn read_idx(path: &Path, expected_ndims: usize) -> Result<IdxArray> {
    let size = fs::metadata(path)
        .map_err(|e| DataError::io("read", path, e))?
        .len();
    if size > MAX_DECOMPRESSED {
        return Err(DataError::TooLarge {
            path: path.to_owned(),
            limit: MAX_DECOMPRESSED,
        });
    }
    let raw = fs::read(path).map_err(|e| DataError::io("read", path, e))?;
    if is_gzip(&raw) {
        decode_idx(&raw, expected_ndims, path)
    } else {
        parse_idx_owned(raw, expected_ndims, path)
    }
}

/// Writes an IDX file atomically (temporary file, then rename), plain or gzip.
pub fn write_idx(path: &Path, array: &IdxArray, compression: Compression) -> Result<()> {
    let encoded = array.encode();
    write_atomic(path, |out| match compression {
        Compression::None => out.write_all(&encoded),
        Compression::Gzip => {
            let mut gz = GzEncoder::new(out, flate2::Compression::default());
            gz.write_all(&encoded)?;
            gz.finish().map(drop)
        }
    })
}

#[cfg(test)]
#[path = "idx_tests.rs"]
mod tests;
