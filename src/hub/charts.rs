//! Charts as SVG drawn on the hub (issue 20): bars, a line over days, a weekday × hour
//! heat map. Each is an image with a title and a description a screen reader says; the
//! numbers themselves are always in a table beside it (`hub::reports_page`). No script,
//! no external service, and black-and-white printable: values are also written as text.

use std::fmt::Write as _;

use super::tracking::escape;

/// Width of every chart in SVG units (it scales to the page).
const WIDTH: f64 = 640.0;

fn open(out: &mut String, id: &str, height: f64, title: &str, description: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(description)
    );
}

/// Horizontal bars, one per `(label, value)`, with the value written after each bar.
pub fn bars(
    id: &str,
    title: &str,
    description: &str,
    items: &[(String, f64)],
    unit: &str,
) -> String {
    let row = 26.0;
    let height = row * items.len().max(1) as f64 + 10.0;
    let mut out = String::new();
    open(&mut out, id, height, title, description);
    let most = items.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-9);
    let (label_width, bar_width) = (190.0, WIDTH - 190.0 - 90.0);
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 5.0 + row * i as f64;
        let width = (value / most * bar_width).max(0.0);
        let shown = format!("{} {unit}", number(*value));
        let _ = write!(
            out,
            "<g><title>{}: {}</title>\
             <text x=\"{x}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{width:.1}\" height=\"18\" class=\"bar\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" class=\"value\">{}</text></g>",
            escape(label),
            escape(&shown),
            escape(label),
            escape(&shown),
            x = label_width - 8.0,
            ty = y + 14.0,
            vx = label_width + width + 6.0,
        );
    }
    out.push_str("</svg>");
    out
}

/// A line over `points` (label, value; `None` leaves a gap), the axis from 0 to the
/// highest value, the first and last labels and the highest value written.
pub fn line(
    id: &str,
    title: &str,
    description: &str,
    points: &[(String, Option<f64>)],
    unit: &str,
) -> String {
    let height = 220.0;
    let (left, right, top, bottom) = (60.0, WIDTH - 20.0, 20.0, height - 40.0);
    let mut out = String::new();
    open(&mut out, id, height, title, description);
    let most = points
        .iter()
        .filter_map(|(_, v)| *v)
        .fold(0.0, f64::max)
        .max(1e-9);
    let step = if points.len() > 1 {
        (right - left) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let at = |i: usize, v: f64| (left + step * i as f64, bottom - v / most * (bottom - top));
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" class=\"axis\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" class=\"axis\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"label\">{} {}</text>\
         <text x=\"{lx}\" y=\"{bottom}\" text-anchor=\"end\" class=\"label\">0</text>",
        number(most),
        escape(unit),
        lx = left - 6.0,
        ty = top + 4.0,
    );
    let mut path = String::new();
    let mut pen_down = false;
    for (i, (label, value)) in points.iter().enumerate() {
        match value {
            Some(v) => {
                let (x, y) = at(i, *v);
                let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
                let _ = write!(
                    out,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" class=\"dot\"><title>{}: {} {}</title></circle>",
                    escape(label),
                    number(*v),
                    escape(unit)
                );
            }
            None => pen_down = false,
        }
    }
    let _ = write!(out, "<path d=\"{}\" class=\"line\"/>", path.trim_end());
    if let (Some((first, _)), Some((last, _))) = (points.first(), points.last()) {
        let _ = write!(
            out,
            "<text x=\"{left}\" y=\"{y}\" class=\"label\">{}</text>\
             <text x=\"{right}\" y=\"{y}\" text-anchor=\"end\" class=\"label\">{}</text>",
            escape(first),
            escape(last),
            y = bottom + 20.0,
        );
    }
    out.push_str("</svg>");
    out
}

/// Weekday names, Monday first, as the reports print them.
pub const WEEKDAYS: [&str; 7] = ["Lun", "Mar", "Mer", "Gio", "Ven", "Sab", "Dom"];

/// A weekday × hour grid of `hours` (the columns shown), each cell shaded by its value
/// against the highest and the value written in it; empty cells stay white.
pub fn heat_map(
    id: &str,
    title: &str,
    description: &str,
    grid: &[[Option<f64>; 24]; 7],
    hours: std::ops::Range<usize>,
    unit: &str,
) -> String {
    let (left, top, cell_h) = (44.0, 22.0, 26.0);
    let columns = hours.len().max(1);
    let cell_w = (WIDTH - left - 4.0) / columns as f64;
    let height = top + cell_h * 7.0 + 6.0;
    let mut out = String::new();
    open(&mut out, id, height, title, description);
    let most = grid
        .iter()
        .flatten()
        .filter_map(|v| *v)
        .fold(0.0, f64::max)
        .max(1e-9);
    for (c, hour) in hours.clone().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"16\" text-anchor=\"middle\" class=\"label\">{hour}</text>",
            left + cell_w * (c as f64 + 0.5)
        );
    }
    for (d, name) in WEEKDAYS.iter().enumerate() {
        let y = top + cell_h * d as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"label\">{name}</text>",
            left - 6.0,
            y + 17.0
        );
        for (c, hour) in hours.clone().enumerate() {
            let x = left + cell_w * c as f64;
            let value = grid[d][hour];
            // Lightness from 97 % (none) to 35 % (the highest): readable in grey too.
            let (fill, text) = match value {
                Some(v) => {
                    let share = v / most;
                    let light = 90.0 - 55.0 * share;
                    (
                        format!("hsl(210, 70%, {light:.0}%)"),
                        if share > 0.55 { "#fff" } else { "#000" },
                    )
                }
                None => ("#fff".to_owned(), "#000"),
            };
            let shown = value.map(number).unwrap_or_default();
            let _ = write!(
                out,
                "<g><title>{name} {hour}:00-{hour}:59: {}</title>\
                 <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{fill}\" class=\"cell\"/>\
                 <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"middle\" fill=\"{text}\" class=\"cellvalue\">{}</text></g>",
                if shown.is_empty() {
                    "-".to_owned()
                } else {
                    format!("{shown} {unit}")
                },
                shown,
                w = cell_w - 1.0,
                h = cell_h - 1.0,
                tx = x + cell_w / 2.0,
                ty = y + 17.0,
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// A figure as the charts and tables write it: whole above 10, one decimal below
/// (Italian decimal comma).
pub fn number(value: f64) -> String {
    if value.abs() >= 10.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}").replace('.', ",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_say_what_they_show_and_escape_labels() {
        let svg = bars(
            "b",
            "Attesa <media>",
            "Minuti per servizio",
            &[("NASpI & co".into(), 12.0), ("ISEE".into(), 3.5)],
            "min",
        );
        assert!(
            svg.contains("role=\"img\"")
                && svg.contains("<title id=\"b-t\">Attesa &lt;media&gt;</title>")
        );
        assert!(svg.contains("NASpI &amp; co: 12 min"));
        assert!(svg.contains("3,5 min"));
        let mut grid = [[None; 24]; 7];
        grid[0][9] = Some(20.0);
        let map = heat_map("h", "t", "d", &grid, 8..18, "min");
        assert_eq!(map.matches("class=\"cell\"").count(), 70);
        assert!(map.contains("Lun 9:00-9:59: 20 min"));
        let trend = line(
            "l",
            "t",
            "d",
            &[
                ("1".into(), Some(1.0)),
                ("2".into(), None),
                ("3".into(), Some(3.0)),
            ],
            "min",
        );
        assert_eq!(trend.matches("<circle").count(), 2);
        assert!(
            trend.contains("d=\"M") && trend.matches('M').count() >= 2,
            "a gap starts a new line"
        );
    }
}
