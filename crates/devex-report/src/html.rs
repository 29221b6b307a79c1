//! HTML escaping and small formatting helpers. Every string that comes from
//! the data goes through [`escape`] before it reaches a page.

use std::fmt::Write;

/// Escape text for HTML element content and quoted attribute values.
///
/// ```
/// assert_eq!(devex_report::html::escape("<script>alert('1')</script> & \"x\""),
///            "&lt;script&gt;alert(&#39;1&#39;)&lt;/script&gt; &amp; &quot;x&quot;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An HTML table: `head` cells are escaped, `rows` cells are already HTML.
pub fn table(caption: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let _ = write!(out, "<table><caption>{}</caption><thead><tr>", escape(caption));
    for h in head {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<th scope=\"row\">{cell}</th>");
            } else {
                let _ = write!(out, "<td>{cell}</td>");
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// Hours as a readable duration: minutes below an hour, days from two days up.
pub fn hours(h: Option<f64>) -> String {
    match h {
        None => "–".into(),
        Some(h) if h < 1.0 => format!("{:.0} min", h * 60.0),
        Some(h) if h < 48.0 => format!("{h:.1} h"),
        Some(h) => format!("{:.1} days", h / 24.0),
    }
}

/// A share (0..1) as a percentage.
pub fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1} %", v * 100.0)).unwrap_or_else(|| "–".into())
}

/// A deployment rate: per day from one a day up, else per week.
pub fn rate(per_day: Option<f64>) -> String {
    match per_day {
        None => "–".into(),
        Some(d) if d >= 1.0 => format!("{d:.2} / day"),
        Some(d) => format!("{:.1} / week", d * 7.0),
    }
}

/// A plain number with `digits` decimals, or a dash.
pub fn number(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "–".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(hours(Some(0.5)), "30 min");
        assert_eq!(hours(Some(20.54)), "20.5 h");
        assert_eq!(hours(Some(72.0)), "3.0 days");
        assert_eq!(hours(None), "–");
        assert_eq!(percent(Some(0.0512)), "5.1 %");
        assert_eq!(rate(Some(1.3333)), "1.33 / day");
        assert_eq!(rate(Some(0.5)), "3.5 / week");
        assert_eq!(number(Some(12.345), 1), "12.3");
    }

    #[test]
    fn table_escapes_headers_only() {
        let t = table("<c>", &["a<b"], &[vec!["<b>x</b>".into()]]);
        assert!(t.contains("<caption>&lt;c&gt;</caption>"));
        assert!(t.contains("<th scope=\"col\">a&lt;b</th>"));
        assert!(t.contains("<th scope=\"row\"><b>x</b></th>"));
    }
}
