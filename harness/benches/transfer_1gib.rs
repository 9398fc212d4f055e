//! Streams a 1 GiB file from a local vsftpd (FTPS, TLS 1.3, session reuse) through the real
//! TransferFile into moto's S3, and prints the pipeline's throughput and peak RSS next to curl's
//! raw download rate from the same server in the same run. Fails if peak RSS reaches 100 MiB.
//!
//! `cargo bench -p harness --bench transfer_1gib` (needs root for vsftpd's system user).
//! SIZE_MIB overrides the size. moto keeps objects in RAM (~5x), so it is the slower side here.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use harness::emulate::pipe::insert_batch;
use harness::ftps::vsftpd::{TlsVersion, Vsftpd};
use harness::world::{PipeState, World, WorldOptions};
use pipeline::handlers::{SetRunningInput, TransferInput};
use pipeline::job::{FileRef, Job, JobKey};
use pipeline::secret::TlsMode;

const MIB: u64 = 1024 * 1024;
const PASSWORD: &str = "bench-pa55";

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let size_mib: u64 = std::env::var("SIZE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = size_mib * MIB;
    let server = Vsftpd::start(TlsVersion::Tls13, TlsMode::Explicit, "filechecks-bench", PASSWORD)?;
    let remote = "/bench/large.bin";
    let local = server.put_file(remote, b"")?;
    {
        // Varied content (not zeros) so nothing along the way can compress it away.
        let mut file = std::io::BufWriter::new(std::fs::OpenOptions::new().append(true).open(&local)?);
        let block: Vec<u8> = (0..MIB).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for i in 0..size_mib {
            let mut b = block.clone();
            b[..8].copy_from_slice(&i.to_le_bytes());
            file.write_all(&b)?;
        }
    }
    std::fs::write(server.root().join("ca.pem"), &server.pki().ca_pem)?;

    // curl's raw rate from the same server: the ceiling for this machine and server.
    let curl = Command::new("curl")
        .args(["-sS", "--ssl-reqd", "--cacert"])
        .arg(server.root().join("ca.pem"))
        .args([
            "--user",
            &format!("filechecks-bench:{PASSWORD}"),
            "-o",
            "/dev/null",
            "-w",
            "%{speed_download}",
        ])
        .arg(format!("ftp://localhost:{}{remote}", server.port()))
        .output()?;
    anyhow::ensure!(curl.status.success(), "curl: {}", String::from_utf8_lossy(&curl.stderr));
    let curl_mib_s: f64 = String::from_utf8_lossy(&curl.stdout).trim().parse::<f64>()? / MIB as f64;

    let world = World::boot(WorldOptions {
        pipe: PipeState::Stopped,
        ..Default::default()
    })
    .await?;
    let secret = server.secret();
    world.put_secret("BENCH", &secret).await?;
    let key = JobKey {
        job_id: "bench-1".into(),
        project: "BENCH".into(),
    };
    let file = FileRef {
        file_name: "large.bin".into(),
        remote_path: remote.into(),
    };
    world.put_job(&Job::triggered(key.clone(), "BENCH", file)).await?;
    let arn = sfn::arn::execution("bench", "1");
    let pipeline = &world.handlers;
    let taken = pipeline
        .set_running(SetRunningInput {
            record: insert_batch(&key)[0].clone(),
            execution_arn: arn.clone(),
        })
        .await?;
    let rss_before = peak_rss_mib();
    let started = Instant::now();
    let out = pipeline
        .transfer_file(
            TransferInput {
                job: taken.job,
                execution_arn: arn,
            },
            None,
        )
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    anyhow::ensure!(
        out.transfer.bytes == size,
        "transferred {} of {size} bytes",
        out.transfer.bytes
    );
    println!(
        "file:             {size_mib} MiB, {} parts, sha256 {}",
        out.transfer.parts, out.transfer.sha256
    );
    println!(
        "pipeline:         {:.1} MiB/s ({seconds:.1} s, FTPS -> verify -> S3 (moto) -> DELE)",
        size_mib as f64 / seconds
    );
    println!("curl raw FTPS:    {curl_mib_s:.1} MiB/s (same server, same run, to /dev/null)");
    println!("peak RSS:         {peak:.1} MiB (before the transfer: {rss_before:.1} MiB)");
    anyhow::ensure!(peak < 100.0, "peak RSS {peak:.1} MiB is not under 100 MiB");
    Ok(())
}
