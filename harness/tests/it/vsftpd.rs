//! A hardened Debian vsftpd (`require_ssl_reuse=YES`, TLS required on both channels): the
//! download lands with the right SHA-256 and the source is deleted, under TLS 1.2 and 1.3.
//! Proof of data-channel session reuse: vsftpd refuses the data connection otherwise (522).

use crate::common::*;
use harness::ftps::FtpsServer;
use harness::ftps::vsftpd::{self, TlsVersion, Vsftpd};
use pipeline::secret::TlsMode;

const PASSWORD: &str = "s3cr3t-pa55";

async fn transfer_through(tls: TlsVersion, mode: TlsMode) {
    if vsftpd::skip_unless_available() {
        return;
    }
    let server = Vsftpd::start(tls, mode, "filechecks-ftp", PASSWORD).unwrap_or_else(|e| panic!("{e}"));
    let secret = server.secret();
    let world = world_with_secret(|_: &FtpsServer| secret).await;
    let data = content(7 * 1024 * 1024 + 123, 11);
    let remote = "/outbound/mo.moyr540.data";
    let local = server.put_file(remote, &data).unwrap();
    let key = world.insert_job("FLPIDS-NATS", "mo.moyr540.data", remote).await;
    let arn = execution_arn("vsftpd");
    assert!(world.set_running(&key, &arn).await.acquired);
    let out = world
        .transfer(&key, &arn)
        .await
        .unwrap_or_else(|e| panic!("{e}\nvsftpd log:\n{}", server.log()));
    assert_eq!(out.transfer.sha256, sha256_hex(&data));
    assert_eq!(out.transfer.bytes, data.len() as u64);
    let landed = world.object("FLPIDS-NATS/mo.moyr540.data").await.unwrap();
    assert_eq!(sha256_hex(&landed), sha256_hex(&data));
    assert!(!local.exists(), "vsftpd deleted the source");
    let log = server.log();
    let protocol = match tls {
        TlsVersion::Tls12 => "TLSv1.2",
        TlsVersion::Tls13 => "TLSv1.3",
    };
    let sessions: Vec<&str> = log.lines().filter(|l| l.contains("SSL version:")).collect();
    assert!(sessions.len() >= 2, "control and data channels were TLS:\n{log}");
    assert!(
        sessions
            .iter()
            .all(|l| l.contains(&format!("SSL version: {protocol},"))),
        "only {protocol}:\n{log}"
    );
    // The control channel is a fresh session; every data channel must resume it.
    assert!(sessions[0].contains("not reused"), "{log}");
    assert!(
        sessions[1..].iter().all(|l| l.contains(", reused,")),
        "data channels reused the session:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_with_session_reuse_over_tls_1_2() {
    transfer_through(TlsVersion::Tls12, TlsMode::Explicit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_with_session_reuse_over_tls_1_3() {
    transfer_through(TlsVersion::Tls13, TlsMode::Explicit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vsftpd_implicit_ftps_with_session_reuse() {
    transfer_through(TlsVersion::Tls13, TlsMode::Implicit).await;
}
