//! Where the emulated AWS comes from: the embedded moto_server (one per process), any endpoint in
//! `AWS_ENDPOINT_URL`, or LocalStack started through testcontainers.

use std::sync::OnceLock;

use super::moto::{Moto, MotoError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// moto_server, provisioned and started by the harness (one per process).
    Embedded,
    /// Any AWS-compatible endpoint (LocalStack from docker-compose.yml, a moto you run yourself).
    Endpoint(String),
    /// LocalStack in a container started through testcontainers (needs a Docker daemon).
    #[cfg(feature = "localstack")]
    LocalStack,
}

impl Backend {
    /// `AWS_ENDPOINT_URL` if set, else the embedded moto_server.
    pub fn from_env() -> Self {
        match std::env::var("AWS_ENDPOINT_URL") {
            Ok(url) if !url.is_empty() => Backend::Endpoint(url),
            _ => Backend::Embedded,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Moto(#[from] MotoError),
    #[error("LocalStack (testcontainers): {0}")]
    Container(String),
}

/// A started backend: its endpoint, and whatever must live as long as the world.
pub struct Started {
    pub endpoint: String,
    #[cfg(feature = "localstack")]
    pub(crate) _container:
        Option<testcontainers_modules::testcontainers::ContainerAsync<testcontainers_modules::localstack::LocalStack>>,
}

static EMBEDDED: OnceLock<Result<Moto, MotoError>> = OnceLock::new();

/// The process's moto_server endpoint, started on first use.
pub fn embedded_endpoint() -> Result<String, MotoError> {
    match EMBEDDED.get_or_init(Moto::start) {
        Ok(moto) => Ok(moto.endpoint().to_string()),
        Err(e) => Err(e.clone()),
    }
}

impl Backend {
    pub async fn start(&self) -> Result<Started, BackendError> {
        let endpoint = match self {
            Backend::Embedded => embedded_endpoint()?,
            Backend::Endpoint(url) => url.clone(),
            #[cfg(feature = "localstack")]
            Backend::LocalStack => {
                use testcontainers_modules::testcontainers::runners::AsyncRunner;
                let container = |e: testcontainers_modules::testcontainers::TestcontainersError| {
                    BackendError::Container(e.to_string())
                };
                let started = testcontainers_modules::localstack::LocalStack::default()
                    .start()
                    .await
                    .map_err(container)?;
                let host = started.get_host().await.map_err(container)?;
                let port = started.get_host_port_ipv4(4566).await.map_err(container)?;
                return Ok(Started {
                    endpoint: format!("http://{host}:{port}"),
                    _container: Some(started),
                });
            }
        };
        Ok(Started {
            endpoint,
            #[cfg(feature = "localstack")]
            _container: None,
        })
    }
}
