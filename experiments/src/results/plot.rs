//! Line plots of a metric per epoch, mean over seeds with a ±std band, one line per row or
//! method; as SVG and PNG with plotters.
//!
//! Text is drawn with plotters' pure-Rust `ab_glyph` backend and the DejaVu Sans font shipped
//! in the `dejavu` crate (so no system font library is needed): SVG files name the font family
//! and let the viewer draw the text; PNG files have the glyphs rasterised into them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::report::label;
use super::stats::Stat;
use super::write_text;
use crate::experiment::PlotSpec;

/// Image size in pixels (our choice: legible in a Markdown viewer at full width).
const SIZE: (u32, u32) = (800, 500);
/// Opacity of the ±std band.
const BAND_OPACITY: f64 = 0.2;

/// Registers the embedded font as plotters' "sans-serif", once per process.
pub(super) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be loaded"))
    }
}

/// Writes `DIR/METRIC.svg` and `DIR/METRIC.png`, each atomically. Point `k` of a curve is drawn
/// at `x_values[k]` when given (a swept setting), else at epoch `k + 1`.
pub fn write_plot(
    dir: &Path,
    spec: &PlotSpec,
    title: &str,
    curves: &BTreeMap<String, Vec<Stat>>,
    x_values: Option<&[f64]>,
    quick: bool,
) -> Result<()> {
    register_font()?;
    let title = if quick {
        format!("{title} [QUICK PROTOCOL]")
    } else {
        title.to_owned()
    };
    let svg_path = dir.join(format!("{}.svg", spec.metric));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(root, spec, &title, curves, x_values)
            .with_context(|| svg_path.display().to_string())?;
    }
    write_text(&svg_path, &svg)?;

    // The bitmap backend writes to a path on `present`: draw into a hidden temporary file beside
    // the destination (the `.png` extension picks the encoder), then rename it into place.
    let png_path = dir.join(format!("{}.png", spec.metric));
    let temp = dir.join(format!(".{}.tmp-{}.png", spec.metric, std::process::id()));
    let drawn = (|| {
        let root = BitMapBackend::new(&temp, SIZE).into_drawing_area();
        draw(root, spec, &title, curves, x_values)?;
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, &png_path)?;
        Ok::<(), anyhow::Error>(())
    })();
    if drawn.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    drawn.with_context(|| format!("cannot write {}", png_path.display()))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    spec: &PlotSpec,
    title: &str,
    curves: &BTreeMap<String, Vec<Stat>>,
    x_values: Option<&[f64]>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("plotting failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let len = curves.values().map(Vec::len).max().unwrap_or(1).max(2);
    // point k at x_values[k] (a swept setting) or at epoch k + 1
    let x = |k: usize| x_values.map_or((k + 1) as f64, |xs| xs[k]);
    let points = x_values.map_or(usize::MAX, <[f64]>::len);
    let (x_lo, x_hi) = match x_values {
        Some(xs) if xs.len() >= 2 => (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ),
        _ => (1.0, len as f64),
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for s in curves.values().flatten() {
        lo = lo.min(s.mean - s.std);
        hi = hi.max(s.mean + s.std);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6 * hi.abs().max(1.0));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_lo..x_hi, (lo - pad)..(hi + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(spec.x_label)
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        })
        .y_desc(label(spec.metric))
        .draw()
        .map_err(err)?;
    for (i, (line, stats)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let stats = &stats[..stats.len().min(points)];
        let band: Vec<(f64, f64)> = stats
            .iter()
            .enumerate()
            .map(|(k, s)| (x(k), s.mean + s.std))
            .chain(
                stats
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(k, s)| (x(k), s.mean - s.std)),
            )
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(BAND_OPACITY).filled(),
            )))
            .map_err(err)?;
        let means = stats.iter().enumerate().map(|(k, s)| (x(k), s.mean));
        chart
            .draw_series(LineSeries::new(means, color.stroke_width(2)))
            .map_err(err)?
            .label(line.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
