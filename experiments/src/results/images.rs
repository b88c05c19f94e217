//! Grids of small grey images (samples, reconstructions, decoded latent grids) as PNG, for the
//! image figures that runs write into `OUT/NAME/figures/`.
//!
//! Each image is a matrix of intensities drawn in grey (0 black, 1 white, as MNIST is usually
//! shown), every pixel a `scale × scale` square; rows of images carry an optional label on the
//! left, the grid a title on top. Images of one grid may differ in size (a 24×24 dilated image
//! beside a 28×28 one): each is centred in a cell of the largest size.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use ndarray::Array2;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::register_font;

/// One row of a grid: a label (may be empty) and its images.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRow {
    /// Written left of the row.
    pub label: String,
    /// The images, each `height × width`.
    pub images: Vec<Array2<f32>>,
}

/// How intensities become grey levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GreyScale {
    /// `[0, 1]` → black … white, values outside clamped (pixel intensities).
    Unit,
    /// Each image's own `[min, max]` → black … white (transformed images whose values leave
    /// `[0, 1]`, such as a convolution's sums or unclipped noise).
    PerImage,
}

/// Pixels between cells and around the grid.
const GAP: i32 = 4;
/// Height of the title band.
const TITLE: i32 = 34;

/// Writes the grid `rows` under `title` to `path` (a PNG, written atomically), each pixel
/// `scale × scale`.
pub fn write_image_grid(
    path: &Path,
    title: &str,
    rows: &[ImageRow],
    scale: u32,
    grey: GreyScale,
) -> Result<()> {
    register_font()?;
    let cell_h = rows
        .iter()
        .flat_map(|r| &r.images)
        .map(|i| i.nrows())
        .max()
        .unwrap_or(1) as i32
        * scale as i32;
    let cell_w = rows
        .iter()
        .flat_map(|r| &r.images)
        .map(|i| i.ncols())
        .max()
        .unwrap_or(1) as i32
        * scale as i32;
    let columns = rows.iter().map(|r| r.images.len()).max().unwrap_or(1) as i32;
    let longest = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0) as i32;
    let left = if longest == 0 { GAP } else { 8 * longest + 12 };
    let width = (left + columns * (cell_w + GAP) + GAP).max(8 * title.chars().count() as i32 + 20);
    let height = TITLE + rows.len() as i32 * (cell_h + GAP) + GAP;
    let size = (width as u32, height as u32);

    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = path
        .file_name()
        .map_or_else(|| "figure".into(), |f| f.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{file}.tmp-{}.png", std::process::id()));
    let drawn = (|| {
        let root = BitMapBackend::new(&temp, size).into_drawing_area();
        draw(
            root,
            title,
            rows,
            scale as i32,
            (cell_w, cell_h),
            left,
            grey,
        )?;
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, path)?;
        Ok::<(), anyhow::Error>(())
    })();
    if drawn.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    drawn.with_context(|| format!("cannot write {}", path.display()))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    rows: &[ImageRow],
    scale: i32,
    (cell_w, cell_h): (i32, i32),
    left: i32,
    grey: GreyScale,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("drawing failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let (width, _) = root.dim_in_pixel();
    let centred = TextStyle::from(("sans-serif", 18.0).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(
        title.to_owned(),
        (width as i32 / 2, TITLE / 2),
        centred,
    ))
    .map_err(err)?;
    let label_style = TextStyle::from(("sans-serif", 14.0).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (r, row) in rows.iter().enumerate() {
        let y0 = TITLE + r as i32 * (cell_h + GAP);
        if !row.label.is_empty() {
            root.draw(&Text::new(
                row.label.clone(),
                (left - 8, y0 + cell_h / 2),
                label_style.clone(),
            ))
            .map_err(err)?;
        }
        for (c, image) in row.images.iter().enumerate() {
            let x0 = left + c as i32 * (cell_w + GAP);
            let (h, w) = (image.nrows() as i32 * scale, image.ncols() as i32 * scale);
            let (ox, oy) = (x0 + (cell_w - w) / 2, y0 + (cell_h - h) / 2);
            let (lo, hi) = match grey {
                GreyScale::Unit => (0.0, 1.0),
                GreyScale::PerImage => image
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    }),
            };
            let span = if hi > lo { hi - lo } else { 1.0 };
            for ((i, j), &v) in image.indexed_iter() {
                let level = (((v - lo) / span).clamp(0.0, 1.0) * 255.0).round() as u8;
                let (px, py) = (ox + j as i32 * scale, oy + i as i32 * scale);
                root.draw(&Rectangle::new(
                    [(px, py), (px + scale, py + scale)],
                    RGBColor(level, level, level).filled(),
                ))
                .map_err(err)?;
            }
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_of_the_grid_s_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("figures").join("grid.png");
        let image = Array2::from_shape_fn((28, 28), |(i, j)| ((i + j) % 2) as f32);
        let small = Array2::from_elem((24, 24), 3.0f32);
        let rows = [
            ImageRow {
                label: "clothes".into(),
                images: vec![image.clone(), image],
            },
            ImageRow {
                label: String::new(),
                images: vec![small],
            },
        ];
        write_image_grid(&path, "a title", &rows, 2, GreyScale::PerImage).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // IHDR: width and height, big-endian, at bytes 16..24
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let left = 8 * 7 + 12;
        assert_eq!(width as i32, left + 2 * (56 + GAP) + GAP);
        assert_eq!(height as i32, TITLE + 2 * (56 + GAP) + GAP);
        // nothing left behind but the figure
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["grid.png"]);
    }
}
