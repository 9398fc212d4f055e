//! `harness status`: a job's item from a running `up`'s table, by jobId whatever its project.

use std::process::ExitCode;

use anyhow::{Context, bail};
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::job::Job;

#[derive(clap::Args)]
pub struct Args {
    job_id: String,
    /// Print the item as plain JSON.
    #[arg(long)]
    json: bool,
    /// Print the path of the job's latest execution report (in FILECHECKS_REPORTS, which
    /// `harness up` exports) and open it in a browser where one can be opened.
    #[arg(long)]
    report: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.report {
        return open_report(&args.job_id);
    }
    let sdk = super::sdk_from_env().await?;
    let table = super::table_from_env()?;
    let out = aws_sdk_dynamodb::Client::new(&sdk)
        .query()
        .table_name(&table)
        .key_condition_expression("jobId = :id")
        .expression_attribute_values(":id", AttributeValue::S(args.job_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("Query: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
    let Some(item) = out.items.unwrap_or_default().into_iter().next() else {
        bail!("no job {} in {table}", args.job_id);
    };
    if args.json {
        // The item as stored, every attribute: what `aws dynamodb get-item` would show, in plain JSON.
        let stored: serde_json::Value = serde_dynamo::from_item(item)?;
        println!("{stored}");
    } else {
        let job: Job = serde_dynamo::from_item(item).with_context(|| format!("job {}", args.job_id))?;
        println!("{}", render(&job));
    }
    Ok(ExitCode::SUCCESS)
}

/// The job for a person: identity, state, file, times, landing, error.
fn render(job: &Job) -> String {
    let mut text = format!(
        "job {}  project {}  pipeline {}\nstatus {}  stage {}\nfile {}\n",
        job.job_id,
        job.project,
        job.pipeline,
        job.status.as_str(),
        job.transfer_stage.map_or("-", |s| s.as_str()),
        job.file.remote_path
    );
    for (field, at) in [
        ("createdAt", &job.created_at),
        ("startedAt", &job.started_at),
        ("completedAt", &job.completed_at),
        ("updatedAt", &job.updated_at),
    ] {
        if let Some(at) = at {
            text.push_str(&format!("{field} {at}\n"));
        }
    }
    if let Some(s3) = &job.s3 {
        text.push_str(&format!("s3://{}/{}\n", s3.bucket, s3.key));
    }
    if let Some(transfer) = &job.transfer {
        text.push_str(&format!("{} bytes  sha256 {}\n", transfer.bytes, transfer.sha256));
    }
    if let Some(upload) = &job.upload {
        let percent = upload.bytes * 100 / upload.source_size.max(1);
        text.push_str(&format!(
            "upload in progress: {} of {} bytes ({percent}%, {} parts confirmed)\n",
            upload.bytes, upload.source_size, upload.parts
        ));
    }
    if let Some(error) = &job.error {
        text.push_str(&format!("error {} in {}: {}\n", error.name, error.state, error.message));
    }
    text.trim_end().to_string()
}

/// The newest `<job>-<n>.html` in the reports directory: printed, and handed to `xdg-open` (or
/// `open`) when there is a display to open it on.
fn open_report(job: &str) -> anyhow::Result<ExitCode> {
    let dir = std::env::var_os("FILECHECKS_REPORTS")
        .map(std::path::PathBuf::from)
        .context("FILECHECKS_REPORTS is not set: export what `harness up` printed")?;
    let prefix = format!("{job}-");
    let latest = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".html"))
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
    let Some(latest) = latest else {
        bail!(
            "no report for job {job} in {} (none of its executions has finished yet)",
            dir.display()
        );
    };
    let path = latest.path();
    println!("{}", path.display());
    let display = std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some();
    if display || cfg!(target_os = "macos") {
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        // Opening is a convenience: the printed path is the answer.
        let _ = std::process::Command::new(opener).arg(&path).spawn();
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::job::{FileRef, JobKey, UploadCheckpoint};

    #[test]
    fn a_running_transfer_shows_how_far_its_upload_got() {
        let key = JobKey {
            job_id: "j".into(),
            project: "P".into(),
        };
        let file = FileRef {
            file_name: "big.data".into(),
            remote_path: "/in/big.data".into(),
        };
        let mut job = Job::triggered(key, "PIPE", file);
        job.upload = Some(UploadCheckpoint {
            upload_id: "u".into(),
            part_size: 8 << 20,
            parts: 2,
            bytes: 16 << 20,
            sha256_state: String::new(),
            part_crcs: String::new(),
            source_size: 40 << 20,
            source_modified_at: None,
            source_read_at: None,
        });
        assert!(
            render(&job).contains("upload in progress: 16777216 of 41943040 bytes (40%, 2 parts confirmed)"),
            "{}",
            render(&job)
        );
    }
}
