//! Properties of the metric SQL over random inputs, one test binary (each
//! links DataFusion and delta-rs): no survey number can be differenced out of
//! the others, and the effect of onboarding takes out what every team shares.
//! `DEVEX_PROPTEST_CASES=500` searches harder than the default run.

mod effect;
mod survey_differencing;
