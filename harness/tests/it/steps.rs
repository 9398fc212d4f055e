//! Each Lambda step against moto_server and a real FTPS server (libunftp, TLS, generated CA).

use crate::common::*;
use aws_sdk_dynamodb::types::AttributeValue;
use harness::ftps::{FtpsFault, FtpsServer};
use harness::times::Times;
use pipeline::job::{JobStatus, TransferStage};
use pipeline::secret::{FtpsSettings, Password};

const PROJECT: &str = "FLPIDS-NATS";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_lands_verifies_deletes_and_completes() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    // 12 MiB + 1 byte: three 5 MiB-or-less parts, so the multipart path and its composite
    // checksum are exercised.
    let data = content(12 * 1024 * 1024 + 1, 7);
    let remote = "/s_dart_cert/plas/in/mo.moyr540.data";
    server.put_file(remote, &data).unwrap();
    let key = world.insert_job(PROJECT, "mo.moyr540.data", remote).await;
    let arn = execution_arn("happy");

    let taken = world.set_running(&key, &arn).await;
    assert!(taken.acquired);
    let job = world.job(&key).await;
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(job.execution_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(job.transfer_stage, Some(TransferStage::Pending));

    let out = world.transfer(&key, &arn).await.unwrap();
    assert_eq!(out.s3.key, "FLPIDS-NATS/mo.moyr540.data");
    assert_eq!(out.s3.bucket, world.names.bucket);
    assert_eq!(out.transfer.bytes, data.len() as u64);
    assert_eq!(out.transfer.sha256, sha256_hex(&data));
    assert_eq!(out.transfer.parts, 3);
    assert!(out.transfer.s3_version_id.is_some(), "the landing bucket is versioned");
    assert_eq!(
        world.object(&out.s3.key).await.as_deref(),
        Some(&data[..]),
        "S3 holds exactly the remote bytes"
    );
    assert!(
        !server.local_path(remote).exists(),
        "the source is deleted after verification"
    );
    assert_eq!(world.open_multipart_uploads().await, 0);

    let job = world.job(&key).await;
    assert_eq!(job.transfer_stage, Some(TransferStage::SourceDeleted));
    assert_eq!(job.transfer.as_ref(), Some(&out.transfer));

    let done = world.complete(&key, &arn).await;
    assert_eq!(done.status, "COMPLETED");
    let job = world.job(&key).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.transfer_stage, Some(TransferStage::Done));
    assert_eq!(
        job.s3.as_ref().map(|s| s.key.as_str()),
        Some("FLPIDS-NATS/mo.moyr540.data")
    );
    let (started, completed) = (job.started_at.unwrap(), job.completed_at.unwrap());
    assert!(pipeline::timestamp::parse(&started) <= pipeline::timestamp::parse(&completed));
    assert_eq!(job.updated_at.as_deref(), Some(completed.as_str()));
    assert!(completed.ends_with("+00:00") && completed.len() == 32, "{completed}");

    // FinalizeJob retried after its answer was lost: same outcome, no error.
    assert_eq!(world.complete(&key, &arn).await.status, "COMPLETED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_and_empty_files_use_a_single_put() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    for (name, data) in [
        ("empty.dat", Vec::new()),
        ("small file é.csv", b"id,value\n1,2\n".to_vec()),
    ] {
        let remote = format!("/in/{name}");
        server.put_file(&remote, &data).unwrap();
        let key = world.insert_job(PROJECT, name, &remote).await;
        let arn = execution_arn("small");
        assert!(world.set_running(&key, &arn).await.acquired);
        let out = world.transfer(&key, &arn).await.unwrap();
        assert_eq!(out.transfer.parts, 1);
        assert_eq!(out.transfer.sha256, sha256_hex(&data));
        assert_eq!(world.object(&format!("{PROJECT}/{name}")).await, Some(data));
        assert!(!server.local_path(&remote).exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_set_running_leaves_the_job_alone() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    server.put_file("/in/a.dat", b"abc").unwrap();
    let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
    let first = execution_arn("first");
    assert!(world.set_running(&key, &first).await.acquired);
    let before = world.raw_item(&key).await;

    let duplicate = world.set_running(&key, &execution_arn("duplicate")).await;
    assert!(!duplicate.acquired);
    assert_eq!(duplicate.found_status.as_deref(), Some("RUNNING"));
    assert_eq!(
        world.raw_item(&key).await,
        before,
        "a duplicate delivery must not write"
    );

    // The duplicate cannot transfer, and its catch handler cannot mark the job ERROR.
    let second = execution_arn("duplicate");
    let err = world.transfer(&key, &second).await.unwrap_err();
    assert_eq!(err.name(), "JobNotRunning");
    let caught = world.record_failure(&key, &second, &err).await;
    assert!(!caught.recorded);
    assert_eq!(world.raw_item(&key).await, before);
    assert!(
        server.local_path("/in/a.dat").exists(),
        "nothing was transferred by the duplicate"
    );

    // The owner finishes; a late duplicate after completion changes nothing either.
    world.transfer(&key, &first).await.unwrap();
    world.complete(&key, &first).await;
    let done = world.raw_item(&key).await;
    assert!(!world.set_running(&key, &execution_arn("late")).await.acquired);
    assert_eq!(world.raw_item(&key).await, done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_remote_file_fails_and_records_error() {
    let world = world_with_ftps().await;
    let key = world.insert_job(PROJECT, "nope.dat", "/in/nope.dat").await;
    let arn = execution_arn("missing");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "RemoteFileNotFound", "{err}");
    assert!(!err.is_transient());

    let caught = world.record_failure(&key, &arn, &err).await;
    assert!(caught.recorded);
    let job = world.job(&key).await;
    assert_eq!(job.status, JobStatus::Error);
    assert_eq!(job.transfer_stage, Some(TransferStage::Connecting));
    let error = job.error.unwrap();
    assert_eq!(error.name, "RemoteFileNotFound");
    assert_eq!(error.state, "TransferFile");
    assert!(error.message.contains("/in/nope.dat"), "{}", error.message);
    assert_eq!(world.object_versions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_ftps_auth_failed_and_never_logged() {
    let world = world_with_secret(|server| FtpsSettings {
        password: Password::new("not-the-password"),
        ..server.secret()
    })
    .await;
    let server = &world.ftps;
    server.put_file("/in/a.dat", b"abc").unwrap();
    let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
    let arn = execution_arn("auth");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "FtpsAuthFailed", "{err}");
    world.record_failure(&key, &arn, &err).await;
    let item = format!("{:?}", world.raw_item(&key).await);
    assert!(
        !item.contains("not-the-password") && !item.contains(world.ftps.secret().password.expose()),
        "no secret in the job item"
    );
    assert!(server.local_path("/in/a.dat").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_rejected() {
    let other_ca = tempfile::tempdir().unwrap();
    let other = harness::pki::Pki::generate("someone-else", other_ca.path()).unwrap();
    for ca_bundle in [Some(other.ca_pem.clone()), None] {
        let world = world_with_secret(|server| FtpsSettings {
            ca_bundle: ca_bundle.clone(),
            ..server.secret()
        })
        .await;
        let server = &world.ftps;
        server.put_file("/in/a.dat", b"abc").unwrap();
        let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
        let arn = execution_arn("tls");
        world.set_running(&key, &arn).await;
        let err = world.transfer(&key, &arn).await.unwrap_err();
        assert_eq!(err.name(), "TlsVerificationFailed", "{err}");
        assert!(server.local_path("/in/a.dat").exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_pin_is_enforced() {
    let world = world_with_secret(|server| FtpsSettings {
        cert_sha256: Some("00".repeat(32)),
        ..server.secret()
    })
    .await;
    let server = &world.ftps;
    server.put_file("/in/a.dat", b"pinned").unwrap();
    let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
    let arn = execution_arn("pin");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "CertificatePinMismatch", "{err}");
    assert!(
        err.to_string().contains(&server.pki().cert_sha256),
        "names the presented pin: {err}"
    );

    let world = world_with_secret(|server| FtpsSettings {
        cert_sha256: Some(server.pki().cert_sha256.clone()),
        ..server.secret()
    })
    .await;
    world.ftps.put_file("/in/a.dat", b"pinned").unwrap();
    let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
    let arn = execution_arn("pin");
    world.set_running(&key, &arn).await;
    world.transfer(&key, &arn).await.expect("the right pin transfers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connection_keeps_its_parts_for_the_retry_which_resumes_with_rest() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    let data = content(16 * 1024 * 1024, 3);
    server.put_file("/in/big.dat", &data).unwrap();
    // After 11 MiB: two parts are already uploaded when the connection drops.
    server.inject(&[
        FtpsFault::DropAfterBytes(11 * 1024 * 1024),
        FtpsFault::DropTimes(Times::Count(1)),
    ]);
    let key = world.insert_job(PROJECT, "big.dat", "/in/big.dat").await;
    let arn = execution_arn("drop");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert!(err.is_transient(), "a drop is retried: {err}");
    assert_eq!(err.name(), "PartialProgress", "two parts were recorded: {err}");
    assert_eq!(
        world.open_multipart_uploads().await,
        1,
        "the confirmed parts stay for the retry"
    );
    let checkpoint = world
        .job(&key)
        .await
        .upload
        .expect("the job records where the upload stands");
    assert_eq!(
        (checkpoint.parts, checkpoint.bytes),
        (2, 10 * 1024 * 1024),
        "{checkpoint:?}"
    );
    assert_eq!(world.object_versions().await, 0, "no object, not even a partial one");
    assert_eq!(
        std::fs::read(server.local_path("/in/big.dat")).unwrap(),
        data,
        "the remote is kept"
    );
    assert_eq!(world.job(&key).await.transfer_stage, Some(TransferStage::Streaming));

    // The state machine's retry: the fault is spent, the same execution resumes at the first
    // missing part and still records the whole file's SHA-256.
    let out = world.transfer(&key, &arn).await.unwrap();
    assert_eq!(out.transfer.sha256, sha256_hex(&data));
    assert_eq!(server.rest_offsets(), [10 * 1024 * 1024]);
    assert_eq!(world.open_multipart_uploads().await, 0);
    assert_eq!(world.job(&key).await.upload, None, "VERIFIED drops the record");
    assert_eq!(world.object_versions().await, 1);
}

/// A checkpoint whose SHA-256 state cannot be read (a hand edit, a truncated attribute) is not
/// a reason to end the job: the retry starts the upload over from byte 0, aborts the old one,
/// and lands the whole file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_checkpoint_starts_the_upload_over() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    let data = content(16 * 1024 * 1024, 4);
    server.put_file("/in/state.dat", &data).unwrap();
    server.inject(&[
        FtpsFault::DropAfterBytes(11 * 1024 * 1024),
        FtpsFault::DropTimes(Times::Count(1)),
    ]);
    let key = world.insert_job(PROJECT, "state.dat", "/in/state.dat").await;
    let arn = execution_arn("state");
    world.set_running(&key, &arn).await;
    world.transfer(&key, &arn).await.unwrap_err();
    assert!(world.job(&key).await.upload.is_some(), "a checkpoint to spoil");
    world
        .ddb()
        .update_item()
        .table_name(&world.names.table)
        .key("jobId", AttributeValue::S(key.job_id.clone()))
        .key("project", AttributeValue::S(key.project.clone()))
        .update_expression("SET #u.sha256State = :bad")
        .expression_attribute_names("#u", "upload")
        .expression_attribute_values(":bad", AttributeValue::S("bm90IGEgc3RhdGU=".into()))
        .send()
        .await
        .unwrap();

    let out = world
        .transfer(&key, &arn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", e.name()));
    assert_eq!(out.transfer.sha256, sha256_hex(&data));
    assert!(server.rest_offsets().is_empty(), "started over, not resumed");
    assert_eq!(world.open_multipart_uploads().await, 0, "the old upload is aborted");
    assert_eq!(world.object_versions().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_mismatch_is_integrity_mismatch_and_keeps_the_remote() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    let data = content(6 * 1024 * 1024, 5);
    server.put_file("/in/growing.dat", &data).unwrap();
    server.inject(&[FtpsFault::SizeDelta(1)]);
    let key = world.insert_job(PROJECT, "growing.dat", "/in/growing.dat").await;
    let arn = execution_arn("integrity");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "IntegrityMismatch", "{err}");
    assert_eq!(world.open_multipart_uploads().await, 0);
    assert_eq!(world.object_versions().await, 0);
    assert!(server.local_path("/in/growing.dat").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_names_are_rejected_before_any_io() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    server.put_file("/in/a.dat", b"abc").unwrap();
    for (file_name, remote) in [
        ("../../etc/passwd", "/in/a.dat"),
        ("a.dat", "/in/../../etc/passwd"),
        ("a.dat\r\nDELE /in/a.dat", "/in/a.dat"),
        ("a.dat", "in/a.dat"),
        ("nul\0.dat", "/in/a.dat"),
    ] {
        let key = world.insert_job(PROJECT, file_name, remote).await;
        let arn = execution_arn("unsafe");
        world.set_running(&key, &arn).await;
        let err = world.transfer(&key, &arn).await.unwrap_err();
        assert_eq!(err.name(), "UnsafeFileName", "{file_name:?} {remote:?}: {err}");
        world.record_failure(&key, &arn, &err).await;
        let job = world.job(&key).await;
        assert_eq!(job.status, JobStatus::Error);
        assert_eq!(
            job.transfer_stage,
            Some(TransferStage::Pending),
            "failed before connecting"
        );
    }
    assert!(server.local_path("/in/a.dat").exists());
    assert_eq!(world.object_versions().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_delete_fails_after_a_verified_landing() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    server.put_file("/in/keep.dat", b"keep me").unwrap();
    server.inject(&[FtpsFault::RefuseDelete(true)]);
    let key = world.insert_job(PROJECT, "keep.dat", "/in/keep.dat").await;
    let arn = execution_arn("dele");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "RemoteDeleteFailed", "{err}");
    let job = world.job(&key).await;
    assert_eq!(
        job.transfer_stage,
        Some(TransferStage::Verified),
        "landed and verified, source kept"
    );
    assert_eq!(job.transfer.unwrap().sha256, sha256_hex(b"keep me"));
    assert_eq!(
        world.object(&format!("{PROJECT}/keep.dat")).await.as_deref(),
        Some(&b"keep me"[..])
    );
    assert!(server.local_path("/in/keep.dat").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_items_and_inputs_are_invalid_job() {
    let world = world_with_ftps().await;
    // A stream record without keys: SetRunning refuses it by name.
    let err = world
        .handlers
        .handle(
            pipeline::Step::SetRunning,
            serde_json::json!({"record": {"dynamodb": {}}, "executionArn": "arn"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidJob");
    assert!(err.to_string().contains("dynamodb.Keys"), "{err}");
    let err = world
        .handlers
        .handle(pipeline::Step::TransferFile, serde_json::json!({"job": 5}))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "InvalidJob");
    assert!(err.to_string().contains("TransferFile input"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_server_hits_the_read_timeout_and_leaves_nothing() {
    let timeouts = pipeline::ftps::Timeouts {
        connect: std::time::Duration::from_secs(5),
        command: std::time::Duration::from_secs(5),
        read: std::time::Duration::from_secs(1),
    };
    let world = TestWorld::boot(timeouts, FtpsServer::secret).await;
    let server = &world.ftps;
    let data = content(7 * 1024 * 1024, 9);
    server.put_file("/in/hang.dat", &data).unwrap();
    server.inject(&[FtpsFault::StallAfterBytes(6 * 1024 * 1024)]);
    let key = world.insert_job(PROJECT, "hang.dat", "/in/hang.dat").await;
    let arn = execution_arn("hang");
    world.set_running(&key, &arn).await;
    let started = std::time::Instant::now();
    let err = world.transfer(&key, &arn).await.unwrap_err();
    // A part was recorded before the server hung: the attempt moved the upload on.
    assert_eq!(err.name(), "PartialProgress", "{err}");
    assert!(err.to_string().contains("TransientNetwork"), "{err}");
    assert!(err.to_string().contains("silent for 1 s"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "gave up in {:?}",
        started.elapsed()
    );
    assert_eq!(
        world.open_multipart_uploads().await,
        1,
        "the part already uploaded stays for a retry"
    );
    assert_eq!(world.object_versions().await, 0);
    assert!(server.local_path("/in/hang.dat").exists());
    // Out of retries: the job ends ERROR and keeps the upload it recorded, for a re-drive.
    world.record_failure(&key, &arn, &err).await;
    assert_eq!(world.open_multipart_uploads().await, 1, "an ERROR job keeps its upload");
    assert_eq!(world.job(&key).await.upload.map(|u| u.parts), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_transient() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let world = world_with_secret(|server| FtpsSettings {
        port: Some(port),
        ..server.secret()
    })
    .await;
    let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
    let arn = execution_arn("refused");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "TransientNetwork", "{err}");
    assert!(err.is_transient());
}

/// Issue 9, defect 2: SetRunning invoked again after its first attempt committed (a Lambda retry
/// after a lost response) must still answer that this execution holds the job; answering
/// "duplicate" ended the execution SUCCEEDED with the job RUNNING forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_running_retried_by_its_own_execution_still_holds_the_job() {
    let world = world_with_ftps().await;
    world.ftps.put_file("/in/a.dat", b"abc").unwrap();
    let key = world.insert_job(PROJECT, "a.dat", "/in/a.dat").await;
    let arn = execution_arn("retried");
    assert!(world.set_running(&key, &arn).await.acquired);
    let again = world.set_running(&key, &arn).await;
    assert!(again.acquired, "the same execution's retry holds the job: {again:?}");
    // Another execution still cannot.
    assert!(!world.set_running(&key, &execution_arn("other")).await.acquired);
    world.transfer(&key, &arn).await.unwrap();
    assert_eq!(world.complete(&key, &arn).await.status, "COMPLETED");
}

/// Issue 9, defect 7 (keys): a job's own `s3.key` must stay under its project's prefix; a key under
/// another project's is refused before any I/O, and nothing lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_under_another_projects_prefix_is_refused() {
    let world = world_with_ftps().await;
    world.ftps.put_file("/in/a.dat", b"abc").unwrap();
    let key = pipeline::job::JobKey {
        job_id: "job-foreign-key".into(),
        project: PROJECT.into(),
    };
    let file = pipeline::job::FileRef {
        file_name: "a.dat".into(),
        remote_path: "/in/a.dat".into(),
    };
    let mut job = pipeline::job::Job::triggered(key.clone(), PIPELINE, file);
    job.s3 = Some(pipeline::job::S3Location {
        bucket: world.names.bucket.clone(),
        key: "OTHER-PROJECT/a.dat".into(),
    });
    world.put_job(&job).await.unwrap();
    let arn = execution_arn("foreign");
    assert!(world.set_running(&key, &arn).await.acquired);
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "UnsafeFileName", "{err}");
    assert!(
        err.to_string().contains("FLPIDS-NATS/"),
        "says where keys may go: {err}"
    );
    assert_eq!(world.object_versions().await, 0);
    assert!(world.ftps.local_path("/in/a.dat").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_leases_cap_a_server_and_expire_with_their_holder() {
    use std::time::{Duration, SystemTime};

    use pipeline::lease::Leases;
    let world = world_with_ftps().await;
    let leases = Leases::new(world.ddb().clone(), world.names.leases.clone());
    let later = SystemTime::now() + Duration::from_secs(600);
    let server = "ftps.example:21";

    let first = leases.acquire(server, 2, "a", "arn:a", later).await.unwrap();
    let second = leases.acquire(server, 2, "b", "arn:b", later).await.unwrap();
    assert_ne!(first.slot, second.slot);
    let refused = leases.acquire(server, 2, "c", "arn:c", later).await.unwrap_err();
    assert_eq!(refused.name(), "ConnectionLimitReached", "{refused}");
    assert!(refused.to_string().contains("ftps.example:21"), "{refused}");
    assert!(
        leases.acquire("other.example:21", 2, "c", "arn:c", later).await.is_ok(),
        "the cap is per server"
    );

    leases.release(first).await;
    let third = leases.acquire(server, 2, "c", "arn:c", later).await.unwrap();

    // A holder whose deadline passed (its Lambda was killed) no longer counts: its slot is
    // taken over without anyone releasing it.
    let dead = leases
        .acquire(
            "dying.example:21",
            1,
            "d",
            "arn:d",
            SystemTime::now() - Duration::from_secs(10),
        )
        .await
        .unwrap();
    let successor = leases
        .acquire("dying.example:21", 1, "e", "arn:e", later)
        .await
        .unwrap();
    assert_eq!(dead.slot, successor.slot);
    // The dead holder's late release must not free its successor's slot.
    leases.release(dead).await;
    let err = leases
        .acquire("dying.example:21", 1, "f", "arn:f", later)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ConnectionLimitReached");
    leases.release(successor).await;
    leases.release(second).await;
    leases.release(third).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reports_each_download_for_the_progress_bars() {
    let world = world_with_ftps().await;
    let server = &world.ftps;
    let mut downloads = server.downloads();
    let data = content(3 * 1024 * 1024 + 5, 11);
    let remote = "/in/progress.bin";
    server.put_file(remote, &data).unwrap();
    let key = world.insert_job(PROJECT, "progress.bin", remote).await;
    let arn = execution_arn("progress");
    assert!(world.set_running(&key, &arn).await.acquired);
    world.transfer(&key, &arn).await.unwrap();
    let download = downloads.try_recv().expect("the download was announced");
    assert_eq!(download.path, remote);
    assert_eq!((download.offset, download.size), (0, data.len() as u64));
    assert_eq!(download.position(), data.len() as u64, "every byte counted");
    assert!(download.is_done(), "the download ended with the transfer");
    assert!(downloads.try_recv().is_err(), "one transfer, one download");
}

/// Every step after the stream starts only while the invocation has time left: when S3 holds
/// the landing's HeadObject past the stop point, the attempt ends DeadlineExceeded at VERIFIED
/// (retried) instead of running SIZE, MDTM and DELE on time Lambda is about to take away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_after_the_stream_start_only_before_the_deadline() {
    use harness::emulate::aws_fault::{AwsAnswer, AwsFault};
    let world = world_with_ftps().await;
    let data = content(4096, 5);
    world.ftps.put_file("/in/late.dat", &data).unwrap();
    let key = world.insert_job(PROJECT, "late.dat", "/in/late.dat").await;
    let arn = execution_arn("deadline-guard");
    world.set_running(&key, &arn).await;
    world.inject(&[harness::fault::Fault::Aws(vec![AwsFault {
        action: "s3:HeadObject".into(),
        body_contains: None,
        respond: AwsAnswer::Slow,
        delay_ms: 3000,
        times: Times::Count(1),
    }])]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let err = world.transfer_until(&key, &arn, deadline).await.unwrap_err();
    assert_eq!(err.name(), "DeadlineExceeded", "{err}");
    assert!(err.to_string().contains("DELE"), "{err}");
    assert!(world.ftps.local_path("/in/late.dat").exists(), "the source stays");
    assert_eq!(world.job(&key).await.transfer_stage, Some(TransferStage::Verified));
    // The retry goes on from VERIFIED: the landing stands, the source is unchanged.
    let out = world.transfer(&key, &arn).await.unwrap();
    assert_eq!(out.transfer.sha256, sha256_hex(&data));
    assert!(!world.ftps.local_path("/in/late.dat").exists());
    assert_eq!(world.object_versions().await, 1);
}

/// A landing bucket whose versioning is not Enabled could let one landing overwrite another
/// (two jobs at one key, a re-drive): TransferFile reads the versioning once per cold start
/// and refuses to land there, by name, before the server is contacted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unversioned_landing_bucket_is_refused() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let world = world_with_ftps().await;
    world
        .s3()
        .put_bucket_versioning()
        .bucket(&world.names.bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    world.ftps.put_file("/in/v.dat", b"versioned only").unwrap();
    let key = world.insert_job(PROJECT, "v.dat", "/in/v.dat").await;
    let arn = execution_arn("unversioned");
    world.set_running(&key, &arn).await;
    let err = world.transfer(&key, &arn).await.unwrap_err();
    assert_eq!(err.name(), "BucketNotVersioned", "{err}");
    assert!(err.to_string().contains(&world.names.bucket), "{err}");
    assert!(!err.is_transient());
    assert!(world.ftps.local_path("/in/v.dat").exists());
    assert_eq!(world.object_versions().await, 0);
}

/// Rewrites a file with other bytes of the same size and keeps its modification time, as an
/// uploader that preserves it does (`touch -r`, MFMT): SIZE and MDTM cannot tell.
fn rewrite_keeping_mtime(path: &std::path::Path, data: &[u8]) {
    let modified = std::fs::metadata(path).map(|m| m.modified().unwrap()).ok();
    std::fs::write(path, data).unwrap();
    if let Some(modified) = modified {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
    }
}

/// A COMPLETED job set TRIGGERED again names a new file at the same path: the landing its
/// record describes belongs to the run that deleted the old source. A new file of the same
/// size and modification time must be read and landed, never deleted unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_job_triggered_again_reads_its_new_file() {
    let world = world_with_ftps().await;
    let (first, second) = (content(3000, 1), content(3000, 2));
    let local = world.ftps.put_file("/in/daily.csv", &first).unwrap();
    let modified = std::fs::metadata(&local).unwrap().modified().unwrap();
    let key = world.insert_job(PROJECT, "daily.csv", "/in/daily.csv").await;
    let arn = execution_arn("first-run");
    world.set_running(&key, &arn).await;
    world.transfer(&key, &arn).await.unwrap();
    world.complete(&key, &arn).await;
    // The producer puts the next file, same size, same modification time, and re-triggers.
    world.ftps.put_file("/in/daily.csv", &second).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&local)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    world.retrigger(&key).await;
    let again = execution_arn("second-run");
    assert!(world.set_running_again(&key, &again).await.acquired);
    let out = world.transfer(&key, &again).await.unwrap();
    assert_eq!(
        out.transfer.sha256,
        sha256_hex(&second),
        "the new file was read and landed"
    );
    assert_eq!(world.object(&out.s3.key).await.as_deref(), Some(&second[..]));
    assert_eq!(world.object_versions().await, 2, "each landing keeps its version");
}

/// A producer's INSERT may carry what only the pipeline writes (`transfer`, `upload`,
/// `transferStage`), copied from another item, say. SetRunning drops them when it takes the
/// item as it was inserted, so nothing resumes from them: here, a copied landing record that
/// would have had the new file deleted unread. A late INSERT record of an item the pipeline
/// wrote since is a re-drive, and keeps them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_fields_written_on_insert_are_ignored() {
    let world = world_with_ftps().await;
    let (first, second) = (content(3000, 3), content(3000, 4));
    let local = world.ftps.put_file("/in/copied.csv", &first).unwrap();
    let key = world.insert_job(PROJECT, "copied.csv", "/in/copied.csv").await;
    let arn = execution_arn("original");
    world.set_running(&key, &arn).await;
    world.transfer(&key, &arn).await.unwrap();
    world.complete(&key, &arn).await;
    world.ftps.put_file("/in/copied.csv", &first).unwrap();
    rewrite_keeping_mtime(&local, &second);
    // A new item, inserted with the old one's pipeline fields.
    let mut item = world.raw_item(&key).await;
    let copy = uuid::Uuid::new_v4().to_string();
    item.insert("jobId".into(), AttributeValue::S(copy.clone()));
    item.insert("status".into(), AttributeValue::S("TRIGGERED".into()));
    item.insert("transferStage".into(), AttributeValue::S("VERIFIED".into()));
    item.remove("completedAt");
    world
        .ddb()
        .put_item()
        .table_name(&world.names.table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    let copied = pipeline::job::JobKey {
        job_id: copy,
        project: PROJECT.into(),
    };
    let arn = execution_arn("copied");
    assert!(world.set_running(&copied, &arn).await.acquired);
    let job = world.job(&copied).await;
    assert_eq!((job.transfer, job.upload), (None, None), "dropped when taken");
    let out = world.transfer(&copied, &arn).await.unwrap();
    assert_eq!(out.transfer.sha256, sha256_hex(&second));
}

/// A file already under a job's held name (one whose failed check could not put it back,
/// because a new file had taken its name) is never renamed over: the next source is checked
/// and deleted in place, and the held file stays for a person to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_held_name_is_never_renamed_over() {
    let world = world_with_ftps().await;
    let data = content(5000, 8);
    world.ftps.put_file("/in/h.dat", &data).unwrap();
    let key = world.insert_job(PROJECT, "h.dat", "/in/h.dat").await;
    let held = pipeline::transfer::held_name("/in/h.dat", &key.job_id);
    world.ftps.put_file(&held, b"an older version nobody landed").unwrap();
    let arn = execution_arn("held-taken");
    world.set_running(&key, &arn).await;
    let out = world.transfer(&key, &arn).await.unwrap();
    assert_eq!(out.transfer.sha256, sha256_hex(&data));
    assert!(
        !world.ftps.local_path("/in/h.dat").exists(),
        "the source is deleted in place"
    );
    assert_eq!(
        std::fs::read(world.ftps.local_path(&held)).unwrap(),
        b"an older version nobody landed",
        "the held file is untouched"
    );
}
