//! The transfer benchmark: a file from a local vsftpd (FTPS, TLS 1.2) through the real
//! TransferFile into the disk-backed S3 (`emulate::disk_s3`), next to the two ceilings and a
//! peer, all in one run against the same server and sink:
//!
//! - curl's raw FTPS download to /dev/null, best of three runs: the server's ceiling;
//! - the same bytes uploaded from memory into the sink with the pipeline's part size, parts in
//!   flight and CRC32C: the sink's ceiling;
//! - rclone's FTPS→S3 copy (Debian's `rclone`, where installed);
//! - the pipeline end to end (FTPS → SHA-256 + CRC32C → multipart → verify → DELE), its peak RSS,
//!   and where the CPU went during it, thread by thread (this process by thread name: the
//!   runtime's workers carry the reader, the part uploads and the sink; `sha256` the hash), vsftpd
//!   and moto by process, with the rate all that work allows on this machine's cores.
//!
//! `cargo bench -p harness --bench transfer` (root, for vsftpd's system user). `SIZES_MIB`
//! (default `1024,4096`) picks the sizes. The server speaks TLS 1.2 and does not require TLS
//! session reuse on data connections here (our hardened configuration requires both reuse and
//! allows TLS 1.3): rclone 1.60 cannot reuse sessions, and against vsftpd's TLS 1.3 its data
//! connections fail with "tls: illegal parameter" even without the reuse requirement.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use base64::Engine;
use futures::StreamExt;
use harness::emulate::pipe::insert_batch;
use harness::ftps::vsftpd::{TlsVersion, Vsftpd};
use harness::world::{PipeState, S3Store, World, WorldOptions};
use pipeline::handlers::{SetRunningInput, TransferInput};
use pipeline::job::{FileRef, Job, JobKey};
use pipeline::secret::TlsMode;
use pipeline::upload::UploadSettings;

const MIB: u64 = 1024 * 1024;
const USER: &str = "filechecks-bench";
const PASSWORD: &str = "bench-pa55";

/// VmHWM (`peak`) or VmRSS (`now`) of this process, in MiB.
fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

fn peak_rss_mib() -> f64 {
    rss_mib("VmHWM:")
}

/// Starts a new high-water mark (Linux: `5` to clear_refs) from what is live now: the earlier
/// measurements' freed buffers stay in glibc's per-thread arenas (counted in RSS, reused by
/// nobody else) until trimmed, and would otherwise count as the pipeline's.
fn reset_peak_rss() -> f64 {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0)
    };
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    rss_mib("VmRSS:")
}

/// A `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat` line: (name, parent pid, CPU ticks).
fn stat(path: &std::path::Path) -> Option<(String, u32, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    // `rest` starts at field 3 (state): ppid is field 4, utime and stime fields 14 and 15.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let at = |field: usize| fields.get(field - 3).and_then(|f| f.parse::<u64>().ok());
    Some((name, at(4)? as u32, at(14)? + at(15)?))
}

/// Where the CPU goes while the pipeline runs, thread by thread (`top -H`): every thread of this
/// process and of its descendants (vsftpd's sessions, moto), sampled every 50 ms so a thread that
/// ends during the run (the SHA-256 thread) still counts up to its last sample.
struct CpuSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<std::collections::BTreeMap<String, f64>>,
}

impl CpuSampler {
    fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            // tid -> (group, ticks at the first sample, ticks at the last)
            let mut seen: std::collections::HashMap<u32, (String, u64, u64)> = Default::default();
            let mut first = true;
            loop {
                let done = stopping.load(std::sync::atomic::Ordering::Relaxed);
                for (tid, group, ticks) in Self::threads() {
                    let entry = seen.entry(tid).or_insert((group, if first { ticks } else { 0 }, ticks));
                    entry.2 = ticks;
                }
                first = false;
                if done {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let mut groups = std::collections::BTreeMap::new();
            for (group, start, last) in seen.into_values() {
                *groups.entry(group).or_insert(0.0) += last.saturating_sub(start) as f64 / 100.0;
            }
            groups
        });
        Self { stop, thread }
    }

    /// (tid, group, CPU ticks) of every thread of this process and its descendants. This
    /// process's threads are grouped by thread name, other processes by command.
    fn threads() -> Vec<(u32, String, u64)> {
        let me = std::process::id();
        let mut parents = std::collections::HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>()
                && let Some((name, ppid, _)) = stat(&entry.path().join("stat"))
            {
                parents.insert(pid, (ppid, name));
            }
        }
        let descends = |mut pid: u32| {
            while let Some((ppid, _)) = parents.get(&pid) {
                if pid == me {
                    return true;
                }
                pid = *ppid;
            }
            false
        };
        let mut threads = Vec::new();
        for (&pid, (_, command)) in parents.iter().filter(|(pid, _)| descends(**pid)) {
            let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
                .into_iter()
                .flatten()
                .flatten();
            for task in tasks {
                let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                if let Some((name, _, ticks)) = stat(&task.path().join("stat")) {
                    let group = if pid == me { name } else { command.clone() };
                    threads.push((tid, group, ticks));
                }
            }
        }
        threads
    }

    /// CPU seconds per group since `start`.
    fn stop(self) -> std::collections::BTreeMap<String, f64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The bench file's bytes: 1 MiB blocks of varied content (nothing can compress it away), each
/// stamped with its index.
fn block(index: u64) -> Vec<u8> {
    let mut b: Vec<u8> = (0..MIB).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    b[..8].copy_from_slice(&index.to_le_bytes());
    b
}

fn write_file(path: &std::path::Path, size_mib: u64) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..size_mib {
        file.write_all(&block(i))?;
    }
    file.flush()?;
    Ok(())
}

fn curl_rate(server: &Vsftpd, remote: &str) -> anyhow::Result<f64> {
    let out = Command::new("curl")
        .args(["-sS", "--ssl-reqd", "--cacert"])
        .arg(server.root().join("ca.pem"))
        .args([
            "--user",
            &format!("{USER}:{PASSWORD}"),
            "-o",
            "/dev/null",
            "-w",
            "%{speed_download}",
        ])
        .arg(format!("ftp://localhost:{}{remote}", server.port()))
        .output()?;
    anyhow::ensure!(out.status.success(), "curl: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8_lossy(&out.stdout).trim().parse::<f64>()? / MIB as f64)
}

/// The same bytes from memory into the sink: the pipeline's part size, parts in flight, CRC32C.
/// `signed`: with SigV4 payload signing (a SHA-256 of every part on both sides), as the SDK does by
/// default; the pipeline sends unsigned payloads with a CRC32C.
async fn sink_rate(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    size_mib: u64,
    upload: UploadSettings,
    signed: bool,
) -> anyhow::Result<f64> {
    let key = "ceiling/large.bin";
    let part_mib = upload.part_size as u64 / MIB;
    let started = Instant::now();
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32C)
        .send()
        .await?;
    let id = created.upload_id().unwrap_or_default().to_string();
    let parts = size_mib.div_ceil(part_mib);
    let uploads = futures::stream::iter(1..=parts).map(|n| {
        let (s3, id) = (s3.clone(), id.clone());
        async move {
            let first = (n - 1) * part_mib;
            let mut body = Vec::with_capacity(upload.part_size);
            for i in first..(first + part_mib).min(size_mib) {
                body.extend_from_slice(&block(i));
            }
            let crc = base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(&body).to_be_bytes());
            let request = s3
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(&id)
                .part_number(n as i32)
                .checksum_crc32_c(&crc)
                .body(ByteStream::from(body));
            let out = if signed {
                request.send().await?
            } else {
                request.customize().disable_payload_signing().send().await?
            };
            anyhow::Ok(
                CompletedPart::builder()
                    .part_number(n as i32)
                    .set_e_tag(out.e_tag)
                    .checksum_crc32_c(crc)
                    .build(),
            )
        }
    });
    let mut done: Vec<CompletedPart> = uploads
        .buffer_unordered(upload.parts_in_flight)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    done.sort_by_key(|p| p.part_number());
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
        .send()
        .await?;
    let rate = size_mib as f64 / started.elapsed().as_secs_f64();
    s3.delete_object().bucket(bucket).key(key).send().await?;
    Ok(rate)
}

/// rclone's FTPS → S3 copy of the same file into the same sink: (MiB/s, peak RSS MiB), or why not.
fn rclone_rate(
    server: &Vsftpd,
    remote: &str,
    endpoint: &str,
    bucket: &str,
    size_mib: u64,
    upload: UploadSettings,
) -> Result<(f64, f64), String> {
    let obscured = Command::new("rclone")
        .args(["obscure", PASSWORD])
        .output()
        .map_err(|e| format!("rclone not runnable ({e}); apt-get install rclone"))?;
    let obscured = String::from_utf8_lossy(&obscured.stdout).trim().to_string();
    // The bench's CA is not one rclone's FTP backend can be given; it is localhost.
    let source = format!(
        ":ftp,host=127.0.0.1,port={},user={USER},pass={obscured},explicit_tls=true,no_check_certificate=true:{remote}",
        server.port()
    );
    let target = format!(
        ":s3,provider=Other,endpoint='{endpoint}',access_key_id=testing,secret_access_key=testing,region=us-east-1,force_path_style=true:{bucket}/rclone/large.bin"
    );
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg("rclone")
        .args(["copyto", &source, &target])
        .args([
            "--s3-chunk-size",
            &format!("{}M", upload.part_size as u64 / MIB),
            "--s3-upload-concurrency",
            &upload.parts_in_flight.to_string(),
            "--s3-upload-cutoff",
            "8M",
        ])
        // rclone's S3 client fails with a CA bundle it cannot use ("unsupported transport").
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .map_err(|e| format!("rclone not runnable ({e}); apt-get install rclone"))?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("rclone failed: {}", stderr.trim()));
    }
    let rss_mib = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0);
    Ok((size_mib as f64 / seconds, rss_mib))
}

/// `total core-s: group s, group s, …` from a `CpuSampler`.
fn cpu_split(cpu: &std::collections::BTreeMap<String, f64>) -> String {
    let groups: Vec<String> = cpu
        .iter()
        .filter(|(_, s)| **s >= 0.05)
        .map(|(group, s)| format!("{group} {s:.1} s"))
        .collect();
    format!("{:.1} core-s: {}", cpu.values().sum::<f64>(), groups.join(", "))
}

async fn one_size(world: &World, server: &Vsftpd, size_mib: u64, run: usize) -> anyhow::Result<()> {
    let remote = format!("/bench/large-{size_mib}.bin");
    let local = server.put_file(&remote, b"")?;
    write_file(&local, size_mib)?;
    let upload = UploadSettings::default();
    let bucket = &world.names.bucket;
    let s3 = world.s3();
    let endpoint = world
        .environment()
        .into_iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL_S3")
        .map(|(_, v)| v)
        .expect("the world's S3 is the disk store");

    let key = JobKey {
        job_id: format!("bench-{size_mib}-{run}"),
        project: "BENCH".into(),
    };
    let file = FileRef {
        file_name: format!("large-{size_mib}.bin"),
        remote_path: remote.clone(),
    };
    world.put_job(&Job::triggered(key.clone(), "BENCH", file)).await?;
    let arn = sfn::arn::execution("bench", &format!("{size_mib}-{run}"));
    let taken = world
        .handlers
        .set_running(SetRunningInput {
            record: insert_batch(&key, world.updated_at(&key).await?.as_deref())[0].clone(),
            execution_arn: arn.clone(),
        })
        .await?;
    let sampler = CpuSampler::start();
    let rss_before = reset_peak_rss();
    let started = Instant::now();
    let out = world
        .handlers
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
    let cpu = sampler.stop();
    anyhow::ensure!(
        out.transfer.bytes == size_mib * MIB,
        "transferred {} bytes",
        out.transfer.bytes
    );
    // The ceilings and the peer after the pipeline, whose memory is measured on a process
    // the other runs have not touched yet. BENCH_PIPELINE_ONLY=1: only the pipeline's run (for a
    // profiler).
    let (curls, (sink, sink_cpu), sink_signed, rclone) = if std::env::var_os("BENCH_PIPELINE_ONLY").is_some() {
        (
            vec![f64::NAN],
            (f64::NAN, Default::default()),
            f64::NAN,
            Err("skipped (BENCH_PIPELINE_ONLY)".to_string()),
        )
    } else {
        // The pipeline's DELE took the file: the others read it written again.
        write_file(&server.put_file(&remote, b"")?, size_mib)?;
        (
            // curl's rate from the same server varies between runs: the ceiling is the best of three.
            // curl and rclone block this runtime worker: block_in_place moves the sink's tasks off it.
            tokio::task::block_in_place(|| {
                (0..3)
                    .map(|_| curl_rate(server, &remote))
                    .collect::<anyhow::Result<Vec<_>>>()
            })?,
            {
                let sampler = CpuSampler::start();
                let rate = sink_rate(s3, bucket, size_mib, upload, false).await?;
                (rate, sampler.stop())
            },
            sink_rate(s3, bucket, size_mib, upload, true).await?,
            tokio::task::block_in_place(|| rclone_rate(server, &remote, &endpoint, bucket, size_mib, upload)),
        )
    };
    let _ = s3.delete_object().bucket(bucket).key("rclone/large.bin").send().await;

    let pipeline = size_mib as f64 / seconds;
    let curl = curls.iter().copied().fold(f64::NAN, f64::max);
    let ceiling = curl.min(sink);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "--- {size_mib} MiB ({} parts of {} MiB, {} in flight; {cores} cores) ---",
        out.transfer.parts,
        upload.part_size as u64 / MIB,
        upload.parts_in_flight,
    );
    let runs: Vec<String> = curls.iter().map(|r| format!("{r:.1}")).collect();
    println!(
        "curl raw FTPS:    {curl:.1} MiB/s (same server, to /dev/null; best of {} MiB/s)",
        runs.join(", ")
    );
    println!(
        "sink ceiling:     {sink:.1} MiB/s (same bytes from memory, same parts and concurrency, CRC32C, unsigned payload as the pipeline sends)"
    );
    println!("  CPU during it:  {}", cpu_split(&sink_cpu));
    println!(
        "  signed payload: {sink_signed:.1} MiB/s (the SDK's default SigV4 payload SHA-256, checked by the sink too)"
    );
    let rclone_text = match &rclone {
        Ok((rate, rss)) => {
            println!("rclone FTPS->S3:  {rate:.1} MiB/s (peak RSS {rss:.1} MiB)");
            format!("{rate:.1}")
        }
        Err(why) => {
            println!("rclone FTPS->S3:  not measured: {why}");
            "n/a".to_string()
        }
    };
    println!(
        "pipeline:         {pipeline:.1} MiB/s ({seconds:.1} s: FTPS -> SHA-256 + CRC32C -> multipart -> verify -> DELE), sha256 {}",
        out.transfer.sha256
    );
    let cores = cores as f64;
    let busy: f64 = cpu.values().sum();
    println!("memory:           peak RSS {peak:.1} MiB ({rss_before:.1} MiB before it started)");
    println!(
        "CPU during it:    {:.0}% of {cores} cores for {seconds:.1} s, {}",
        100.0 * busy / (seconds * cores),
        cpu_split(&cpu)
    );
    println!(
        "  CPU-bound rate: {:.1} MiB/s (the bytes over the core-seconds all of it took, at 100% of {cores} cores)",
        size_mib as f64 * cores / busy
    );
    println!(
        "transfer bench: pipeline {pipeline:.1} MiB/s, ceiling {ceiling:.1} MiB/s, ratio {:.2}, rclone {rclone_text} MiB/s, peak RSS {peak:.1} MiB",
        pipeline / ceiling
    );
    anyhow::ensure!(peak < 100.0, "peak RSS {peak:.1} MiB is not under 100 MiB");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<u64> = std::env::var("SIZES_MIB")
        .unwrap_or_else(|_| "1024,4096".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let server = Vsftpd::start_with_reuse(TlsVersion::Tls12, TlsMode::Explicit, USER, PASSWORD, false)?;
    std::fs::write(server.root().join("ca.pem"), &server.pki().ca_pem)?;
    let world = World::boot(WorldOptions {
        pipe: PipeState::Stopped,
        s3: S3Store::Disk,
        ..Default::default()
    })
    .await?;
    world.put_secret("BENCH", &server.secret()).await?;
    let world = std::sync::Arc::new(world);
    let server = std::sync::Arc::new(server);
    for (run, size) in sizes.into_iter().enumerate() {
        let (w, s) = (world.clone(), server.clone());
        tokio::spawn(async move { one_size(&w, &s, size, run).await }).await??;
    }
    Ok(())
}
