//! The HealJob Lambda (target of the rule on the state machine's status-change events): a thin
//! binary over `pipeline::Handlers`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pipeline::run_lambda(pipeline::Step::HealJob).await
}
