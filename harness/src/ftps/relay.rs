//! The control-connection relay in front of libunftp.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Relays a control connection between the client and libunftp. libunftp 0.24 answers `AUTH TLS`
/// with 234 and switches its codec to TLS from a task it spawns; a ClientHello that arrives before
/// that switch is read as a plaintext command and the handshake fails ("corrupt message"). Seen
/// once in a few hundred connections under load. Holding the client's first bytes after a 234 for
/// a moment lets the switch happen first; real servers (vsftpd) need no such help.
///
/// The session counts as ended as soon as either side closes (the client's QUIT or its
/// disconnect), as a server's session limit sees it: `session` is dropped then.
pub(crate) async fn relay_control(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    session: super::server::Session,
) {
    let session = std::sync::Mutex::new(Some(session));
    let end_session = || drop(session.lock().expect("session").take());
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let saw_234 = Arc::new(AtomicBool::new(false));
    let to_client = {
        let saw_234 = saw_234.clone();
        async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match server_read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if buf[..n].starts_with(b"234") {
                    saw_234.store(true, Ordering::SeqCst);
                }
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            end_session();
            let _ = client_write.shutdown().await;
        }
    };
    let to_server = async move {
        let mut buf = vec![0u8; 16 * 1024];
        let mut held = false;
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !held && saw_234.load(Ordering::SeqCst) {
                held = true;
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        end_session();
        let _ = server_write.shutdown().await;
    };
    tokio::join!(to_client, to_server);
}
