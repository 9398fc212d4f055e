//! The FinalizeJob Lambda: a thin binary over `pipeline::Handlers`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pipeline::run_lambda(pipeline::Step::FinalizeJob).await
}
