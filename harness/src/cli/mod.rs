//! One module per command; each has its clap `Args` and a `run` returning the exit code.

pub mod explore;
pub mod from_execution;
pub mod graph;
pub mod junit;
pub mod run;
pub mod scenario;
pub mod sfn;
pub mod status;
pub mod submit;
pub mod up;

use anyhow::{Context, bail};

/// The job table of a running `harness up`, from the environment it printed.
pub fn table_from_env() -> anyhow::Result<String> {
    std::env::var("JOBS_TABLE").context(
        "JOBS_TABLE is not set: run `eval \"$(harness up)\"` in another shell first, or export what `harness up` printed",
    )
}

/// SDK configuration for a running `harness up`, from the environment it printed.
pub async fn sdk_from_env() -> anyhow::Result<aws_config::SdkConfig> {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        bail!("AWS_ENDPOINT_URL is not set: export what `harness up` printed");
    }
    Ok(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
}
