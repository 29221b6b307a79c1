//! The connectors against local servers speaking each API's real shapes
//! (`devex-ghmock`, `devex-glmock`, `devex-pdmock` on wiremock), and the run
//! loop with real sources. One test binary: each links the whole stack.

mod github;
mod gitlab;
mod pagerduty;
mod run;
