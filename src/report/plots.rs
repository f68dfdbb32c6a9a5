//! Charts with plotters, as SVG text (inlined in `report.html`) and PNG
//! files (linked from `report.md`). Text is drawn with the DejaVu Sans font
//! embedded in the binary, so no system font package is needed.
//!
//! A chart is described by a plain [`Chart`] value and drawn by one
//! function for both backends, so the SVG and the PNG always agree. Charts
//! never fail on odd data: empty series are skipped, and a chart with
//! nothing to show says so.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Colours of successive series (colour-blind-safe Okabe–Ito palette).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];

/// One line of a line chart, with an optional band (x, low, high) drawn
/// under it (confidence intervals).
#[derive(Clone, Debug, Default)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub band: Vec<(f64, f64, f64)>,
    /// Draw points as markers too (sweeps: few points).
    pub markers: bool,
}

/// A bar: label, value, and optional error whiskers (low, high).
pub type Bar = (String, f64, Option<(f64, f64)>);

/// A horizontal reference line (an SLO limit, an autoscaler threshold).
#[derive(Clone, Debug)]
pub struct Rule {
    pub label: String,
    pub y: f64,
}

/// Up to this many event marks of a chart are numbered (more would
/// overlap); the report's decision table lists as many rows.
pub const EVENT_LABELS_MAX: usize = 40;

#[derive(Clone, Debug)]
pub enum Chart {
    /// Lines over a numeric x axis; `events` are x positions marked with
    /// thin vertical lines (scaling events), numbered from 1 at the top
    /// when there are at most [`EVENT_LABELS_MAX`].
    Lines {
        title: String,
        x_label: String,
        y_label: String,
        lines: Vec<Line>,
        rules: Vec<Rule>,
        events: Vec<f64>,
        /// Log-scale x (latency CDFs).
        log_x: bool,
    },
    /// Horizontal bars with optional error whiskers (low, high).
    Bars {
        title: String,
        x_label: String,
        bars: Vec<Bar>,
    },
    /// A grid of values over two parameters; cells where `pass` is false
    /// are hatched with an ×, and the frontier between passing and failing
    /// cells is outlined.
    Heatmap {
        title: String,
        x_label: String,
        y_label: String,
        x_values: Vec<String>,
        y_values: Vec<String>,
        /// z[y][x]; None where undefined.
        z: Vec<Vec<Option<f64>>>,
        pass: Vec<Vec<Option<bool>>>,
        z_label: String,
    },
    /// Points (x, y, passes) with the Pareto front (lowest y for each x
    /// among passing points, minimising both) joined by a line.
    Pareto {
        title: String,
        x_label: String,
        y_label: String,
        points: Vec<(f64, f64, bool)>,
    },
}

impl Chart {
    pub fn title(&self) -> &str {
        match self {
            Chart::Lines { title, .. }
            | Chart::Bars { title, .. }
            | Chart::Heatmap { title, .. }
            | Chart::Pareto { title, .. } => title,
        }
    }
}

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 420;

fn register_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The embedded font is valid TTF; if registration failed, text would
        // be missing but charts would still draw.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// The chart as SVG text.
pub fn svg(chart: &Chart) -> String {
    register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        if let Err(e) = draw(&root, chart) {
            let _ = root.fill(&WHITE);
            let _ = root.draw(&Text::new(
                format!("chart failed: {e}"),
                (20, 20),
                ("sans-serif", 16).into_font(),
            ));
        }
        let _ = root.present();
    }
    out
}

/// Write the chart as a PNG file (atomically).
pub fn png(chart: &Chart, path: &Path) -> anyhow::Result<()> {
    register_fonts();
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("chart");
    let tmp = crate::files::temp_path(dir, name, ".png");
    let result = (|| {
        {
            let root = BitMapBackend::new(&tmp, (WIDTH, HEIGHT)).into_drawing_area();
            draw(&root, chart).map_err(|e| anyhow::anyhow!("drawing {}: {e}", chart.title()))?;
            root.present()
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A range with some margin, never empty.
fn padded(lo: f64, hi: f64, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if from_zero && lo > 0.0 {
        lo = 0.0;
    }
    if hi <= lo {
        hi = lo + if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
    }
    let pad = (hi - lo) * 0.05;
    (if from_zero && lo >= 0.0 { lo } else { lo - pad }, hi + pad)
}

fn no_data<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str) -> DrawResult<DB> {
    root.draw(&Text::new(
        title.to_string(),
        (20, 20),
        ("sans-serif", 20).into_font().style(FontStyle::Bold),
    ))?;
    root.draw(&Text::new(
        "no data in this run".to_string(),
        (20, 60),
        ("sans-serif", 16).into_font().color(&RGBColor(120, 120, 120)),
    ))
}

/// A number for an axis label: short, no float noise.
fn tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.1e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    match chart {
        Chart::Lines { .. } => draw_lines(root, chart),
        Chart::Bars { .. } => draw_bars(root, chart),
        Chart::Heatmap { .. } => draw_heatmap(root, chart),
        Chart::Pareto { .. } => draw_pareto(root, chart),
    }
}

/// A chart's title, in the captions' font.
fn caption(t: &str) -> (String, FontDesc<'static>) {
    (t.to_string(), ("sans-serif", 20).into_font().style(FontStyle::Bold))
}

/// Lines over a numeric (or log) x axis, their CI bands, SLO rules and event marks.
fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let Chart::Lines {
        title,
        x_label,
        y_label,
        lines,
        rules,
        events,
        log_x,
    } = chart
    else {
        unreachable!("draw_lines draws a Chart::Lines")
    };
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = xs
        .clone()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    if !x0.is_finite() {
        return no_data(root, title);
    }
    let ys = lines
        .iter()
        .flat_map(|l| {
            l.points
                .iter()
                .map(|p| p.1)
                .chain(l.band.iter().flat_map(|b| [b.1, b.2]))
        })
        .chain(rules.iter().map(|r| r.y))
        .filter(|y| y.is_finite());
    let (y0, y1) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    let (y0, y1) = padded(y0, y1, true);
    let (cx0, cx1) = if *log_x {
        let lo = lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .filter(|x| *x > 0.0)
            .fold(f64::INFINITY, f64::min);
        let lo = if lo.is_finite() { lo } else { 1e-3 };
        (lo.log10().floor(), x1.max(lo * 10.0).log10().ceil())
    } else {
        padded(x0, x1, false)
    };
    let mut c = ChartBuilder::on(root)
        .caption(caption(title).0, caption(title).1)
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(cx0..cx1, y0..y1)?;
    let log = *log_x;
    let fmt_x = move |v: &f64| if log { tick(10f64.powf(*v)) } else { tick(*v) };
    c.configure_mesh()
        .x_desc(x_label.as_str())
        .y_desc(y_label.as_str())
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    let tx = move |x: f64| if log { x.max(1e-12).log10() } else { x };
    for e in events {
        c.draw_series(std::iter::once(PathElement::new(
            vec![(tx(*e), y0), (tx(*e), y1)],
            RGBColor(200, 200, 200).stroke_width(1),
        )))?;
    }
    if events.len() <= EVENT_LABELS_MAX {
        let style = ("sans-serif", 11).into_font().color(&RGBColor(110, 110, 110));
        c.draw_series(
            events
                .iter()
                .enumerate()
                .map(|(i, e)| Text::new(format!("{}", i + 1), (tx(*e), y1), style.clone())),
        )?;
    }
    for (i, l) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        if !l.band.is_empty() {
            let mut poly: Vec<(f64, f64)> = l.band.iter().map(|b| (tx(b.0), b.2)).collect();
            poly.extend(l.band.iter().rev().map(|b| (tx(b.0), b.1)));
            c.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.18).filled())))?;
        }
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .map(|p| (tx(p.0), p.1))
            .filter(|p| p.1.is_finite())
            .collect();
        c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(l.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
        if l.markers {
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
    }
    for r in rules {
        let red = RGBColor(200, 30, 30);
        c.draw_series(DashedLineSeries::new(
            vec![(cx0, r.y), (cx1, r.y)],
            8,
            5,
            red.stroke_width(2),
        ))?
        .label(r.label.clone())
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], red.stroke_width(2)));
    }
    if lines.len() + rules.len() > 1 || !rules.is_empty() {
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()?;
    }
    Ok(())
}

/// Horizontal bars with whiskers, one row per label, top to bottom.
fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let Chart::Bars { title, x_label, bars } = chart else {
        unreachable!("draw_bars draws a Chart::Bars")
    };
    if bars.is_empty() {
        return no_data(root, title);
    }
    let hi = bars
        .iter()
        .map(|b| b.2.map_or(b.1, |w| w.1.max(b.1)))
        .fold(f64::NEG_INFINITY, f64::max);
    let lo = bars
        .iter()
        .map(|b| b.2.map_or(b.1, |w| w.0.min(b.1)))
        .fold(f64::INFINITY, f64::min);
    let (x0, x1) = padded(lo.min(0.0), hi.max(0.0), false);
    let n = bars.len();
    let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32;
    let mut c = ChartBuilder::on(root)
        .caption(caption(title).0, caption(title).1)
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size((longest * 8 + 10).clamp(60, 280))
        .build_cartesian_2d(x0..x1, (0..n).into_segmented())?;
    // Row r (from the top) is segment n-1-r.
    c.configure_mesh()
        .x_desc(x_label.as_str())
        .x_label_formatter(&|v| tick(*v))
        .y_labels(n)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if *i < n => labels[n - 1 - i].clone(),
            _ => String::new(),
        })
        .disable_y_mesh()
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, (_, v, w)) in bars.iter().enumerate() {
        let y = n - 1 - i;
        let color = if *v >= 0.0 { PALETTE[0] } else { PALETTE[1] };
        let mut bar = Rectangle::new(
            [(0.0, SegmentValue::Exact(y)), (*v, SegmentValue::Exact(y + 1))],
            color.mix(0.75).filled(),
        );
        bar.set_margin(4, 4, 0, 0);
        c.draw_series(std::iter::once(bar))?;
        if let Some((a, b)) = w {
            c.draw_series(std::iter::once(PathElement::new(
                vec![(*a, SegmentValue::CenterOf(y)), (*b, SegmentValue::CenterOf(y))],
                BLACK.stroke_width(2),
            )))?;
            for e in [*a, *b] {
                c.draw_series(std::iter::once(Circle::new(
                    (e, SegmentValue::CenterOf(y)),
                    3,
                    BLACK.filled(),
                )))?;
            }
        }
    }
    Ok(())
}

/// A grid over two parameters with its colour scale, × on failing cells and the SLO frontier.
fn draw_heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let Chart::Heatmap {
        title,
        x_label,
        y_label,
        x_values,
        y_values,
        z,
        pass,
        z_label,
    } = chart
    else {
        unreachable!("draw_heatmap draws a Chart::Heatmap")
    };
    let vals: Vec<f64> = z
        .iter()
        .flatten()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if vals.is_empty() || x_values.is_empty() || y_values.is_empty() {
        return no_data(root, title);
    }
    let (zmin, zmax) = vals
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let (nx, ny) = (x_values.len(), y_values.len());
    let (plot, legend) = root.split_horizontally(WIDTH - 110);
    let mut c = ChartBuilder::on(&plot)
        .caption(caption(title).0, caption(title).1)
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)?;
    let xl = x_values.clone();
    let yl = y_values.clone();
    c.configure_mesh()
        .x_desc(x_label.as_str())
        .y_desc(y_label.as_str())
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&move |v| centre_label(*v, &xl))
        .y_label_formatter(&move |v| centre_label(*v, &yl))
        .disable_mesh()
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let map = ViridisRGB;
    let frac = |v: f64| if zmax > zmin { (v - zmin) / (zmax - zmin) } else { 0.5 };
    for (yi, row) in z.iter().enumerate() {
        for (xi, v) in row.iter().enumerate() {
            let (x, y) = (xi as f64, yi as f64);
            let fill = match v {
                Some(v) if v.is_finite() => map.get_color(frac(*v)).filled(),
                _ => RGBColor(220, 220, 220).filled(),
            };
            c.draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], fill)))?;
            if pass.get(yi).and_then(|r| r.get(xi)).copied().flatten() == Some(false) {
                let st = WHITE.mix(0.7).stroke_width(2);
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(x + 0.2, y + 0.2), (x + 0.8, y + 0.8)],
                    st,
                )))?;
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(x + 0.2, y + 0.8), (x + 0.8, y + 0.2)],
                    st,
                )))?;
            }
        }
    }
    // The SLO frontier: edges between a passing and a failing cell.
    let ok = |xi: usize, yi: usize| pass.get(yi).and_then(|r| r.get(xi)).copied().flatten();
    let red = RGBColor(220, 20, 20).stroke_width(3);
    for yi in 0..ny {
        for xi in 0..nx {
            let here = ok(xi, yi);
            if xi + 1 < nx && here.is_some() && ok(xi + 1, yi).is_some() && here != ok(xi + 1, yi) {
                let x = (xi + 1) as f64;
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(x, yi as f64), (x, yi as f64 + 1.0)],
                    red,
                )))?;
            }
            if yi + 1 < ny && here.is_some() && ok(xi, yi + 1).is_some() && here != ok(xi, yi + 1) {
                let y = (yi + 1) as f64;
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(xi as f64, y), (xi as f64 + 1.0, y)],
                    red,
                )))?;
            }
        }
    }
    // Colour scale.
    let steps = 50;
    let top = 60i32;
    let bottom = HEIGHT as i32 - 60;
    for s in 0..steps {
        let f = s as f64 / (steps - 1) as f64;
        let y = bottom - ((bottom - top) as f64 * f) as i32;
        legend.draw(&Rectangle::new([(20, y - 5), (45, y + 4)], map.get_color(f).filled()))?;
    }
    legend.draw(&Text::new(tick(zmax), (50, top - 6), ("sans-serif", 12).into_font()))?;
    legend.draw(&Text::new(tick(zmin), (50, bottom - 6), ("sans-serif", 12).into_font()))?;
    legend.draw(&Text::new(
        z_label.clone(),
        (5, top - 35),
        ("sans-serif", 12).into_font(),
    ))?;
    legend.draw(&Text::new(
        "× fails SLO".to_string(),
        (5, bottom + 25),
        ("sans-serif", 12).into_font(),
    ))?;
    Ok(())
}

/// Passing and failing points and the Pareto front of the passing ones.
fn draw_pareto<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> DrawResult<DB> {
    let Chart::Pareto {
        title,
        x_label,
        y_label,
        points,
    } = chart
    else {
        unreachable!("draw_pareto draws a Chart::Pareto")
    };
    let pts: Vec<&(f64, f64, bool)> = points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
    if pts.is_empty() {
        return no_data(root, title);
    }
    let (x0, x1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (x0, x1) = padded(x0, x1, false);
    let (y0, y1) = padded(y0, y1, true);
    let mut c = ChartBuilder::on(root)
        .caption(caption(title).0, caption(title).1)
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    c.configure_mesh()
        .x_desc(x_label.as_str())
        .y_desc(y_label.as_str())
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    c.draw_series(
        pts.iter()
            .filter(|p| !p.2)
            .map(|p| Cross::new((p.0, p.1), 4, PALETTE[1].stroke_width(2))),
    )?
    .label("fails an SLO")
    .legend(|(x, y)| Cross::new((x + 9, y), 4, PALETTE[1].stroke_width(2)));
    c.draw_series(
        pts.iter()
            .filter(|p| p.2)
            .map(|p| Circle::new((p.0, p.1), 4, PALETTE[0].filled())),
    )?
    .label("meets the SLOs")
    .legend(|(x, y)| Circle::new((x + 9, y), 4, PALETTE[0].filled()));
    let front = pareto_front(points);
    if front.len() > 1 {
        c.draw_series(LineSeries::new(front, PALETTE[2].stroke_width(2)))?
            .label("Pareto front (passing)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[2].stroke_width(3)));
    }
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 13))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()?;
    Ok(())
}

/// The label of the cell whose centre is at `v` (cells span [i, i+1)).
fn centre_label(v: f64, labels: &[String]) -> String {
    let i = (v - 0.5).round();
    if (v - 0.5 - i).abs() < 0.01 && i >= 0.0 && (i as usize) < labels.len() {
        labels[i as usize].clone()
    } else {
        String::new()
    }
}

/// The passing points not dominated by another passing point (lower or
/// equal in both coordinates, lower in one), sorted by x.
pub fn pareto_front(points: &[(f64, f64, bool)]) -> Vec<(f64, f64)> {
    let mut pass: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.2 && p.0.is_finite() && p.1.is_finite())
        .map(|p| (p.0, p.1))
        .collect();
    pass.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in pass {
        if front.last().is_none_or(|l| p.1 < l.1) {
            front.push(p);
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pareto_front_keeps_only_undominated_passing_points() {
        let pts = [
            (1.0, 5.0, true),
            (2.0, 3.0, true),
            (2.5, 4.0, true), // dominated by (2, 3)
            (3.0, 1.0, true),
            (0.5, 0.5, false), // fails: not on the front
        ];
        assert_eq!(pareto_front(&pts), [(1.0, 5.0), (2.0, 3.0), (3.0, 1.0)]);
    }

    #[test]
    fn pngs_written_to_the_same_target_at_once_do_not_collide() {
        // Was: the temporary name was `.NAME.tmp-PID.png`, the same for
        // every write of one target in a process, so two threads drew into
        // one file and the second rename failed (or renamed a mix).
        let dir = std::env::temp_dir().join(format!("tenantsim-png-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("latency.png");
        let chart = Chart::Lines {
            title: "Latency".into(),
            x_label: "time (s)".into(),
            y_label: "seconds".into(),
            lines: vec![Line {
                name: "p99".into(),
                points: vec![(0.0, 0.1), (10.0, 0.2)],
                ..Default::default()
            }],
            rules: vec![],
            events: vec![],
            log_x: false,
        };
        std::thread::scope(|s| {
            let writers: Vec<_> = (0..4).map(|_| s.spawn(|| png(&chart, &path))).collect();
            for w in writers {
                w.join().unwrap().unwrap();
            }
        });
        // And one after the other.
        png(&chart, &path).unwrap();
        png(&chart, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["latency.png"], "temporary files left behind");
        let a = crate::files::temp_path(&dir, "x.png", ".png");
        assert_ne!(a, crate::files::temp_path(&dir, "x.png", ".png"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn charts_render_text_with_the_embedded_font() {
        let chart = Chart::Lines {
            title: "Latency".into(),
            x_label: "time (s)".into(),
            y_label: "seconds".into(),
            lines: vec![Line {
                name: "p99".into(),
                points: vec![(0.0, 0.1), (10.0, 0.2)],
                ..Default::default()
            }],
            rules: vec![Rule {
                label: "SLO p99".into(),
                y: 0.15,
            }],
            events: vec![5.0],
            log_x: false,
        };
        let s = svg(&chart);
        assert!(s.starts_with("<svg"), "{}", &s[..50.min(s.len())]);
        assert!(s.contains("Latency") && s.contains("SLO p99") && s.contains("time (s)"));
        let empty = Chart::Bars {
            title: "Errors".into(),
            x_label: "count".into(),
            bars: vec![],
        };
        assert!(svg(&empty).contains("no data"));
        let dir = std::env::temp_dir().join(format!("tenantsim-png-{}", std::process::id()));
        let path = dir.join("c.png");
        png(&chart, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..4], b"\x89PNG");
        let _ = std::fs::remove_dir_all(dir);
    }
}
