//! Charts as inline SVG strings, drawn with plotters. No fonts or scripts are
//! loaded: text is SVG `<text>` in the page's font stack.

use plotters::prelude::*;

use crate::ReportError;

/// Colour-blind-safe palette (Okabe-Ito), dark enough on white.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(120, 120, 120),
];

const W: u32 = 760;
const H: u32 = 300;
/// Width of the legend panel right of the plot (a legend inside the plot hides lines).
const LEGEND_W: u32 = 170;

/// A legend entry: name, style, and whether it is drawn as a filled box.
type Entry = (String, ShapeStyle, bool);

/// The legend in its own panel: a swatch and the name (shortened) per entry.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[Entry],
) -> Result<(), ReportError>
where
    DB::ErrorType: 'static,
{
    let rows = ((H - 24) / 20) as usize;
    let shown = if entries.len() > rows { rows - 1 } else { entries.len() };
    for (i, (name, style, filled)) in entries.iter().take(shown).enumerate() {
        let y = 18 + 20 * i as i32;
        if *filled {
            area.draw(&Rectangle::new([(6, y - 5), (22, y + 5)], *style)).map_err(err)?;
        } else {
            area.draw(&PathElement::new(vec![(4, y), (24, y)], *style)).map_err(err)?;
        }
        let label = shorten(name.clone(), 17);
        area.draw(&Text::new(label, (30, y - 7), ("sans-serif", 15).into_font().color(&BLACK))).map_err(err)?;
    }
    if shown < entries.len() {
        let y = 18 + 20 * shown as i32;
        let more = format!("+{} more (data table)", entries.len() - shown);
        area.draw(&Text::new(more, (6, y - 7), ("sans-serif", 15).into_font().color(&RGBColor(80, 80, 80))))
            .map_err(err)?;
    }
    Ok(())
}

fn err(e: impl std::fmt::Display) -> ReportError {
    ReportError::Chart(e.to_string())
}

/// A line per series over labelled x positions; `None` leaves a gap. With a
/// `reference`, a dashed horizontal line (e.g. the J-curve's baseline).
pub fn lines(
    x_labels: &[String],
    series: &[(String, Vec<Option<f64>>)],
    y_desc: &str,
    reference: Option<(f64, &str)>,
) -> Result<String, ReportError> {
    if series.iter().all(|(_, v)| v.iter().all(Option::is_none)) {
        return Ok(no_data());
    }
    let values = series.iter().flat_map(|(_, v)| v.iter().flatten().copied()).chain(reference.map(|r| r.0));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo.min(0.0), if hi > lo { hi } else { lo + 1.0 }) } else { (0.0, 1.0) };
    // Headroom above, and below when values go negative, so no point sits on the frame.
    let pad = 0.08 * (hi - lo);
    let (lo, hi) = (if lo < 0.0 { lo - pad } else { lo }, hi + pad);
    let n = x_labels.len().max(1);
    let mut entries: Vec<Entry> = Vec::new();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(W - LEGEND_W);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(66)
            .build_cartesian_2d(-0.3f64..(n as f64 - 0.7), lo..hi)
            .map_err(err)?;
        let labels = x_labels.to_vec();
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| label_at(&labels, *x))
            .y_desc(y_desc)
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        if let Some((y, label)) = reference {
            let style = ShapeStyle { color: RGBColor(60, 60, 60).to_rgba(), filled: false, stroke_width: 2 };
            chart.draw_series(DashedLineSeries::new([(-0.3, y), (n as f64 - 0.7, y)], 6, 4, style)).map_err(err)?;
            entries.push((format!("{label} (dashed)"), style, false));
        }
        for (i, (name, values)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let style = ShapeStyle { color: color.to_rgba(), filled: false, stroke_width: 2 };
            // Contiguous runs of values, so a missing quarter is a gap, not a fake line.
            let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (x, v) in values.iter().enumerate() {
                match v {
                    Some(v) => runs.last_mut().expect("non-empty").push((x as f64, *v)),
                    None => runs.push(Vec::new()),
                }
            }
            for run in runs.into_iter().filter(|r| !r.is_empty()) {
                chart.draw_series(LineSeries::new(run.clone(), style)).map_err(err)?;
                chart.draw_series(run.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(err)?;
            }
            if values.iter().any(Option::is_some) {
                entries.push((name.clone(), style, false));
            }
        }
        legend(&side, &entries)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The label of category `x` (categories sit at whole numbers; other ticks get none).
fn label_at(labels: &[String], x: f64) -> String {
    let i = x.round();
    if (x - i).abs() < 0.01 && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
}

/// A chart's place when there is nothing to draw: says so instead of empty axes.
fn no_data() -> String {
    "<svg width=\"640\" height=\"48\" viewBox=\"0 0 640 48\" xmlns=\"http://www.w3.org/2000/svg\">\
     <text x=\"8\" y=\"28\" font-family=\"sans-serif\" font-size=\"15\" fill=\"#444\">No data in these quarters</text></svg>"
        .to_string()
}

/// The frame of a bar chart: a slot per category at the whole numbers, named
/// below (shortened to fit its slot; the data table has the full names), and
/// y from 0 to `hi`.
fn bar_frame<'a, DB: DrawingBackend + 'a>(
    plot: &'a DrawingArea<DB, plotters::coord::Shift>,
    labels: &[String],
    hi: f64,
    y_desc: &str,
) -> Result<
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    ReportError,
>
where
    DB::ErrorType: 'static,
{
    let n = labels.len().max(1);
    // About 7.5 px a character at the label size, over the plot's width.
    let fits = ((f64::from(W - LEGEND_W - 90) / n as f64) / 7.5).max(4.0) as usize;
    let mut chart = ChartBuilder::on(plot)
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(66)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..hi)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&|x| shorten(label_at(labels, *x), fits))
        .y_desc(y_desc)
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

/// `s` in at most `max` characters, ending in `…` when cut.
fn shorten(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        s
    } else {
        format!("{}…", s.chars().take(max.saturating_sub(1)).collect::<String>())
    }
}

/// Promoters, passives, detractors.
pub type NpsCounts = (i64, i64, i64);

/// Stacked 100 % bars: promoters, passives, detractors per wave. Withheld
/// waves are drawn as an empty outline.
pub fn nps_bars(waves: &[(String, Option<NpsCounts>)]) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(W - LEGEND_W);
        let labels: Vec<String> = waves.iter().map(|w| w.0.clone()).collect();
        let mut chart = bar_frame(&plot, &labels, 100.0, "% of responses")?;
        let parts = [("promoters", PALETTE[2]), ("passives", PALETTE[7]), ("detractors", PALETTE[1])];
        for (k, (_, color)) in parts.iter().enumerate() {
            let bars: Vec<Rectangle<(f64, f64)>> = waves
                .iter()
                .enumerate()
                .filter_map(|(i, (_, counts))| {
                    let (p, m, d) = (*counts)?;
                    let total = (p + m + d).max(1) as f64;
                    let vals = [p as f64, m as f64, d as f64].map(|v| 100.0 * v / total);
                    let y0: f64 = vals[..k].iter().sum();
                    let x = i as f64;
                    Some(Rectangle::new([(x - 0.32, y0), (x + 0.32, y0 + vals[k])], color.filled()))
                })
                .collect();
            chart.draw_series(bars).map_err(err)?;
        }
        let withheld: Vec<Rectangle<(f64, f64)>> = waves
            .iter()
            .enumerate()
            .filter(|(_, w)| w.1.is_none())
            .map(|(i, _)| {
                Rectangle::new(
                    [(i as f64 - 0.32, 0.0), (i as f64 + 0.32, 100.0)],
                    RGBColor(150, 150, 150).stroke_width(1),
                )
            })
            .collect();
        let any_withheld = !withheld.is_empty();
        chart.draw_series(withheld).map_err(err)?;
        let mut entries: Vec<Entry> =
            parts.iter().map(|(name, color)| (name.to_string(), color.filled(), true)).collect();
        if any_withheld {
            entries.push(("withheld (n too small)".into(), RGBColor(150, 150, 150).stroke_width(1), true));
        }
        legend(&side, &entries)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Stacked bars, one per category: `parts` are the stacked values (name and a
/// value per category; `None`: no bar), and `marker` a value per category
/// drawn as a triangle beside its bar (e.g. the median beside the means).
pub fn stacked_bars(
    categories: &[String],
    parts: &[(String, Vec<Option<f64>>)],
    marker: (&str, &[Option<f64>]),
    y_desc: &str,
) -> Result<String, ReportError> {
    let totals: Vec<f64> =
        (0..categories.len()).map(|i| parts.iter().filter_map(|(_, v)| v.get(i).copied().flatten()).sum()).collect();
    let hi = totals.iter().copied().chain(marker.1.iter().flatten().copied()).fold(0.0f64, f64::max);
    if hi <= 0.0 {
        return Ok(no_data());
    }
    let hi = hi * 1.08;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(W - LEGEND_W);
        let mut chart = bar_frame(&plot, categories, hi, y_desc)?;
        let mut entries: Vec<Entry> = Vec::new();
        for (k, (name, values)) in parts.iter().enumerate() {
            let color = PALETTE[k % PALETTE.len()];
            let bars: Vec<Rectangle<(f64, f64)>> = values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let v = (*v)?;
                    let y0: f64 = parts[..k].iter().filter_map(|(_, p)| p.get(i).copied().flatten()).sum();
                    let x = i as f64;
                    Some(Rectangle::new([(x - 0.3, y0), (x + 0.1, y0 + v)], color.filled()))
                })
                .collect();
            chart.draw_series(bars).map_err(err)?;
            entries.push((name.clone(), color.filled(), true));
        }
        let black = RGBColor(0, 0, 0);
        let diamonds = marker.1.iter().enumerate().filter_map(|(i, v)| {
            let v = (*v)?;
            Some(TriangleMarker::new((i as f64 + 0.22, v), 7, black.filled()))
        });
        chart.draw_series(diamonds).map_err(err)?;
        entries.push((format!("{} (▲)", marker.0), black.stroke_width(3), false));
        legend(&side, &entries)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One event time of an event study: the quarter since onboarding, the
/// estimate and its interval (`None`: no interval).
pub type EventPoint = (i64, f64, Option<(f64, f64)>);

/// An event study: a point per quarter since onboarding with its interval as
/// a whisker, a zero line (no difference from the groups not yet onboarded),
/// the base quarter (-1) marked, and the quarters before onboarding shaded as
/// the check they are.
pub fn event_study(points: &[EventPoint], y_desc: &str) -> Result<String, ReportError> {
    if points.is_empty() {
        return Ok(no_data());
    }
    let (first, last) =
        (points.iter().map(|p| p.0).min().unwrap_or(-1).min(-1), points.iter().map(|p| p.0).max().unwrap_or(0).max(0));
    let values = points.iter().flat_map(|(_, v, i)| std::iter::once(*v).chain(i.iter().flat_map(|(l, h)| [*l, *h])));
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = 0.1 * (hi - lo).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let (x0, x1) = (first as f64 - 0.6, last as f64 + 0.6);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (plot, side) = root.split_horizontally(W - LEGEND_W);
        let mut chart = ChartBuilder::on(&plot)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(66)
            .build_cartesian_2d(x0..x1, lo..hi)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels((last - first + 1) as usize)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 { format!("{}", i as i64) } else { String::new() }
            })
            .x_desc("quarters since onboarding")
            .y_desc(y_desc)
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(err)?;
        let shade = RGBColor(238, 238, 238).filled();
        chart.draw_series(std::iter::once(Rectangle::new([(x0, lo), (-0.5, hi)], shade))).map_err(err)?;
        let zero = ShapeStyle { color: RGBColor(60, 60, 60).to_rgba(), filled: false, stroke_width: 2 };
        chart.draw_series(DashedLineSeries::new([(x0, 0.0), (x1, 0.0)], 6, 4, zero)).map_err(err)?;
        let base = ShapeStyle { color: RGBColor(120, 120, 120).to_rgba(), filled: false, stroke_width: 1 };
        chart.draw_series(DashedLineSeries::new([(-1.0, lo), (-1.0, hi)], 3, 3, base)).map_err(err)?;
        let color = PALETTE[0];
        let whisker = ShapeStyle { color: color.to_rgba(), filled: false, stroke_width: 2 };
        for (e, v, interval) in points {
            let x = *e as f64;
            if let Some((l, h)) = interval {
                chart.draw_series(std::iter::once(PathElement::new(vec![(x, *l), (x, *h)], whisker))).map_err(err)?;
                for y in [*l, *h] {
                    chart
                        .draw_series(std::iter::once(PathElement::new(vec![(x - 0.12, y), (x + 0.12, y)], whisker)))
                        .map_err(err)?;
                }
            }
            chart.draw_series(std::iter::once(Circle::new((x, *v), 5, color.filled()))).map_err(err)?;
        }
        let entries: Vec<Entry> = vec![
            ("estimate".into(), whisker, false),
            ("its interval".into(), whisker, false),
            ("no difference (0)".into(), zero, false),
            ("base quarter (-1)".into(), base, false),
            ("before onboarding".into(), shade, true),
        ];
        legend(&side, &entries)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
