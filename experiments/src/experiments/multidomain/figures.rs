//! The image figures of `multidomain` (S1's figures 3, 5, 7 and 8, and synthetic MNIST), as
//! PNGs in `OUT/multidomain/figures/`. They depend on the config and the stored models only,
//! not on the run seed: every run writes the same files.

use std::path::Path;

use anyhow::Result;
use methods::multidomain::maps::{DilatedConv, DomainMap, GaussianNoise, NoiseReading};
use methods::multidomain::vae::{Decoder, Vae};
use ndarray::{Array2, ArrayView1, Axis};
use nn::data::Dataset;

use crate::experiment::{seed_stream, Figure};
use crate::results::{write_image_grid, GreyScale, ImageRow};

/// Fashion-MNIST's class names, by label.
pub const CLOTHES: [&str; 10] = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
];

/// Pixels per image pixel.
const SCALE: u32 = 3;
/// Points per axis of the latent grids.
const GRID: usize = 15;
/// Generated digits shown per clothes image.
const GENERATED: usize = 8;

/// The figures, with their captions, for the report.
pub fn list() -> Vec<Figure> {
    [
        (
            "sample_noise_dilation.png",
            "S1 figures 3 and 5: three small-part images (rows), as the student sees them, with \
             the noise of each reading added, and after the dilated convolution (24×24). Each \
             image is scaled to its own range of values.",
        ),
        (
            "vae_pairs.png",
            "S1 figure 7: one big-part clothes image per class with the digit it is paired with \
             for training the VAE, the VAE's reconstruction of the clothes, and φ(x), the digit \
             it maps the clothes to (mean code).",
        ),
        (
            "synthetic_mnist.png",
            "Synthetic MNIST: one small-part clothes image per class (first column) and digits \
             generated from it by sampling the latent z ~ q(z|x) (S1 generates 70 per image).",
        ),
        (
            "latent_grid_digits.png",
            "S1 figure 8a: the digit decoder of the 2-D-latent VAE on a 15×15 grid of latent \
             codes, z₁, z₂ from −2σ_p to 2σ_p.",
        ),
        (
            "latent_grid_clothes.png",
            "S1 figure 8b: the clothes decoder of the 2-D-latent VAE on the same grid.",
        ),
    ]
    .into_iter()
    .map(|(file, caption)| Figure {
        file: file.to_owned(),
        caption: caption.to_owned(),
    })
    .collect()
}

/// A 784-pixel row as a 28×28 image (or `side × side`).
fn image(row: ArrayView1<'_, f32>) -> Array2<f32> {
    let side = (row.len() as f64).sqrt().round() as usize;
    row.to_owned()
        .into_shape_with_order((side, side))
        .expect("square images")
}

/// The first index of every class in `labels`, in class order (classes without one skipped).
fn first_of_each_class(labels: &[usize]) -> Vec<usize> {
    (0..CLOTHES.len())
        .filter_map(|c| labels.iter().position(|&y| y == c))
        .collect()
}

/// Figures 3 and 5: three small-part images, noisy in both readings, and dilated.
pub fn noise_and_dilation(dir: &Path, small: &Dataset<f32>, seed: u64) -> Result<()> {
    let picks: Vec<usize> = first_of_each_class(small.y().as_slice().unwrap_or(&[]))
        .into_iter()
        .take(3)
        .collect();
    let x = small.x().select(Axis(0), &picks);
    let mut rng = seed_stream(seed, "figure noise");
    let seed_noise = GaussianNoise::reading(NoiseReading::SeedVariance).apply(x.view(), &mut rng)?;
    let authors = GaussianNoise::reading(NoiseReading::Authors).apply(x.view(), &mut rng)?;
    let dilated = DilatedConv::authors(28, 28)?.apply(x.view(), &mut rng)?;
    let rows: Vec<ImageRow> = picks
        .iter()
        .enumerate()
        .map(|(i, &k)| ImageRow {
            label: CLOTHES[small.y()[k]].to_owned(),
            images: vec![
                image(x.row(i)),
                image(seed_noise.row(i)),
                image(authors.row(i)),
                image(dilated.row(i)),
            ],
        })
        .collect();
    write_image_grid(
        &dir.join("sample_noise_dilation.png"),
        "original | + N(0, 0.1) | + 0.08·N(0, 1), clipped | dilated 3×3 kernel, d = 2",
        &rows,
        SCALE,
        GreyScale::PerImage,
    )
}

/// Figure 7: big-part clothes, their paired digits, the reconstructions and φ.
pub fn vae_pairs(
    dir: &Path,
    vae: &Vae<f32>,
    big: &Dataset<f32>,
    paired_digits: &Array2<f32>,
) -> Result<()> {
    let picks = first_of_each_class(big.y().as_slice().unwrap_or(&[]));
    let x = big.x().select(Axis(0), &picks);
    let digits = paired_digits.select(Axis(0), &picks);
    let recon = vae.reconstruct(x.view(), Decoder::Clothes)?;
    let phi = vae.reconstruct(x.view(), Decoder::Digits)?;
    let row = |label: &str, a: &Array2<f32>| ImageRow {
        label: label.to_owned(),
        images: a.rows().into_iter().map(image).collect(),
    };
    write_image_grid(
        &dir.join("vae_pairs.png"),
        "VAE (latent 64): training pairs, reconstruction and φ(x)",
        &[
            row("clothes x", &x),
            row("paired digit", &digits),
            row("reconstructed x", &recon),
            row("φ(x)", &phi),
        ],
        SCALE,
        GreyScale::Unit,
    )
}

/// Synthetic MNIST: one small-part image per class and digits generated from it.
pub fn synthetic(dir: &Path, vae: &Vae<f32>, small: &Dataset<f32>, seed: u64) -> Result<()> {
    let picks = first_of_each_class(small.y().as_slice().unwrap_or(&[]));
    let x = small.x().select(Axis(0), &picks);
    let generated = vae.sample(
        x.view(),
        Decoder::Digits,
        GENERATED,
        &mut seed_stream(seed, "figure synthetic"),
    )?;
    let rows: Vec<ImageRow> = picks
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let mut images = vec![image(x.row(i))];
            images.extend(
                (0..GENERATED).map(|s| image(generated.row(i * GENERATED + s))),
            );
            ImageRow {
                label: CLOTHES[small.y()[k]].to_owned(),
                images,
            }
        })
        .collect();
    write_image_grid(
        &dir.join("synthetic_mnist.png"),
        "synthetic MNIST: a clothes image, then digits sampled from q(z|x)",
        &rows,
        SCALE,
        GreyScale::Unit,
    )
}

/// Figure 8: both decoders of the 2-D-latent VAE on a grid of latent codes.
pub fn latent_grids(dir: &Path, vae: &Vae<f32>) -> Result<()> {
    let extent = 2.0 * vae.config().prior_std;
    let at = |i: usize| (-extent + 2.0 * extent * i as f64 / (GRID - 1) as f64) as f32;
    // row r of the figure: z₂ from the top (+) down; column c: z₁ from the left (−)
    let z = Array2::from_shape_fn((GRID * GRID, 2), |(k, j)| {
        let (r, c) = (k / GRID, k % GRID);
        if j == 0 {
            at(c)
        } else {
            at(GRID - 1 - r)
        }
    });
    for (which, file, what) in [
        (Decoder::Digits, "latent_grid_digits.png", "digits"),
        (Decoder::Clothes, "latent_grid_clothes.png", "clothes"),
    ] {
        let images = vae.decode_latent(which, z.view())?;
        let rows: Vec<ImageRow> = images
            .axis_chunks_iter(Axis(0), GRID)
            .map(|chunk| ImageRow {
                label: String::new(),
                images: chunk.rows().into_iter().map(image).collect(),
            })
            .collect();
        write_image_grid(
            &dir.join(file),
            &format!("2-D latent VAE, {what} decoder: z₁ from −{extent} (left) to {extent}, z₂ up"),
            &rows,
            2,
            GreyScale::Unit,
        )?;
    }
    Ok(())
}
