//! The report's charts: one model (groups of bars, one bar per series) laid
//! out once by [`layout`], drawn as SVG here (the e-mail's inline charts) and
//! as PDF paths by `pdf`, so both show the same bars. Geometry is in floating
//! point; the amounts it is scaled from stay exact.

use std::fmt::Write as _;

/// Grouped bars: `values[group][series]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    pub title: String,
    /// One label per group (a day, a model).
    pub labels: Vec<String>,
    /// Series names and their colours (RGB).
    pub series: Vec<(&'static str, [u8; 3])>,
    pub values: Vec<Vec<i128>>,
}

/// Size of a chart.
pub const WIDTH: f32 = 520.0;
pub const HEIGHT: f32 = 170.0;
/// Room under the bars for labels, and above them for the legend.
const BOTTOM: f32 = 22.0;
const TOP: f32 = 26.0;
const LEFT: f32 = 8.0;

/// One bar, in a box of [`WIDTH`] x [`HEIGHT`] with y growing downwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    pub series: usize,
}

/// Where a group's label goes (its centre, on the baseline's line below).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub x: f32,
    pub y: f32,
    pub text: String,
}

/// The bars and labels of `chart`; the tallest bar fills the plot's height.
pub fn layout(chart: &Chart) -> (Vec<Bar>, Vec<Label>) {
    let max = chart
        .values
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let groups = chart.labels.len().max(1) as f32;
    let series = chart.series.len().max(1) as f32;
    let slot = (WIDTH - 2.0 * LEFT) / groups;
    let bar = slot * 0.8 / series;
    let plot = HEIGHT - TOP - BOTTOM;
    let baseline = HEIGHT - BOTTOM;
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (g, values) in chart.values.iter().enumerate() {
        let left = LEFT + slot * g as f32 + slot * 0.1;
        for (s, value) in values.iter().enumerate() {
            // Negative amounts (a saving below zero) draw as nothing.
            let height = (*value).max(0) as f64 / max as f64 * f64::from(plot);
            let height = height as f32;
            bars.push(Bar {
                x: left + bar * s as f32,
                y: baseline - height,
                width: bar,
                height,
                series: s,
            });
        }
        if let Some(text) = chart.labels.get(g) {
            labels.push(Label {
                x: left + slot * 0.4,
                y: baseline + 14.0,
                text: text.clone(),
            });
        }
    }
    (bars, labels)
}

/// `<`, `>`, `&`, `"` and `'` as entities: labels come from outside.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The chart as an inline `<svg>` element.
pub fn svg(chart: &Chart) -> String {
    let (bars, labels) = layout(chart);
    let title = escape(&chart.title);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{title}\">\
         <title>{title}</title>"
    );
    let mut x = LEFT;
    for (name, colour) in &chart.series {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"15\" font-family=\"Helvetica,Arial,sans-serif\" font-size=\"11\">{}</text>",
            hex(*colour),
            x + 14.0,
            escape(name)
        );
        x += 150.0;
    }
    for bar in &bars {
        let colour = chart.series.get(bar.series).map_or([0, 0, 0], |s| s.1);
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
            bar.x,
            bar.y,
            bar.width,
            bar.height,
            hex(colour)
        );
    }
    for label in &labels {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-family=\"Helvetica,Arial,sans-serif\" font-size=\"9\">{}</text>",
            label.x,
            label.y,
            escape(&label.text)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<Vec<i128>>) -> Chart {
        Chart {
            title: "Spend <by> day".to_owned(),
            labels: (0..values.len()).map(|i| format!("d{i}")).collect(),
            series: vec![
                ("would have cost", [200, 200, 200]),
                ("spend", [30, 90, 200]),
            ],
            values,
        }
    }

    #[test]
    fn the_tallest_bar_fills_the_plot_and_others_scale() {
        let (bars, labels) = layout(&chart(vec![vec![100, 50], vec![0, -5]]));
        assert_eq!(bars.len(), 4);
        assert_eq!(labels.len(), 2);
        let plot = HEIGHT - TOP - BOTTOM;
        assert!((bars[0].height - plot).abs() < 0.01);
        assert!((bars[1].height - plot / 2.0).abs() < 0.01);
        assert_eq!((bars[2].height, bars[3].height), (0.0, 0.0));
        assert!(bars
            .iter()
            .all(|b| (b.y + b.height - (HEIGHT - BOTTOM)).abs() < 0.01));
        assert!(bars[1].x > bars[0].x && bars[2].x > bars[1].x);
        // Nothing at all: no division by zero.
        let (bars, _) = layout(&chart(vec![vec![0, 0]]));
        assert!(bars.iter().all(|b| b.height == 0.0));
    }

    #[test]
    fn svg_has_one_rect_per_bar_and_escapes_text() {
        let mut chart = chart(vec![vec![3, 2], vec![1, 1]]);
        chart.labels[0] = "<script>".to_owned();
        let svg = svg(&chart);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        // Two legend squares and four bars.
        assert_eq!(svg.matches("<rect ").count(), 6);
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert!(svg.contains("<title>Spend &lt;by&gt; day</title>"));
    }
}
