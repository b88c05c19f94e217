//! Loading the image data sets from IDX files into [`Dataset`]s.
//!
//! Pixels are bytes `$b \in \{0, \dots, 255\}$` and become features `$b / 255 \in[0, 1]$`; each
//! image is flattened row by row into one row of the feature matrix, with its [`ImageShape`] (1 ×
//! rows × columns) recorded.

use std::path::Path;

use ndarray::Array2;
use num_traits::Float;

use super::catalog::{DatasetId, FileRole};
use super::dataset::{check_labels, Dataset, ImageShape};
use super::discover::Located;
use super::error::{DataError, Result};
use super::idx::{read_idx, IdxArray};

/// Which part of a data set to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The official training set.
    Train,
    /// The official test set.
    Test,
    /// Everything: training then test, or the whole of a set without a split.
    All,
}

/// The official training and test sets of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest<F> {
    /// Training set.
    pub train: Dataset<F>,
    /// Test set.
    pub test: Dataset<F>,
}

/// Features `b / 255` of an images IDX array (n × rows × columns) as an n × (rows·columns)
/// matrix, with the image shape 1 × rows × columns.
pub fn images_to_features<F: Float>(images: &IdxArray) -> Result<(Array2<F>, ImageShape)> {
    let &[n, rows, cols] = images.dims() else {
        return Err(DataError::InvalidArgument(format!(
            "an images array has 3 dimensions, got {:?}",
            images.dims()
        )));
    };
    // Exact in f64, rounded once to F: 256 values, looked up per pixel.
    let table: Vec<F> = (0..=255u8)
        .map(|b| F::from(f64::from(b) / 255.0).unwrap_or_else(F::nan))
        .collect();
    let values: Vec<F> = images
        .data()
        .iter()
        .map(|&b| table[usize::from(b)])
        .collect();
    let x = Array2::from_shape_vec((n, rows * cols), values)
        .map_err(|e| DataError::InvalidArgument(e.to_string()))?;
    let shape = ImageShape {
        channels: 1,
        height: rows,
        width: cols,
    };
    Ok((x, shape))
}

/// Loads an images file and a labels file (each plain or gzip) as one data set of
/// `num_classes` classes, checking that they hold the same number of samples and that every
/// label is a class index.
pub fn load_pair<F: Float>(images: &Path, labels: &Path, num_classes: usize) -> Result<Dataset<F>> {
    let image_array = read_idx(images, 3)?;
    let label_array = read_idx(labels, 1)?;
    let (n_images, n_labels) = (image_array.dims()[0], label_array.dims()[0]);
    if n_images != n_labels {
        return Err(DataError::Mismatched {
            images: images.to_owned(),
            detail: format!(
                "holds {n_images} images but {} holds {n_labels} labels; the two files do not \
                 belong together",
                labels.display()
            ),
        });
    }
    let y: Vec<usize> = label_array.data().iter().map(|&b| usize::from(b)).collect();
    check_labels(
        y.iter().copied(),
        num_classes,
        &labels.display().to_string(),
    )?;
    let (x, shape) = images_to_features(&image_array)?;
    Dataset::new(x, y.into())?
        .with_image_shape(shape)?
        .with_classes(num_classes)
}

/// Loads one part of a discovered data set. The 10,000-digit MNIST subset has no train/test
/// split: only [`Part::All`] is valid for it (split it with [`Dataset::split`]).
pub fn load<F: Float>(located: &Located, part: Part) -> Result<Dataset<F>> {
    let k = located.dataset.num_classes();
    let pair = |images, labels| -> Result<Dataset<F>> {
        match (located.path(images), located.path(labels)) {
            (Some(i), Some(l)) => load_pair(i, l, k),
            _ => Err(DataError::InvalidArgument(format!(
                "{} has no {images:?}/{labels:?} files",
                located.dataset
            ))),
        }
    };
    match (located.dataset, part) {
        (DatasetId::Mnist10k, Part::All) => pair(FileRole::Images, FileRole::Labels),
        (DatasetId::Mnist10k, _) => Err(DataError::InvalidArgument(
            "the 10,000-digit MNIST subset has no train/test split: load Part::All and split it \
             with Dataset::split"
                .to_owned(),
        )),
        (_, Part::Train) => pair(FileRole::TrainImages, FileRole::TrainLabels),
        (_, Part::Test) => pair(FileRole::TestImages, FileRole::TestLabels),
        (_, Part::All) => pair(FileRole::TrainImages, FileRole::TrainLabels)?
            .concat(&pair(FileRole::TestImages, FileRole::TestLabels)?),
    }
}

/// Loads the official training and test sets of a discovered data set (not the 10k subset).
pub fn load_train_test<F: Float>(located: &Located) -> Result<TrainTest<F>> {
    Ok(TrainTest {
        train: load(located, Part::Train)?,
        test: load(located, Part::Test)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::idx::{write_idx, Compression};
    use super::*;

    fn write_pair(
        dir: &Path,
        n_images: usize,
        labels: Vec<u8>,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        let images = IdxArray::new(
            vec![n_images, 2, 3],
            (0..n_images * 6).map(|i| (i * 51 % 256) as u8).collect(),
        )
        .unwrap();
        let labels = IdxArray::new(vec![labels.len()], labels).unwrap();
        let (ip, lp) = (dir.join("img"), dir.join("lab.gz"));
        write_idx(&ip, &images, Compression::None).unwrap();
        write_idx(&lp, &labels, Compression::Gzip).unwrap();
        (ip, lp)
    }

    #[test]
    fn pixels_scale_to_the_unit_interval_row_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = write_pair(dir.path(), 2, vec![1, 0]);
        let d: Dataset<f64> = load_pair(&ip, &lp, 2).unwrap();
        assert_eq!(d.x().dim(), (2, 6));
        assert_eq!(
            d.image_shape(),
            Some(ImageShape {
                channels: 1,
                height: 2,
                width: 3
            })
        );
        // Pixel i is (51 i) mod 256: image 1, pixel 5 is byte 51·11 mod 256 = 49.
        assert_eq!(d.x()[[1, 5]], 49.0 / 255.0);
        assert_eq!(d.x()[[0, 5]], 1.0, "byte 255 maps to exactly 1");
        assert_eq!(d.y().to_vec(), vec![1, 0]);
        assert_eq!(d.class_counts(), vec![1, 1]);
    }

    #[test]
    fn count_mismatch_and_bad_labels_are_errors_naming_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let (ip, lp) = write_pair(dir.path(), 2, vec![1, 0, 1]);
        let err = load_pair::<f32>(&ip, &lp, 2).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("2 images") && msg.contains("3 labels") && msg.contains("lab.gz"),
            "{msg}"
        );
        let (ip, lp) = write_pair(dir.path(), 2, vec![1, 7]);
        let err = load_pair::<f32>(&ip, &lp, 2).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LabelOutOfRange {
                    index: 1,
                    label: 7,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("lab.gz"), "{err}");
        // Images and labels swapped: the dimension check catches it.
        let err = load_pair::<f32>(&lp, &ip, 2).unwrap_err();
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
    }
}
