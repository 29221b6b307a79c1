//! The page's building blocks as data ([`Cell`], [`DataTable`], [`Figure`])
//! and their markup. Every string is escaped by `maud` when it is spliced in;
//! the one raw exception is a chart's SVG, which plotters drew from numbers
//! and labels it escaped itself.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::html::escape;

/// One table cell (or tile value), as data.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Plain text.
    Text(String),
    /// A link.
    Link { href: String, text: String },
    /// A value with its band as a coloured chip.
    Banded { value: String, band: Option<String> },
    /// A survey number that is not shown, and why.
    Withheld { reason: Option<String>, min_group_size: i64 },
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

/// A data table: a caption, column heads, and rows whose first cell heads the row.
#[derive(Debug, Clone)]
pub struct DataTable {
    pub caption: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Wide: scrolls sideways on a narrow screen.
    pub scroll: bool,
}

impl DataTable {
    pub fn new(caption: impl Into<String>, head: &[&str], rows: Vec<Vec<Cell>>) -> Self {
        DataTable { caption: caption.into(), head: head.iter().map(|h| h.to_string()).collect(), rows, scroll: false }
    }

    /// The same table, scrolling sideways when wide.
    pub fn scrolling(mut self) -> Self {
        self.scroll = true;
        self
    }
}

/// A chart with its caption (plain text) and its data table.
#[derive(Debug, Clone)]
pub struct Figure {
    pub caption: String,
    /// The SVG plotters drew.
    pub svg: String,
    pub table: DataTable,
}

/// Why a survey number is not shown, in words: too few respondents, or withheld
/// beside a smaller group so that the total does not give that group away.
pub fn withheld(reason: Option<&str>, min: i64) -> Markup {
    html! {
        "withheld "
        span class="why" {
            @if reason == Some("complementary") {
                "(shown, it and the total would reveal a group of fewer than " (min) ")"
            } @else {
                "(n < " (min) ")"
            }
        }
    }
}

pub fn cell(c: &Cell) -> Markup {
    match c {
        Cell::Text(s) => html! { (s) },
        Cell::Link { href, text } => html! { a href=(href) { (text) } },
        Cell::Banded { value, band } => html! {
            (value)
            @if let Some(b) = band { " " span class={ "chip band-" (b) } { (b) } }
        },
        Cell::Withheld { reason, min_group_size } => withheld(reason.as_deref(), *min_group_size),
    }
}

/// A table: the first cell of each row heads it.
pub fn table(t: &DataTable) -> Markup {
    let inner = html! {
        table {
            caption { (t.caption) }
            thead { tr { @for h in &t.head { th scope="col" { (h) } } } }
            tbody {
                @for row in &t.rows {
                    tr {
                        @for (i, c) in row.iter().enumerate() {
                            @if i == 0 { th scope="row" { (cell(c)) } } @else { td { (cell(c)) } }
                        }
                    }
                }
            }
        }
    };
    if t.scroll {
        html! { div class="scroll" { (inner) } }
    } else {
        inner
    }
}

/// A chart, its caption and its data table behind a disclosure.
pub fn figure(f: &Figure) -> Markup {
    // The raw exception: plotters' SVG, labelled for screen readers with the escaped caption.
    let svg = f.svg.replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{}\" ", escape(&f.caption)), 1);
    html! {
        figure {
            div class="chart" { (PreEscaped(svg)) }
            figcaption { (f.caption) }
            details { summary { "Data table" } (table(&f.table)) }
        }
    }
}

/// A section with its heading; `id` names both.
pub fn section(id: &str, heading: &str, body: Markup) -> Markup {
    html! { section aria-labelledby=(id) { h2 id=(id) { (heading) } (body) } }
}

/// The whole document: head with the inline style sheet, then `body`.
pub fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE) "\n"
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="generator" content="devex";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
        "\n"
    }
    .into_string()
}

/// The page header: title, subtitle, and when and how the numbers were made.
pub fn header(title: &str, sub: &str, generated_at: &str, definitions: &str, benchmarks: &str) -> Markup {
    html! {
        header {
            h1 { (title) }
            p class="sub" { (sub) }
            p class="sub" {
                "Generated " (generated_at) " from the lake's state at that time · definitions version "
                (definitions) " · bands " (benchmarks)
            }
        }
    }
}

/// A navigation list of `(href, text)` links.
pub fn nav(label: &str, links: &[(&str, &str)]) -> Markup {
    html! { nav aria-label=(label) { ul { @for (href, text) in links { li { a href=(href) { (text) } } } } } }
}

const CSS: &str = "\
:root{--fg:#1b1b1b;--muted:#4a4a4a;--line:#d0d0d0;--bg:#fff;--accent:#005a9c}\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:var(--fg);background:var(--bg)}\
header,nav,main{max-width:1100px;margin:0 auto;padding:0 16px}\
header{padding-top:24px}h1{font-size:1.8rem;margin:0 0 4px}h2{font-size:1.35rem;margin:40px 0 12px;border-bottom:2px solid var(--line);padding-bottom:4px}\
h3{font-size:1rem;margin:0 0 6px}.sub{color:var(--muted);margin:2px 0}\
a{color:var(--accent)}nav ul{list-style:none;padding:0;margin:16px 0 0;display:flex;flex-wrap:wrap;gap:6px 16px}\
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px}\
.tile{border:1px solid var(--line);border-radius:8px;padding:12px}.tile p{margin:4px 0}\
.value{font-size:1.6rem;font-weight:700}.n,.delta{color:var(--muted);font-size:.9rem}\
.band,.chip{display:inline-block;border-radius:4px;padding:1px 8px;font-size:.9rem;border:1px solid}\
.chip{font-size:.8rem;padding:0 6px}\
.why{display:block;font-size:.75rem;font-weight:normal;color:#555}\
.band-elite{background:#dff3e8;color:#0a5132;border-color:#0a5132}\
.band-high{background:#e1eefa;color:#0b4173;border-color:#0b4173}\
.band-medium{background:#fdf0d5;color:#6b4400;border-color:#6b4400}\
.band-low{background:#fbe3e1;color:#8a1c12;border-color:#8a1c12}\
.band-none{background:#f1f1f1;color:#333;border-color:#999}\
.warning{border-left:4px solid #8a1c12;background:#fbe3e1;color:#5c1008;padding:6px 10px}\
.better{color:#0a5132;font-weight:600}.worse{color:#8a1c12;font-weight:600}.same{color:var(--muted)}\
figure{margin:16px 0 28px}.chart{overflow-x:auto}\
.chart svg{width:100%;min-width:640px;max-width:760px;height:auto;display:block}\
figcaption{color:var(--muted);font-size:.95rem;margin:6px 0}\
details{margin:6px 0}summary{cursor:pointer;color:var(--accent)}\
.scroll{overflow-x:auto}table{border-collapse:collapse;margin:8px 0;font-size:.9rem}\
caption{text-align:left;font-weight:600;padding:4px 0}\
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}thead th{background:#f4f4f4}\
dt{font-weight:600;margin-top:8px}dd{margin:0 0 0 16px}code{background:#f4f4f4;padding:0 4px;border-radius:3px;overflow-wrap:anywhere}\
@media (max-width:600px){body{font-size:15px}h1{font-size:1.4rem}.tiles{grid-template-columns:1fr 1fr}.value{font-size:1.25rem}}\
@media print{nav,details{display:none}a{color:inherit;text-decoration:none}\
figure,.tile,table{break-inside:avoid}h2{break-after:avoid}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_is_escaped_and_the_svg_is_not() {
        let hostile = "<script>alert(1)</script>";
        let f = Figure {
            caption: format!("caption {hostile}"),
            svg: "<svg width=\"1\"><text>&lt;b&gt;</text></svg>".into(),
            table: DataTable::new(
                hostile,
                &[hostile],
                vec![vec![
                    Cell::Link { href: format!("teams/{hostile}.html"), text: hostile.into() },
                    Cell::Banded { value: hostile.into(), band: Some(hostile.into()) },
                    Cell::Withheld { reason: None, min_group_size: 5 },
                ]],
            ),
        };
        let html = figure(&f).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<svg role=\"img\" aria-label=\"caption &lt;script&gt;alert(1)&lt;/script&gt;\" width=\"1\"><text>&lt;b&gt;</text></svg>"), "{html}");
        assert!(html.contains("<th scope=\"row\"><a href=\"teams/&lt;script&gt;alert(1)&lt;/script&gt;.html\">"));
        assert!(html.contains("withheld <span class=\"why\">(n &lt; 5)</span>"));
        let p = page(hostile, section("x", hostile, nav("n", &[("#x", hostile)])));
        assert!(p.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"), "{p}");
        assert!(!p.contains("<script>"), "{p}");
    }
}
