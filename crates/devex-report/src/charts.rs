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

const W: u32 = 640;
const H: u32 = 300;

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
    let values = series.iter().flat_map(|(_, v)| v.iter().flatten().copied()).chain(reference.map(|r| r.0));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo.min(0.0), if hi > lo { hi * 1.1 } else { lo + 1.0 }) } else { (0.0, 1.0) };
    let n = x_labels.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.3f64..(n as f64 - 0.7), lo..hi)
            .map_err(err)?;
        let labels = x_labels.to_vec();
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
            })
            .y_desc(y_desc)
            .light_line_style(RGBColor(235, 235, 235))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        if let Some((y, label)) = reference {
            let style = ShapeStyle { color: RGBColor(60, 60, 60).to_rgba(), filled: false, stroke_width: 2 };
            chart
                .draw_series(DashedLineSeries::new([(-0.3, y), (n as f64 - 0.7, y)], 6, 4, style))
                .map_err(err)?
                .label(label.to_string())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
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
            for (k, run) in runs.into_iter().filter(|r| !r.is_empty()).enumerate() {
                let drawn = chart.draw_series(LineSeries::new(run.clone(), style)).map_err(err)?;
                if k == 0 {
                    drawn.label(name.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                }
                chart.draw_series(run.into_iter().map(|p| Circle::new(p, 3, color.filled()))).map_err(err)?;
            }
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Stacked 100 % bars: promoters, passives, detractors per wave. Withheld
/// waves are drawn as an empty outline.
pub fn nps_bars(waves: &[(String, Option<(i64, i64, i64)>)]) -> Result<String, ReportError> {
    let n = waves.len().max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..100f64)
            .map_err(err)?;
        let labels: Vec<String> = waves.iter().map(|w| w.0.clone()).collect();
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
            })
            .y_desc("% of responses")
            .disable_x_mesh()
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let parts = [("promoters", PALETTE[2]), ("passives", PALETTE[7]), ("detractors", PALETTE[1])];
        for (k, (name, color)) in parts.iter().enumerate() {
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
            let color = *color;
            chart
                .draw_series(bars)
                .map_err(err)?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        let withheld: Vec<Rectangle<(f64, f64)>> = waves
            .iter()
            .enumerate()
            .filter(|(_, w)| w.1.is_none())
            .map(|(i, _)| Rectangle::new([(i as f64 - 0.32, 0.0), (i as f64 + 0.32, 100.0)], RGBColor(150, 150, 150).stroke_width(1)))
            .collect();
        chart.draw_series(withheld).map_err(err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
