//! Charts as inline SVG, drawn in Rust so the report needs no script and no library.
//!
//! Only presentation attributes are used (no `style` attributes), so the page's
//! Content-Security-Policy can allow its one stylesheet by hash and nothing else. The only text
//! placed in a chart is a title and axis labels, escaped like everything else.

use std::fmt::Write as _;

use lasthop_findings::{Chart, ChartKind};
use lasthop_normalise::format_timestamp;

use crate::html::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;
const INK: &str = "#1f2937";
const GRID: &str = "#d1d5db";
const MARK: &str = "#2563eb";

/// Draws a chart as an `<svg>` element with a `<figcaption>`-style title above it.
pub fn render(chart: &Chart) -> String {
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{}" font-family="sans-serif" font-size="11">"#,
        escape(&chart.title)
    );
    match &chart.kind {
        ChartKind::Timeline { times, values, value_label } => {
            timeline(&mut svg, times, values, value_label)
        }
        ChartKind::Histogram { bins, x_label } => histogram(&mut svg, bins, x_label),
        ChartKind::OverTime { bucket_us, points, value_label } => {
            over_time(&mut svg, *bucket_us, points, value_label)
        }
    }
    svg.push_str("</svg>");
    svg
}

fn plot_width() -> f64 {
    WIDTH - LEFT - RIGHT
}

fn plot_height() -> f64 {
    HEIGHT - TOP - BOTTOM
}

/// The value axis: a baseline, a top gridline labelled with the maximum, and the axis name.
fn value_axis(svg: &mut String, max: f64, label: &str) {
    let bottom = TOP + plot_height();
    let _ = write!(
        svg,
        r#"<line x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="{INK}"/><line x1="{LEFT}" y1="{TOP}" x2="{}" y2="{TOP}" stroke="{GRID}"/><text x="{}" y="{}" text-anchor="end" fill="{INK}">{}</text><text x="{}" y="{bottom}" text-anchor="end" fill="{INK}">0</text><text x="12" y="{}" fill="{INK}" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>"#,
        WIDTH - RIGHT,
        WIDTH - RIGHT,
        LEFT - 4.0,
        TOP + 4.0,
        escape(&short_number(max)),
        LEFT - 4.0,
        TOP + plot_height() / 2.0,
        TOP + plot_height() / 2.0,
        escape(label)
    );
}

/// Time ticks: the start, the end and three between, as UTC dates and times.
fn time_axis(svg: &mut String, start: i64, end: i64) {
    let span = (end - start).max(1) as f64;
    let y = TOP + plot_height() + 16.0;
    for i in 0..=4 {
        let t = start + (span * i as f64 / 4.0) as i64;
        let x = LEFT + plot_width() * i as f64 / 4.0;
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let label = format_timestamp(t);
        let label = label.get(..16).unwrap_or(&label).replace('T', " ");
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="{INK}"/><text x="{x:.1}" y="{y}" text-anchor="{anchor}" fill="{INK}">{}</text>"#,
            TOP + plot_height(),
            TOP + plot_height() + 4.0,
            escape(&label)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{INK}">time (UTC)</text>"#,
        LEFT + plot_width() / 2.0,
        HEIGHT - 6.0
    );
}

fn empty(svg: &mut String) {
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{INK}">no records in the store for this chart</text>"#,
        WIDTH / 2.0,
        HEIGHT / 2.0
    );
}

fn timeline(svg: &mut String, times: &[i64], values: &[f64], label: &str) {
    let (Some(&start), Some(&end)) = (times.iter().min(), times.iter().max()) else {
        return empty(svg);
    };
    let max = values.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
    value_axis(svg, max, label);
    time_axis(svg, start, end);
    let span = (end - start).max(1) as f64;
    let bottom = TOP + plot_height();
    for (i, &t) in times.iter().enumerate() {
        let x = LEFT + plot_width() * (t - start) as f64 / span;
        let v = values.get(i).copied().filter(|v| v.is_finite()).unwrap_or(0.0);
        // A mark of at least 3 px so that contacts with no payload still show.
        let h = if max > 0.0 { (plot_height() * v / max).max(3.0) } else { 3.0 };
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="{bottom:.1}" x2="{x:.1}" y2="{:.1}" stroke="{MARK}" stroke-width="1.5"/>"#,
            bottom - h
        );
    }
}

fn bars(svg: &mut String, heights: &[f64], max: f64) {
    let n = heights.len().max(1) as f64;
    let slot = plot_width() / n;
    let bottom = TOP + plot_height();
    for (i, &v) in heights.iter().enumerate() {
        if v <= 0.0 || !v.is_finite() {
            continue;
        }
        let h = plot_height() * v / max;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{MARK}"/>"#,
            LEFT + slot * i as f64 + slot * 0.1,
            bottom - h,
            (slot * 0.8).max(0.5)
        );
    }
}

fn histogram(svg: &mut String, bins: &[(String, u64)], x_label: &str) {
    let max = bins.iter().map(|(_, n)| *n).max().unwrap_or(0);
    if max == 0 {
        return empty(svg);
    }
    value_axis(svg, max as f64, "count");
    let heights: Vec<f64> = bins.iter().map(|(_, n)| *n as f64).collect();
    bars(svg, &heights, max as f64);
    // Label every bin when they fit, else every few.
    let slot = plot_width() / bins.len() as f64;
    let every = ((60.0 / slot).ceil() as usize).max(1);
    for (i, (label, _)) in bins.iter().enumerate().step_by(every) {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="{INK}">{}</text>"#,
            LEFT + slot * (i as f64 + 0.5),
            TOP + plot_height() + 14.0,
            escape(label)
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" fill="{INK}">{}</text>"#,
        LEFT + plot_width() / 2.0,
        HEIGHT - 6.0,
        escape(x_label)
    );
}

fn over_time(svg: &mut String, bucket_us: i64, points: &[(i64, f64)], label: &str) {
    let (Some(start), Some(end)) =
        (points.iter().map(|p| p.0).min(), points.iter().map(|p| p.0).max())
    else {
        return empty(svg);
    };
    let bucket = bucket_us.max(1);
    let buckets = (((end - start) / bucket) as usize + 1).min(2000);
    let mut heights = vec![0.0; buckets];
    for &(t, v) in points {
        if let Some(h) = heights.get_mut(((t - start) / bucket) as usize) {
            *h += v;
        }
    }
    let max = heights.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return empty(svg);
    }
    value_axis(svg, max, label);
    time_axis(svg, start, start + bucket * buckets as i64);
    bars(svg, &heights, max);
}

/// 1234567 → "1.2M": axis labels stay short.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_draw_marks_and_escape_their_titles() {
        let chart = Chart {
            title: "beacon to <evil>".into(),
            kind: ChartKind::Timeline {
                times: vec![0, 3_600_000_000, 7_200_000_000],
                values: vec![100.0, 120.0, 0.0],
                value_label: "bytes sent".into(),
            },
        };
        let svg = render(&chart);
        assert!(svg.contains("beacon to &lt;evil&gt;") && !svg.contains("<evil>"));
        assert_eq!(svg.matches(&format!(r#"stroke="{MARK}""#)).count(), 3);
        let hist = Chart {
            title: "gaps".into(),
            kind: ChartKind::Histogram {
                bins: vec![("1m".into(), 4), ("2m".into(), 0), ("4m".into(), 9)],
                x_label: "gap".into(),
            },
        };
        assert_eq!(render(&hist).matches("<rect").count(), 2);
        let empty = Chart {
            title: "x".into(),
            kind: ChartKind::OverTime { bucket_us: 1, points: vec![], value_label: "v".into() },
        };
        assert!(render(&empty).contains("no records"));
    }

    #[test]
    fn over_time_sums_points_into_buckets() {
        let hour = 3_600_000_000;
        let chart = Chart {
            title: "t".into(),
            kind: ChartKind::OverTime {
                bucket_us: hour,
                points: vec![(0, 1.0), (10, 2.0), (2 * hour, 5.0)],
                value_label: "v".into(),
            },
        };
        // Buckets 0 (3.0), 1 (empty) and 2 (5.0): two bars; the axis maximum is 5.
        let svg = render(&chart);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(">5<"));
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(1_234_567.0), "1.2M");
        assert_eq!(short_number(12_345.0), "12k");
        assert_eq!(short_number(42.0), "42");
        assert_eq!(short_number(0.5), "0.50");
    }
}
