//! Counted nouns in what devex prints: "1 team", "2 teams", never "1 teams".

/// `n` and `noun`, plural unless `n` is 1 (every noun devex counts takes an `s`).
///
/// ```
/// use devex_model::plural::count;
/// assert_eq!(count(1, "team"), "1 team");
/// assert_eq!(count(0, "response"), "0 responses");
/// assert_eq!(count(12, "deployment"), "12 deployments");
/// ```
pub fn count(n: impl Into<i128>, noun: &str) -> String {
    let n = n.into();
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}
