//! Escaping and small formatting helpers. Pages are built with `maud`, which
//! escapes every interpolation; [`escape`] is the same rule for the one place
//! text goes into raw markup (a chart's `aria-label`).

/// Escape text for HTML element content and quoted attribute values, as `maud` does.
///
/// ```
/// assert_eq!(devex_report::html::escape("<script>alert(1)</script> & \"x\""),
///            "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;");
/// ```
pub fn escape(s: &str) -> String {
    maud::html! { (s) }.into_string()
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
}
