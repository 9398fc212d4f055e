//! FileChecks pipeline: the SetRunning, TransferFile, FinalizeJob and HealJob Lambdas as a library
//! (HealJob is the target of the rule on the state machine's status changes, not a state).
//!
//! See ARCHITECTURE.md for the flow of a job and the invariants this crate keeps.

pub mod error;
pub mod ftps;
pub mod handlers;
pub mod job;
pub mod lease;
pub mod names;
pub mod secret;
pub mod store;
pub mod timer;
pub mod timestamp;
pub mod tls;
pub mod transfer;
pub mod upload;

pub use error::PipelineError;
pub use handlers::{Handlers, Settings, Step};

/// JSON logs for CloudWatch; `RUST_LOG` filters (default `info`).
pub fn init_lambda_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .init();
}

/// Runs one step as a Lambda function: the whole of each binary's `main`.
pub async fn run_lambda(step: Step) -> Result<(), lambda_runtime::Error> {
    init_lambda_tracing();
    let handlers = std::sync::Arc::new(Handlers::from_env().await?);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handlers = handlers.clone();
            async move {
                // The context's deadline is wall-clock milliseconds; the handlers count on Instant.
                let left = std::time::UNIX_EPOCH + std::time::Duration::from_millis(event.context.deadline);
                let left = left.duration_since(std::time::SystemTime::now()).unwrap_or_default();
                let deadline = std::time::Instant::now() + left;
                // On a runtime worker, beside the I/O driver: under `main`'s block_on every read's
                // wake-up crossed threads (about 10% of the transfer benchmark's rate).
                let handled =
                    tokio::spawn(async move { handlers.handle_until(step, event.payload, Some(deadline)).await });
                // A panic stays a panic, which the runtime reports as before (nothing aborts the task).
                handled
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
            }
        },
    ))
    .await
}
