//! Where the emulated AWS comes from: the embedded moto_server (one per process), any endpoint in
//! `AWS_ENDPOINT_URL`, LocalStack started through testcontainers, or DynamoDB Local (AWS's own
//! DynamoDB engine) for the table and its stream beside moto for S3 and Secrets Manager
//! (`FILECHECKS_BACKEND=dynamodb-local`).

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
    /// DynamoDB Local for DynamoDB and DynamoDB Streams — at `endpoint` (docker-compose.yml's),
    /// or in a container started through testcontainers — and the embedded moto_server for the
    /// rest. Needs the `dynamodb-local` feature.
    DynamoDbLocal { endpoint: Option<String> },
}

impl Backend {
    /// `FILECHECKS_BACKEND=dynamodb-local` (with `FILECHECKS_DYNAMODB_ENDPOINT` for one already
    /// running), else `AWS_ENDPOINT_URL` if set, else the embedded moto_server.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        if var("FILECHECKS_BACKEND").as_deref() == Some("dynamodb-local") {
            return Backend::DynamoDbLocal {
                endpoint: var("FILECHECKS_DYNAMODB_ENDPOINT"),
            };
        }
        match var("AWS_ENDPOINT_URL") {
            Some(url) => Backend::Endpoint(url),
            None => Backend::Embedded,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Moto(#[from] MotoError),
    #[error("{0} (testcontainers): {1}")]
    Container(&'static str, String),
    #[error("the {0} backend needs a harness built with `--features {0}`")]
    NotBuilt(&'static str),
}

/// A started backend: its endpoints, and whatever must live as long as the world.
pub struct Started {
    pub endpoint: String,
    /// Where DynamoDB and DynamoDB Streams go, when not to `endpoint`.
    pub dynamodb_endpoint: Option<String>,
    #[cfg(any(feature = "localstack", feature = "dynamodb-local"))]
    pub(crate) _container: Option<Box<dyn std::any::Any + Send + Sync>>,
}

static EMBEDDED: OnceLock<Result<Moto, MotoError>> = OnceLock::new();

/// The process's moto_server endpoint, started on first use.
pub fn embedded_endpoint() -> Result<String, MotoError> {
    match EMBEDDED.get_or_init(Moto::start) {
        Ok(moto) => Ok(moto.endpoint().to_string()),
        Err(e) => Err(e.clone()),
    }
}

impl Started {
    fn at(endpoint: String) -> Self {
        Started {
            endpoint,
            dynamodb_endpoint: None,
            #[cfg(any(feature = "localstack", feature = "dynamodb-local"))]
            _container: None,
        }
    }
}

impl Backend {
    pub async fn start(&self) -> Result<Started, BackendError> {
        match self {
            Backend::Embedded => Ok(Started::at(embedded_endpoint()?)),
            Backend::Endpoint(url) => Ok(Started::at(url.clone())),
            #[cfg(feature = "localstack")]
            Backend::LocalStack => {
                use testcontainers_modules::testcontainers::runners::AsyncRunner;
                let container = |e: testcontainers_modules::testcontainers::TestcontainersError| {
                    BackendError::Container("LocalStack", e.to_string())
                };
                let started = testcontainers_modules::localstack::LocalStack::default()
                    .start()
                    .await
                    .map_err(container)?;
                let host = started.get_host().await.map_err(container)?;
                let port = started.get_host_port_ipv4(4566).await.map_err(container)?;
                let mut backend = Started::at(format!("http://{host}:{port}"));
                backend._container = Some(Box::new(started));
                Ok(backend)
            }
            Backend::DynamoDbLocal { endpoint } => {
                let moto = embedded_endpoint()?;
                match endpoint {
                    Some(dynamodb) => {
                        let mut backend = Started::at(moto);
                        backend.dynamodb_endpoint = Some(dynamodb.clone());
                        Ok(backend)
                    }
                    None => start_dynamodb_local(moto).await,
                }
            }
        }
    }
}

#[cfg(feature = "dynamodb-local")]
async fn start_dynamodb_local(moto: String) -> Result<Started, BackendError> {
    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    let container = |e: testcontainers_modules::testcontainers::TestcontainersError| {
        BackendError::Container("DynamoDB Local", e.to_string())
    };
    let started = testcontainers_modules::dynamodb_local::DynamoDb::default()
        .start()
        .await
        .map_err(container)?;
    let host = started.get_host().await.map_err(container)?;
    let port = started.get_host_port_ipv4(8000).await.map_err(container)?;
    let mut backend = Started::at(moto);
    backend.dynamodb_endpoint = Some(format!("http://{host}:{port}"));
    backend._container = Some(Box::new(started));
    Ok(backend)
}

#[cfg(not(feature = "dynamodb-local"))]
async fn start_dynamodb_local(_moto: String) -> Result<Started, BackendError> {
    Err(BackendError::NotBuilt("dynamodb-local"))
}
