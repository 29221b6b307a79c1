//! The five DORA metrics as the pages show them: how each is read off a
//! group, formatted, banded and compared with the quarter before.

use devex_model::plural::count;
use devex_query::metrics::GroupMetrics;
use maud::{Markup, html};

use crate::html::{hours, percent, rate};
use crate::model::MedianGroup;

/// How a metric is read off a group, shown and compared.
pub struct Metric {
    /// Heading.
    pub title: &'static str,
    /// Lower values are better.
    pub lower_is_better: bool,
    /// A share (0..1): changes are shown in percentage points.
    pub share: bool,
    /// The value.
    pub value: fn(&GroupMetrics) -> Option<f64>,
    /// The median group's value (`median_group`).
    pub median: fn(&MedianGroup) -> Option<f64>,
    /// The band, if the metric has bands.
    pub band: fn(&GroupMetrics) -> Option<&str>,
    /// The sample the value rests on.
    pub sample: fn(&GroupMetrics) -> String,
    /// The value for people.
    pub show: fn(Option<f64>) -> String,
    /// Unit of the chart's y axis.
    pub axis: &'static str,
    /// Chart scale of the value (100 for shares shown in %).
    pub scale: f64,
    /// One-line definition (docs/metrics.md).
    pub definition: &'static str,
}

pub const METRICS: [Metric; 5] = [
    Metric {
        title: "Deployment frequency",
        lower_is_better: false,
        share: false,
        value: |g| g.deployment_frequency.per_day,
        median: |q| q.per_day,
        band: |g| g.deployment_frequency.band.as_deref(),
        sample: |g| format!("{} production deployments", g.deployments),
        show: rate,
        axis: "deployments per day",
        scale: 1.0,
        definition: "Successful production deployments per day of the window. Band from the median number of \
                     deploy days per ISO week.",
    },
    Metric {
        title: "Change lead time (median)",
        lower_is_better: true,
        share: false,
        value: |g| g.lead_time_hours.p50,
        median: |q| q.lead_time_p50,
        band: |g| g.lead_time_hours.band.as_deref(),
        sample: |g| format!("n = {} · p90 {}", count(g.lead_time_hours.n, "change"), hours(g.lead_time_hours.p90)),
        show: hours,
        axis: "hours",
        scale: 1.0,
        definition: "From commit to the production deployment that shipped it; continuous median over every \
                     change deployed in the window (values ≤ 0 left out).",
    },
    Metric {
        title: "Change failure rate",
        lower_is_better: true,
        share: true,
        value: |g| g.change_failure_rate.value,
        median: |q| q.change_failure_rate,
        band: |g| g.change_failure_rate.band.as_deref(),
        sample: |g| format!("{} of {} failed", g.change_failure_rate.failed, count(g.deployments, "deployment")),
        show: percent,
        axis: "% of deployments",
        scale: 100.0,
        definition: "Share of production deployments that failed: an incident names it or its commit, an \
                     unlinked incident of its service follows it within the attribution window, or the next \
                     deployment is a rollback or hotfix.",
    },
    Metric {
        title: "Failed deployment recovery time (median)",
        lower_is_better: true,
        share: false,
        value: |g| g.recovery_time_hours.p50,
        median: |q| q.recovery_p50,
        band: |g| g.recovery_time_hours.band.as_deref(),
        sample: |g| format!("n = {} recovered · {} open", g.recovery_time_hours.n, g.recovery_time_hours.open),
        show: hours,
        axis: "hours",
        scale: 1.0,
        definition: "From a failed deployment to the rollback or hotfix after it, or to the resolution of its \
                     incidents, whichever is first; median over those recovered.",
    },
    Metric {
        title: "Rework rate",
        lower_is_better: true,
        share: true,
        value: |g| g.rework_rate.value,
        median: |q| q.rework_rate,
        band: |_| None,
        sample: |g| format!("{} of {} were rollbacks or hotfixes", g.rework_rate.n, count(g.deployments, "deployment")),
        show: percent,
        axis: "% of deployments",
        scale: 100.0,
        definition: "Share of production deployments that are rollbacks or hotfixes (unplanned work).",
    },
];

/// "−12 % vs 2026-Q2 · better", direction-aware.
pub fn change(m: &Metric, now: Option<f64>, before: Option<f64>, previous: &str) -> Markup {
    let (Some(now), Some(before)) = (now, before) else {
        return html! { "no comparison with " (previous) };
    };
    let diff = now - before;
    let (text, zero) = if m.share {
        (format!("{:+.1} pp", diff * 100.0), (diff * 1000.0).round() == 0.0)
    } else if before == 0.0 {
        (format!("{diff:+.2}"), diff == 0.0)
    } else {
        let pct = 100.0 * diff / before;
        (format!("{pct:+.0} %"), pct.round() == 0.0)
    };
    // The arrow shows the value's direction; the word (and colour) whether that is good.
    let arrow = if diff < 0.0 { "▼" } else { "▲" };
    let (class, verdict) = if zero {
        ("same", "unchanged".to_string())
    } else if (diff < 0.0) == m.lower_is_better {
        ("better", format!("{arrow} better"))
    } else {
        ("worse", format!("{arrow} worse"))
    };
    html! { (text.replace('-', "−")) " vs " (previous) " · " span class=(class) { (verdict) } }
}

#[cfg(test)]
mod tests {
    use super::{METRICS, change};
    use crate::render::jcurve::rel_label;

    #[test]
    fn changes_read_as_better_or_worse_by_the_metric_s_direction() {
        let (frequency, lead_time, failure_rate) = (&METRICS[0], &METRICS[1], &METRICS[2]);
        // Lead time 10 h -> 8 h: down 20 %, better.
        assert_eq!(
            change(lead_time, Some(8.0), Some(10.0), "2026-Q2").into_string(),
            "−20 % vs 2026-Q2 · <span class=\"better\">▼ better</span>"
        );
        // Deployments 2/day -> 1/day: down 50 %, worse.
        assert!(
            change(frequency, Some(1.0), Some(2.0), "Q")
                .into_string()
                .ends_with("<span class=\"worse\">▼ worse</span>")
        );
        // Failure rate 5 % -> 7.5 %: +2.5 percentage points, worse.
        assert!(
            change(failure_rate, Some(0.075), Some(0.05), "Q")
                .into_string()
                .starts_with("+2.5 pp vs Q · <span class=\"worse\">▲ worse")
        );
        assert_eq!(change(lead_time, Some(8.0), None, "2026-Q2").into_string(), "no comparison with 2026-Q2");
        assert!(change(lead_time, Some(10.0), Some(10.0), "Q").into_string().contains("unchanged"));
        assert_eq!([rel_label(-2), rel_label(0), rel_label(3)], ["q-2", "q0", "q+3"]);
    }
}
