//! Heat maps of a final metric over a grid of settings (mean over seeds per cell), as SVG and
//! PNG with plotters, and as a table of mean ± std in the report.
//!
//! The grid is drawn directly in pixels (no chart mesh): one filled square per cell with its
//! mean written in it, the row labels on the left, the column labels below. Colours are either
//! diverging (white at 0, red above, blue below, scaled by the largest `|value|`: for
//! differences such as a gain) or sequential (light to dark from the smallest value to the
//! largest).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::plot::register_font;
use super::report::{mean_std, num};
use super::stats::{Gathered, Stat};
use super::write_text;
use crate::experiment::HeatmapSpec;

/// Image size in pixels (the line plots' size).
const SIZE: (u32, u32) = (800, 500);
/// Margins: title above, row labels left, column labels and axis name below.
const TOP: i32 = 50;
const LEFT: i32 = 120;
const BOTTOM: i32 = 70;
const RIGHT: i32 = 20;
/// The colour of 0 (diverging) or of the smallest value (sequential).
const LIGHT: (u8, u8, u8) = (255, 255, 255);
/// The colour of the largest positive value (diverging).
const POSITIVE: (u8, u8, u8) = (178, 24, 43);
/// The colour of the most negative value (diverging), and of the largest value (sequential).
const NEGATIVE: (u8, u8, u8) = (33, 102, 172);
/// A cell without a value.
const EMPTY: (u8, u8, u8) = (200, 200, 200);

/// Writes every heat map of `specs` that has at least one value into `dir` and returns the
/// report's section for them (empty when there are none).
pub fn write_heatmaps(
    dir: &Path,
    specs: &[HeatmapSpec],
    g: &Gathered,
    quick: bool,
) -> Result<String> {
    let mut md = String::new();
    for spec in specs {
        let stats: Vec<Vec<Option<Stat>>> = spec
            .lines
            .iter()
            .map(|row| {
                row.iter()
                    .map(|line| Stat::of(&g.finals(line, &spec.metric)))
                    .collect()
            })
            .collect();
        if stats.iter().flatten().all(Option::is_none) {
            continue;
        }
        let means: Vec<Vec<Option<f64>>> = stats
            .iter()
            .map(|row| row.iter().map(|s| s.map(|s| s.mean)).collect())
            .collect();
        let title = if quick {
            format!("{} [QUICK PROTOCOL]", spec.title)
        } else {
            spec.title.clone()
        };
        write_image(dir, spec, &title, &means)?;
        if md.is_empty() {
            md.push_str("## Heat maps\n\n");
        }
        md.push_str(&section(spec, &stats, g.runs.len()));
    }
    Ok(md)
}

/// The report's part for one heat map: its title, the image, and the table of mean ± std.
fn section(spec: &HeatmapSpec, stats: &[Vec<Option<Stat>>], seeds: usize) -> String {
    let mut md = format!(
        "### {}\n\n![{}]({}.svg)\n\n",
        spec.title, spec.title, spec.file
    );
    let _ = writeln!(
        md,
        "{} (rows: {}; columns: {}), mean ± std over {seeds} seed{}:\n",
        spec.metric.replace('_', " "),
        spec.y_label,
        spec.x_label,
        if seeds == 1 { "" } else { "s" }
    );
    let _ = writeln!(md, "| {} | {} |", spec.y_label, spec.x_ticks.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(spec.x_ticks.len()));
    for (tick, row) in spec.y_ticks.iter().zip(stats) {
        let cells: Vec<String> = row
            .iter()
            .map(|s| s.as_ref().map_or_else(|| "—".to_owned(), mean_std))
            .collect();
        let _ = writeln!(md, "| {tick} | {} |", cells.join(" | "));
    }
    let _ = writeln!(md, "\nAs PNG: [{0}.png]({0}.png).\n", spec.file);
    md
}

/// The fill of a cell holding `value`, for the values' range `[lo, hi]`, and whether its text
/// should be white (on a dark fill).
pub fn cell_colour(value: f64, lo: f64, hi: f64, diverging: bool) -> (RGBColor, bool) {
    let mix = |to: (u8, u8, u8), t: f64| {
        let t = t.clamp(0.0, 1.0);
        let c = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        RGBColor(c(LIGHT.0, to.0), c(LIGHT.1, to.1), c(LIGHT.2, to.2))
    };
    let (colour, t) = if diverging {
        let scale = lo.abs().max(hi.abs());
        let t = if scale > 0.0 { value / scale } else { 0.0 };
        if t >= 0.0 {
            (mix(POSITIVE, t), t)
        } else {
            (mix(NEGATIVE, -t), -t)
        }
    } else {
        let t = if hi > lo {
            (value - lo) / (hi - lo)
        } else {
            0.0
        };
        (mix(NEGATIVE, t), t)
    };
    (colour, t > 0.6)
}

/// Writes `DIR/FILE.svg` and `DIR/FILE.png`, each atomically.
fn write_image(
    dir: &Path,
    spec: &HeatmapSpec,
    title: &str,
    means: &[Vec<Option<f64>>],
) -> Result<()> {
    register_font()?;
    let svg_path = dir.join(format!("{}.svg", spec.file));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(root, spec, title, means).with_context(|| svg_path.display().to_string())?;
    }
    write_text(&svg_path, &svg)?;
    // As in the line plots: draw into a hidden temporary file, then rename it into place.
    let png_path = dir.join(format!("{}.png", spec.file));
    let temp = dir.join(format!(".{}.tmp-{}.png", spec.file, std::process::id()));
    let drawn = (|| {
        let root = BitMapBackend::new(&temp, SIZE).into_drawing_area();
        draw(root, spec, title, means)?;
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, &png_path)?;
        Ok::<(), anyhow::Error>(())
    })();
    if drawn.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    drawn.with_context(|| format!("cannot write {}", png_path.display()))
}

/// Centred text of `size` points in `color`.
fn text(size: f64, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font())
        .color(color)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    spec: &HeatmapSpec,
    title: &str,
    means: &[Vec<Option<f64>>],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("plotting failed: {e}");
    root.fill(&WHITE).map_err(err)?;
    let rows = means.len().max(1) as i32;
    let cols = means.iter().map(Vec::len).max().unwrap_or(1).max(1) as i32;
    let (w, h) = (SIZE.0 as i32, SIZE.1 as i32);
    let cell_w = (w - LEFT - RIGHT) / cols;
    let cell_h = (h - TOP - BOTTOM) / rows;
    root.draw(&Text::new(
        title.to_owned(),
        (w / 2, TOP / 2),
        text(18.0, &BLACK),
    ))
    .map_err(err)?;
    let values: Vec<f64> = means.iter().flatten().flatten().copied().collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for (r, row) in means.iter().enumerate() {
        let y0 = TOP + r as i32 * cell_h;
        for (c, mean) in row.iter().enumerate() {
            let x0 = LEFT + c as i32 * cell_w;
            let (fill, white_text) = match mean {
                Some(v) => cell_colour(*v, lo, hi, spec.diverging),
                None => (RGBColor(EMPTY.0, EMPTY.1, EMPTY.2), false),
            };
            let corners = [(x0, y0), (x0 + cell_w, y0 + cell_h)];
            root.draw(&Rectangle::new(corners, fill.filled()))
                .map_err(err)?;
            root.draw(&Rectangle::new(
                corners,
                RGBColor(220, 220, 220).stroke_width(1),
            ))
            .map_err(err)?;
            let label = mean.map_or_else(|| "—".to_owned(), num);
            let ink: &'static RGBColor = if white_text { &WHITE } else { &BLACK };
            let centre = (x0 + cell_w / 2, y0 + cell_h / 2);
            root.draw(&Text::new(label, centre, text(15.0, ink)))
                .map_err(err)?;
        }
        if let Some(tick) = spec.y_ticks.get(r) {
            let at = (LEFT / 2, y0 + cell_h / 2);
            root.draw(&Text::new(tick.clone(), at, text(14.0, &BLACK)))
                .map_err(err)?;
        }
    }
    let below = TOP + rows * cell_h;
    for (c, tick) in spec.x_ticks.iter().enumerate() {
        let at = (LEFT + c as i32 * cell_w + cell_w / 2, below + 16);
        root.draw(&Text::new(tick.clone(), at, text(14.0, &BLACK)))
            .map_err(err)?;
    }
    let axis = format!("columns: {}; rows: {}", spec.x_label, spec.y_label);
    let at = (LEFT + cols * cell_w / 2, below + 46);
    root.draw(&Text::new(axis, at, text(15.0, &BLACK)))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{Protocol, RunFile, RunRecord, RUN_FORMAT};
    use crate::results::Plan;

    fn spec() -> HeatmapSpec {
        HeatmapSpec {
            file: "gain".into(),
            title: "gain map".into(),
            metric: "gain".into(),
            x_label: "temperature T".into(),
            x_ticks: vec!["T = 1".into(), "T = 10".into()],
            y_label: "λ".into(),
            y_ticks: vec!["λ = 0".into(), "λ = 1".into()],
            lines: vec![
                vec!["a".into(), "b".into()],
                vec!["c".into(), "missing".into()],
            ],
            diverging: true,
        }
    }

    fn gathered(values: &[(&str, [f64; 2])]) -> Gathered {
        let runs = (0..2)
            .map(|seed| {
                let mut record = RunRecord::default();
                for (line, v) in values {
                    record.set_final(line, "gain", v[seed]);
                }
                RunFile {
                    format: RUN_FORMAT,
                    experiment: "x".into(),
                    seed: seed as u64,
                    protocol: Protocol::Full,
                    config_hash: "h".into(),
                    wall_time_s: 0.0,
                    record,
                }
            })
            .collect();
        Gathered {
            plan: Plan {
                experiment: "x".into(),
                protocol: Protocol::Full,
                config_hash: "h".into(),
                seeds: vec![0, 1],
            },
            runs,
            missing_seeds: Vec::new(),
            stale_seeds: Vec::new(),
            skipped: None,
        }
    }

    #[test]
    fn diverging_colours_are_white_at_zero_red_above_blue_below() {
        let (zero, _) = cell_colour(0.0, -2.0, 1.0, true);
        assert_eq!(zero, RGBColor(255, 255, 255));
        // scaled by max |v| = 2: +2 is the full red, −2 the full blue, +1 halfway to red
        let (top, white_text) = cell_colour(2.0, -2.0, 2.0, true);
        assert_eq!(top, RGBColor(POSITIVE.0, POSITIVE.1, POSITIVE.2));
        assert!(white_text);
        let (bottom, _) = cell_colour(-2.0, -2.0, 2.0, true);
        assert_eq!(bottom, RGBColor(NEGATIVE.0, NEGATIVE.1, NEGATIVE.2));
        let (half, white_text) = cell_colour(1.0, -2.0, 2.0, true);
        assert_eq!(half, RGBColor(217, 140, 149));
        assert!(!white_text);
        // sequential: the smallest value is white, the largest the dark end
        assert_eq!(cell_colour(0.8, 0.8, 0.9, false).0, RGBColor(255, 255, 255));
        let dark = cell_colour(0.9, 0.8, 0.9, false).0;
        assert_eq!(dark, RGBColor(NEGATIVE.0, NEGATIVE.1, NEGATIVE.2));
    }

    #[test]
    fn heatmaps_are_written_with_a_table_of_mean_and_std() {
        let dir = tempfile::tempdir().unwrap();
        let g = gathered(&[
            ("a", [0.0, 0.0]),
            ("b", [0.01, 0.03]),
            ("c", [-0.02, -0.02]),
        ]);
        let md = write_heatmaps(dir.path(), &[spec()], &g, true).unwrap();
        assert!(md.starts_with("## Heat maps\n"), "{md}");
        assert!(md.contains("![gain map](gain.svg)"), "{md}");
        assert!(md.contains("| λ | T = 1 | T = 10 |"), "{md}");
        // b: mean 0.02, sample std √((0.01² + 0.01²)/1) = 0.0141
        assert!(
            md.contains("| λ = 0 | 0.000 ± 0.000 | 0.020 ± 0.014 |"),
            "{md}"
        );
        assert!(md.contains("| λ = 1 | -0.020 ± 0.000 | — |"), "{md}");
        let svg = std::fs::read_to_string(dir.path().join("gain.svg")).unwrap();
        for needle in ["gain map [QUICK PROTOCOL]", "T = 10", "λ = 1", "0.020", "—"] {
            assert!(svg.contains(needle), "gain.svg lacks {needle}");
        }
        let png = std::fs::read(dir.path().join("gain.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn a_map_without_any_value_is_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let g = gathered(&[("other", [1.0, 2.0])]);
        assert_eq!(
            write_heatmaps(dir.path(), &[spec()], &g, false).unwrap(),
            ""
        );
        assert!(!dir.path().join("gain.svg").exists());
    }
}
