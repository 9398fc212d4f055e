//! `harness submit`: inserts a TRIGGERED job in the seed's shape into a running `up`'s table.

use std::process::ExitCode;

use pipeline::job::{FileRef, Job, JobKey};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    project: String,
    /// Absolute path of the file on the FTPS server.
    #[arg(long)]
    remote_path: String,
    #[arg(long, default_value = harness::scenario::schema::DEFAULT_PIPELINE)]
    pipeline: String,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    pipeline::names::remote_path(&args.remote_path)?;
    let file_name = args.remote_path.rsplit('/').next().unwrap_or_default().to_string();
    pipeline::names::file_name(&file_name)?;
    let sdk = super::sdk_from_env().await?;
    let table = super::table_from_env()?;
    let key = JobKey {
        job_id: uuid::Uuid::new_v4().to_string(),
        project: args.project,
    };
    let job = Job::triggered(
        key.clone(),
        args.pipeline,
        FileRef {
            file_name,
            remote_path: args.remote_path,
        },
    );
    harness::world::aws::put_job(&aws_sdk_dynamodb::Client::new(&sdk), &table, &job).await?;
    println!("{}", key.job_id);
    Ok(ExitCode::SUCCESS)
}
