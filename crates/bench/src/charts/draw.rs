//! Drawing with plotters' SVG backend: a chart is panels stacked top to bottom, each a
//! horizontal bar per row (median, with a whisker from the smallest to the largest run)
//! or a strip of markers per row (percentiles of one distribution). Text is written as
//! SVG text elements, so no font is read.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{SegmentedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordusize;
use plotters::prelude::*;

use crate::BenchResult;
use crate::report::format_number;

/// Width of every chart, in pixels.
const WIDTH: u32 = 960;
/// Height of one row of a panel.
const ROW: u32 = 26;
/// Height of a panel's title, axis and margins.
const PANEL_EXTRA: u32 = 78;
/// Width of the row labels.
const LABELS: u32 = 230;

/// One bar: a row's median, and the range of its runs.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    /// The row's label.
    pub(crate) label: String,
    /// The median.
    pub(crate) value: f64,
    /// The smallest and largest run (equal to the median after one run).
    pub(crate) range: (f64, f64),
    /// Its colour.
    pub(crate) color: RGBColor,
}

/// One strip: a distribution's marks (name, value), drawn on one line.
#[derive(Debug, Clone)]
pub(crate) struct Strip {
    /// The row's label.
    pub(crate) label: String,
    /// The marks, smallest first.
    pub(crate) marks: Vec<(&'static str, f64)>,
    /// Its colour.
    pub(crate) color: RGBColor,
}

/// What a panel shows.
#[derive(Debug, Clone)]
pub(crate) enum Rows {
    /// Bars.
    Bars(Vec<Bar>),
    /// Strips.
    Strips(Vec<Strip>),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Bars(b) => b.len(),
            Rows::Strips(s) => s.len(),
        }
    }

    fn values(&self) -> Vec<f64> {
        match self {
            Rows::Bars(bars) => bars
                .iter()
                .flat_map(|b| [b.value, b.range.0, b.range.1])
                .collect(),
            Rows::Strips(strips) => strips
                .iter()
                .flat_map(|s| s.marks.iter().map(|m| m.1))
                .collect(),
        }
    }
}

/// One panel of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Panel {
    /// Its title.
    pub(crate) title: String,
    /// The axis's caption (unit).
    pub(crate) unit: String,
    /// Whether the axis is logarithmic.
    pub(crate) log: bool,
    /// The rows, top to bottom.
    pub(crate) rows: Rows,
}

/// The SVG of `panels`, with `title` on top and `legend` (name, colour) under it.
pub(crate) fn chart(
    title: &str,
    legend: &[(&str, RGBColor)],
    panels: &[Panel],
) -> BenchResult<String> {
    let heights: Vec<u32> = panels
        .iter()
        .map(|p| PANEL_EXTRA + ROW * p.rows.len().max(1) as u32)
        .collect();
    let header = 64;
    let height = header + heights.iter().sum::<u32>();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            title.to_owned(),
            (12, 10),
            ("sans-serif", 20).into_font().color(&BLACK),
        ))?;
        let mut x = 12;
        for (name, color) in legend {
            root.draw(&Rectangle::new([(x, 42), (x + 12, 54)], color.filled()))?;
            root.draw(&Text::new(
                (*name).to_owned(),
                (x + 17, 41),
                ("sans-serif", 13).into_font().color(&BLACK),
            ))?;
            x += 30 + 7 * name.chars().count() as i32;
        }
        let (_, mut rest) = root.split_vertically(header);
        for (panel, h) in panels.iter().zip(&heights) {
            let (area, lower) = rest.split_vertically(*h);
            draw_panel(&area, panel)?;
            rest = lower;
        }
        root.present()?;
    }
    Ok(svg)
}

fn axis_range(values: &[f64], log: bool) -> (f64, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let max = finite.iter().copied().fold(0.0_f64, f64::max);
    if log {
        let min = finite
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let lo = if min.is_finite() { min } else { 1.0 };
        let lo = 10f64.powf(lo.log10().floor());
        let hi = 10f64.powf(max.max(lo * 10.0).log10().ceil());
        (lo, hi)
    } else {
        (0.0, if max > 0.0 { max * 1.18 } else { 1.0 })
    }
}

type Coord<X> = Cartesian2d<X, SegmentedCoord<RangedCoordusize>>;
type Chart<'a, 'b, X> = ChartContext<'a, SVGBackend<'b>, Coord<X>>;

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, panel: &Panel) -> BenchResult<()> {
    let n = slots(panel);
    let (lo, hi) = axis_range(&panel.rows.values(), panel.log);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&panel.title, ("sans-serif", 16))
        .margin_left(12)
        .margin_right(24)
        .margin_top(6)
        .x_label_area_size(34)
        .y_label_area_size(LABELS);
    if panel.log {
        let mut chart = builder.build_cartesian_2d((lo..hi).log_scale(), segments(n))?;
        fill(&mut chart, panel, lo)
    } else {
        let mut chart = builder.build_cartesian_2d(lo..hi, segments(n))?;
        fill(&mut chart, panel, lo)
    }
}

/// The segments of a panel: one per row, at least two (a range of one segment has no
/// length).
fn slots(panel: &Panel) -> usize {
    panel.rows.len().max(2)
}

/// `n` segments (a discrete range includes its end).
fn segments(n: usize) -> SegmentedCoord<RangedCoordusize> {
    (0..n.saturating_sub(1)).into_segmented()
}

/// The segment of row `i` of `n` (the first row on top).
fn segment(i: usize, n: usize) -> usize {
    n.saturating_sub(1 + i)
}

fn fill<X>(chart: &mut Chart<'_, '_, X>, panel: &Panel, base: f64) -> BenchResult<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let n = slots(panel);
    let labels: Vec<String> = match &panel.rows {
        Rows::Bars(b) => b.iter().map(|b| b.label.clone()).collect(),
        Rows::Strips(s) => s.iter().map(|s| s.label.clone()).collect(),
    };
    let label_of = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(s) => labels.get(segment(*s, n)).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let number = |v: &f64| short(*v);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(220, 220, 220))
        .y_labels(n)
        .y_label_formatter(&label_of)
        .x_label_formatter(&number)
        .x_desc(panel.unit.as_str())
        .label_style(("sans-serif", 13))
        .draw()?;
    match &panel.rows {
        Rows::Bars(bars) => {
            for (i, bar) in bars.iter().enumerate() {
                let s = segment(i, n);
                let mut rect = Rectangle::new(
                    [
                        (base, SegmentValue::Exact(s)),
                        (bar.value, SegmentValue::Exact(s + 1)),
                    ],
                    bar.color.filled(),
                );
                rect.set_margin(5, 5, 0, 0);
                chart.draw_series(std::iter::once(rect))?;
                let (min, max) = bar.range;
                if max > min {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![
                            (min, SegmentValue::CenterOf(s)),
                            (max, SegmentValue::CenterOf(s)),
                        ],
                        BLACK.stroke_width(1),
                    )))?;
                }
                let end = bar.value.max(max);
                chart.draw_series(std::iter::once(
                    EmptyElement::at((end, SegmentValue::CenterOf(s)))
                        + Text::new(
                            format_number(bar.value, if bar.value < 10.0 { 2 } else { 0 }),
                            (6, -7),
                            ("sans-serif", 12).into_font(),
                        ),
                ))?;
            }
        }
        Rows::Strips(strips) => {
            for (i, strip) in strips.iter().enumerate() {
                let s = segment(i, n);
                let at = |v: f64| (v, SegmentValue::CenterOf(s));
                let points: Vec<_> = strip.marks.iter().map(|m| at(m.1)).collect();
                chart.draw_series(std::iter::once(PathElement::new(
                    points.clone(),
                    strip.color.stroke_width(2),
                )))?;
                for (k, point) in points.into_iter().enumerate() {
                    let style = strip.color.filled();
                    match k {
                        0 => chart.draw_series(std::iter::once(Circle::new(point, 5, style)))?,
                        1 => chart
                            .draw_series(std::iter::once(TriangleMarker::new(point, 6, style)))?,
                        2 => chart.draw_series(std::iter::once(
                            EmptyElement::at(point) + Rectangle::new([(-4, -4), (4, 4)], style),
                        ))?,
                        _ => chart.draw_series(std::iter::once(Cross::new(
                            point,
                            5,
                            strip.color.stroke_width(2),
                        )))?,
                    };
                }
                if let Some(last) = strip.marks.last() {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at(at(last.1))
                            + Text::new(short(last.1), (9, -7), ("sans-serif", 12).into_font()),
                    ))?;
                }
            }
        }
    }
    Ok(())
}

/// An axis or value label: `12k`, `1.5M`, `0.25`.
pub(crate) fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else if a >= 10.0 || a == 0.0 {
        format_number(v, 0)
    } else if a >= 1.0 {
        trim(v)
    } else {
        format!("{v:.2}")
    }
}

fn trim(v: f64) -> String {
    let text = format!("{v:.1}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}
