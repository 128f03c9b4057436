//! SVG charts of the results, drawn with plotters' SVG backend. Text goes
//! into the SVG as `<text>` for the viewer to lay out, so no font is read
//! here (plotters without its `ttf` feature only estimates text widths).

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::figures::summary;

/// Series colours, by position: the first target, the second, the rest.
const COLOURS: [RGBColor; 4] =
    [RGBColor(0x1f, 0x77, 0xb4), RGBColor(0xff, 0x7f, 0x0e), RGBColor(0x2c, 0xa0, 0x2c), RGBColor(0xd6, 0x27, 0x28)];
const FONT: &str = "sans-serif";

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// One series of a bar chart.
pub struct Bars<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// Per cell, the values over the runs (empty: not measured).
    pub runs: Vec<Vec<f64>>,
}

/// A grouped bar chart: per cell one bar per series at the median of its
/// runs, a whisker from the lowest to the highest run, the median written
/// above. `unit` names the y axis.
pub fn bars(title: &str, unit: &str, cells: &[String], series: &[Bars]) -> Result<String> {
    let n = cells.len().max(1);
    let top = series.iter().flat_map(|s| s.runs.iter().flatten()).copied().fold(0.0, f64::max);
    // Headroom for the value labels and the legend.
    let top = if top > 0.0 { top * 1.25 } else { 1.0 };
    let width = (140 + 130 * n as u32).max(720);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(unit)
            .y_label_formatter(&|v| tick(*v))
            .draw()
            .map_err(drawing)?;
        let group = 0.8;
        let width = group / series.len().max(1) as f64;
        for (j, s) in series.iter().enumerate() {
            let fill = colour(j);
            // (left, right, median, min, max) of each measured cell.
            let placed: Vec<(f64, f64, f64, f64, f64)> = s
                .runs
                .iter()
                .enumerate()
                .filter_map(|(i, runs)| {
                    let (median, lo, hi) = summary(runs)?;
                    let left = i as f64 - group / 2.0 + j as f64 * width;
                    Some((left + width * 0.06, left + width * 0.94, median, lo, hi))
                })
                .collect();
            chart
                .draw_series(placed.iter().map(|&(l, r, m, _, _)| Rectangle::new([(l, 0.0), (r, m)], fill.filled())))
                .map_err(drawing)?
                .label(s.name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 12, y + 6)], fill.filled()));
            let whiskers = placed.iter().filter(|p| p.3 < p.4).flat_map(|&(l, r, _, lo, hi)| {
                let (mid, cap) = ((l + r) / 2.0, (r - l) / 4.0);
                [
                    PathElement::new(vec![(mid, lo), (mid, hi)], BLACK.stroke_width(1)),
                    PathElement::new(vec![(mid - cap, lo), (mid + cap, lo)], BLACK.stroke_width(1)),
                    PathElement::new(vec![(mid - cap, hi), (mid + cap, hi)], BLACK.stroke_width(1)),
                ]
            });
            chart.draw_series(whiskers).map_err(drawing)?;
            let above = (FONT, 11).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
            chart
                .draw_series(
                    placed
                        .iter()
                        .map(|&(l, r, m, _, hi)| Text::new(number(m), ((l + r) / 2.0, hi + top * 0.01), above.clone())),
                )
                .map_err(drawing)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((FONT, 14))
            .draw()
            .map_err(drawing)?;
        let below = (FONT, 13).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, cell) in cells.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(i as f64, 0.0));
            root.draw(&Text::new(cell.clone(), (x, y + 8), below.clone())).map_err(drawing)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

/// One panel of a percentile chart: a line per series through its values
/// at the chart's ticks (`None`: not measured).
pub struct Panel<'a> {
    /// Above the panel.
    pub title: String,
    /// Legend name and one value per tick.
    pub lines: Vec<(&'a str, Vec<Option<f64>>)>,
}

/// Panels in a grid of `cols` columns, each plotting the series' values at
/// `ticks` (e.g. p50, p99, ...) on a logarithmic µs axis shared by all panels.
pub fn percentiles(title: &str, ticks: &[&str], panels: &[Panel], cols: usize) -> Result<String> {
    let cols = cols.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(cols).max(1);
    let all: Vec<f64> =
        panels.iter().flat_map(|p| p.lines.iter().flat_map(|l| l.1.iter().flatten())).copied().collect();
    let lo = all.iter().copied().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let hi = all.iter().copied().fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > lo { (lo / 1.5, hi * 1.5) } else { (1.0, 10.0) };
    let last = ticks.len().saturating_sub(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (340 * cols as u32, 50 + 280 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let body = root.titled(title, (FONT, 20)).map_err(drawing)?;
        for (k, (panel, area)) in panels.iter().zip(body.split_evenly((rows, cols))).enumerate() {
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, (FONT, 15))
                .margin(10)
                .x_label_area_size(24)
                .y_label_area_size(56)
                .build_cartesian_2d(-0.3f64..last + 0.3, (lo..hi).log_scale())
                .map_err(drawing)?;
            let mut mesh = chart.configure_mesh();
            mesh.disable_x_mesh().x_labels(0).y_label_formatter(&|v| tick(*v));
            if k % cols == 0 {
                mesh.y_desc("round trip (µs)");
            }
            mesh.draw().map_err(drawing)?;
            for (j, (name, values)) in panel.lines.iter().enumerate() {
                let c = colour(j);
                let points: Vec<(f64, f64)> =
                    values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i as f64, v))).collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                    .map_err(drawing)?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
                chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(drawing)?;
            }
            if k == 0 {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .label_font((FONT, 13))
                    .draw()
                    .map_err(drawing)?;
            }
            x_labels(&area, &chart, ticks, lo)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(svg)
}

/// Writes `labels` under x = 0, 1, ... of `chart`, which is drawn on `area`.
fn x_labels<Y: plotters::coord::ranged1d::Ranged<ValueType = f64>>(
    area: &DrawingArea<SVGBackend, Shift>,
    chart: &ChartContext<SVGBackend, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    labels: &[&str],
    y_floor: f64,
) -> Result<()> {
    let style = (FONT, 12).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
    let (dx, dy) = area.get_base_pixel();
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64, y_floor));
        // backend_coord is absolute; the area draws relative to its corner.
        area.draw(&Text::new(label.to_string(), (x - dx, y - dy + 6), style.clone())).map_err(drawing)?;
    }
    Ok(())
}

/// Axis and label numbers: no more digits than the size needs.
fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Axis ticks: at most two decimals, trailing zeros dropped.
fn tick(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn drawing(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("cannot draw the chart: {e}")
}

/// The text of every `<text>` element of `svg`, trimmed.
#[cfg(test)]
pub fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim().to_owned()))
        .collect()
}

/// How many of `svg`'s `element`s (`rect`, `polyline`) are painted in
/// series colour `series`.
#[cfg(test)]
pub fn painted(svg: &str, element: &str, series: usize) -> usize {
    let RGBColor(r, g, b) = colour(series);
    let hex = format!("\"#{r:02X}{g:02X}{b:02X}\"");
    svg.lines().filter(|l| l.starts_with(&format!("<{element} ")) && l.contains(&hex)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_chart_has_a_bar_per_cell_and_series() {
        let cells: Vec<String> = ["1 conn, 1 KiB", "5 conns, 1 KiB", "50 conns, 16 KiB"].map(String::from).to_vec();
        let series = [
            Bars { name: "host-sim", runs: vec![vec![100.0, 90.0, 110.0], vec![700.0], vec![650.0, 640.0]] },
            Bars { name: "kernel", runs: vec![vec![80.0], vec![400.0, 390.0], vec![]] },
        ];
        let svg = bars("echo throughput", "MB/s", &cells, &series).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
        let texts = texts(&svg);
        for name in ["host-sim", "kernel", "echo throughput", "MB/s", "50 conns, 16 KiB"] {
            assert!(texts.iter().any(|t| t == name), "{name} missing from {texts:?}");
        }
        // One bar per measured cell, plus the legend's box.
        assert_eq!(painted(&svg, "rect", 0), 3 + 1);
        assert_eq!(painted(&svg, "rect", 1), 2 + 1);
        // Medians written above the bars.
        assert!(texts.iter().any(|t| t == "100") && texts.iter().any(|t| t == "395"), "{texts:?}");
    }

    #[test]
    fn percentile_chart_has_a_panel_per_cell_and_a_line_per_series() {
        let ticks = ["min", "p50", "p99", "p99.9", "max"];
        let line = |base: f64| (1..=5).map(|i| Some(base * i as f64)).collect::<Vec<_>>();
        let panels: Vec<Panel> = (0..4)
            .map(|k| Panel {
                title: format!("cell {k}"),
                lines: vec![("host-sim", line(10.0)), ("kernel", line(12.0 + k as f64))],
            })
            .collect();
        let svg = percentiles("latency", &ticks, &panels, 2).unwrap();
        let texts = texts(&svg);
        for text in ["latency", "cell 0", "cell 3", "host-sim", "kernel", "p99.9", "round trip (µs)"] {
            assert!(texts.iter().any(|t| t == text), "{text} missing from {texts:?}");
        }
        // A line per series and panel, plus the legend's sample line.
        assert_eq!((painted(&svg, "polyline", 0), painted(&svg, "polyline", 1)), (4 + 1, 4 + 1));
        // Tick names under every panel.
        assert_eq!(texts.iter().filter(|t| *t == "p50").count(), 4);
    }

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!([tick(50.0), tick(2.5), tick(0.25), tick(1000.0)], ["50", "2.5", "0.25", "1000"]);
    }

    #[test]
    fn empty_input_still_draws() {
        assert!(bars("t", "MB/s", &[], &[]).is_ok());
        assert!(percentiles("t", &["p50"], &[], 3).is_ok());
    }
}
