//! One endpoint for every service, as LocalStack's edge port: requests whose `X-Amz-Target` is
//! `AWSStepFunctions.*` go to the Step Functions emulator (`sfn::Service`), everything else is
//! proxied, streaming, to the AWS backend (moto). With no backend (`harness sfn serve`) it serves
//! Step Functions alone. Armed AWS faults (`aws_fault`) answer here in a service's place.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use sfn::Service;

use super::aws_fault::{self, AwsFaults, Verdict};
use super::scheduler::Timers;
use tokio::net::TcpListener;

const TARGET_PREFIX: &str = "AWSStepFunctions.";
const JSON_1_0: &str = "application/x-amz-json-1.0";

type Body = BoxBody<Bytes, hyper::Error>;

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("the edge endpoint: {0}")]
    Bind(#[from] std::io::Error),
    #[error("the AWS backend endpoint {0:?} is not a URL")]
    Backend(String),
}

/// A running edge endpoint; stops when dropped.
pub struct Edge {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Routes {
    service: Arc<Service>,
    backend: Option<(Uri, Client<HttpConnector, Body>)>,
    /// DynamoDB and DynamoDB Streams, when another backend serves them (DynamoDB Local).
    dynamodb: Option<(Uri, Client<HttpConnector, Body>)>,
    faults: Arc<AwsFaults>,
    /// Schedules created and deleted here (moto keeps them; the world fires them).
    timers: Arc<Timers>,
}

/// A bound, not yet serving, edge: its address is known before the clients that call it (and the
/// service it routes to) are built.
pub struct BoundEdge {
    listener: TcpListener,
    addr: SocketAddr,
}

impl BoundEdge {
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves `service` and proxies the rest to `backend`, answering with `faults` where armed.
    pub fn serve(
        self,
        service: Arc<Service>,
        backend: Option<&str>,
        faults: Arc<AwsFaults>,
    ) -> Result<Edge, EdgeError> {
        self.serve_split(service, backend, None, faults, Arc::default())
    }

    /// `serve`, with DynamoDB and DynamoDB Streams proxied to `dynamodb` instead.
    pub fn serve_split(
        self,
        service: Arc<Service>,
        backend: Option<&str>,
        dynamodb: Option<&str>,
        faults: Arc<AwsFaults>,
        timers: Arc<Timers>,
    ) -> Result<Edge, EdgeError> {
        let upstream = |url: &str| -> Result<(Uri, Client<HttpConnector, Body>), EdgeError> {
            let uri: Uri = url.parse().map_err(|_| EdgeError::Backend(url.to_string()))?;
            if uri.authority().is_none() {
                return Err(EdgeError::Backend(url.to_string()));
            }
            Ok((uri, Client::builder(TokioExecutor::new()).build_http()))
        };
        let routes = Arc::new(Routes {
            service,
            backend: backend.map(upstream).transpose()?,
            dynamodb: dynamodb.map(upstream).transpose()?,
            faults,
            timers,
        });
        let BoundEdge { listener, addr } = self;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let routes = routes.clone();
                tokio::spawn(async move {
                    let serve = hyper::service::service_fn(move |request| {
                        let routes = routes.clone();
                        async move { Ok::<_, Infallible>(routes.handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), serve)
                        .await;
                });
            }
        });
        Ok(Edge { addr, task })
    }
}

impl Edge {
    /// Binds `127.0.0.1:port` (0: any free port).
    pub async fn bind(port: u16) -> Result<BoundEdge, EdgeError> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        Ok(BoundEdge { listener, addr })
    }

    /// Serves on `127.0.0.1:port` (0: any free port), without faults.
    pub async fn start(service: Arc<Service>, backend: Option<&str>, port: u16) -> Result<Edge, EdgeError> {
        Self::bind(port).await?.serve(service, backend, Arc::default())
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The service a request is signed for (SigV4's credential scope: `…/scheduler/aws4_request`).
fn signing_service(headers: &hyper::HeaderMap) -> Option<String> {
    let authorization = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_string)
}

fn full(status: StatusCode, body: Value, error_type: Option<&str>) -> Response<Body> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", JSON_1_0)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
    if let Some(kind) = error_type {
        response = response.header("x-amzn-errortype", kind);
    }
    response
        .body(
            Full::new(Bytes::from(body.to_string()))
                .map_err(|never| match never {})
                .boxed(),
        )
        .expect("a valid response")
}

fn error(kind: &str, message: &str) -> Response<Body> {
    full(
        StatusCode::BAD_REQUEST,
        json!({"__type": kind, "message": message}),
        Some(kind),
    )
}

/// moto (5.2) names the root element of some S3 answers after the operation
/// (`ListPartsResponse`, `GetBucketVersioningResponse`); S3 and the SDKs say `ListPartsResult`
/// and `VersioningConfiguration`, and the Rust SDK refuses the others (botocore does not look).
/// Renamed here, where every client passes: the action's (moto's name, S3's name).
fn renamed_root(action: &str) -> Option<(&'static str, &'static str)> {
    match action {
        "s3:ListParts" => Some(("ListPartsResponse", "ListPartsResult")),
        "s3:GetBucketVersioning" => Some(("GetBucketVersioningResponse", "VersioningConfiguration")),
        _ => None,
    }
}

async fn rename_root(response: Response<Incoming>, (from, to): (&str, &str)) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = body.collect().await else {
        return error("ServiceUnavailable", "the AWS backend: an answer cut short");
    };
    let text = String::from_utf8_lossy(&collected.to_bytes())
        .replacen(&format!("<{from}"), &format!("<{to}"), 1)
        .replacen(&format!("</{from}>"), &format!("</{to}>"), 1);
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    Response::from_parts(
        parts,
        Full::new(Bytes::from(text)).map_err(|never| match never {}).boxed(),
    )
}

impl Routes {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let request = request.map(|body| body.boxed());
        let target = request.headers().get("x-amz-target").and_then(|v| v.to_str().ok());
        let action = aws_fault::action(
            target,
            signing_service(request.headers()).as_deref(),
            request.method(),
            request.uri().path(),
            request.uri().query(),
        );
        self.faults.saw(&action);
        let (request, watched) = if self.faults.is_empty() {
            (request, None)
        } else {
            match self.inject(request, &action).await {
                Ok(passed) => passed,
                Err(answer) => return answer,
            }
        };
        // Past the faults: a schedule an AWS fault refused is neither armed nor disarmed.
        if action == "scheduler:CreateSchedule" || action == "scheduler:DeleteSchedule" {
            return self.schedule(request, &action).await;
        }
        let response = self.route(request, &action).await;
        if let Some(body) = watched
            && response.status() == StatusCode::OK
        {
            self.faults.committed(&body);
        }
        response
    }

    /// A schedule created or deleted: passed on to the backend, and on success told to the
    /// world's timers.
    async fn schedule(&self, request: Request<Body>, action: &str) -> Response<Body> {
        let name = request.uri().path().rsplit('/').next().unwrap_or_default().to_string();
        let group = request
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("groupName="))
            .unwrap_or("default")
            .to_string();
        let (parts, body) = request.into_parts();
        let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let request = Request::from_parts(parts, Full::new(bytes.clone()).map_err(|never| match never {}).boxed());
        let response = self.route(request, action).await;
        if response.status().is_success() {
            match action {
                "scheduler:CreateSchedule" => self.timers.created(&name, &bytes),
                _ => self.timers.deleted(&group, &name),
            }
        }
        response
    }

    async fn route(&self, request: Request<Body>, action: &str) -> Response<Body> {
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .map(str::to_string);
        let dynamodb = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("DynamoDB_20120810.") || t.starts_with("DynamoDBStreams_20120810."));
        match target {
            Some(operation) => self.step_functions(&operation, request).await,
            None => {
                let upstream = if dynamodb && self.dynamodb.is_some() {
                    &self.dynamodb
                } else {
                    &self.backend
                };
                self.proxy(upstream, request, renamed_root(action)).await
            }
        }
    }

    /// The armed AWS faults' say on a request: pass it on (after a delay, for `slow`), or answer
    /// in the service's place. The body is read only when a fault looks into it.
    /// The request passed on, and its body when it is a stage write someone watches for.
    async fn inject(
        &self,
        request: Request<Body>,
        action: &str,
    ) -> Result<(Request<Body>, Option<Bytes>), Response<Body>> {
        let json_protocol = request.headers().contains_key("x-amz-target");
        let watched = action == "dynamodb:UpdateItem" && self.faults.watching_stages();
        let (request, body) = if json_protocol && (watched || self.faults.needs_body(action)) {
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            let request = Request::from_parts(parts, Full::new(bytes.clone()).map_err(|never| match never {}).boxed());
            (request, Some(bytes))
        } else {
            (request, None)
        };
        let watched = if watched { body.clone() } else { None };
        // A REST request (S3) is told apart by its query (`partNumber=2`), not its body.
        let query = (!json_protocol).then(|| request.uri().query().unwrap_or_default().as_bytes().to_vec());
        match self.faults.verdict(action, body.as_deref().or(query.as_deref())) {
            Verdict::Pass => Ok((request, watched)),
            Verdict::Delay(delay) => {
                tokio::time::sleep(delay).await;
                Ok((request, watched))
            }
            Verdict::Answer(status, body, kind) => {
                let content_type = if kind.is_some() { JSON_1_0 } else { "application/xml" };
                let mut response = Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string());
                if let Some(kind) = kind {
                    response = response.header("x-amzn-errortype", kind);
                }
                let body = if request.method() == hyper::Method::HEAD {
                    Bytes::new()
                } else {
                    body
                };
                Err(response
                    .body(Full::new(body).map_err(|never| match never {}).boxed())
                    .expect("a valid response"))
            }
        }
    }

    async fn step_functions(&self, operation: &str, request: Request<Body>) -> Response<Body> {
        let bytes = match request.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => return error("SerializationException", &format!("reading the request: {e}")),
        };
        let body: Value = if bytes.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(body) => body,
                Err(e) => return error("SerializationException", &format!("the request is not JSON: {e}")),
            }
        };
        match self.service.call(operation, &body).await {
            Ok(answer) => full(StatusCode::OK, answer, None),
            Err(e) => error(e.kind, &e.message),
        }
    }

    /// `root`: the answer's root element is renamed (see `renamed_root`).
    async fn proxy(
        &self,
        upstream: &Option<(Uri, Client<HttpConnector, Body>)>,
        request: Request<Body>,
        root: Option<(&'static str, &'static str)>,
    ) -> Response<Body> {
        let Some((backend, client)) = upstream else {
            return error(
                "UnknownOperationException",
                "this endpoint serves the Step Functions API only (X-Amz-Target: AWSStepFunctions.*)",
            );
        };
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let mut uri = Uri::builder().path_and_query(path);
        if let Some(scheme) = backend.scheme() {
            uri = uri.scheme(scheme.clone());
        }
        if let Some(authority) = backend.authority() {
            uri = uri.authority(authority.clone());
        }
        parts.uri = match uri.build() {
            Ok(uri) => uri,
            Err(e) => return error("InternalFailure", &format!("proxying: {e}")),
        };
        match client.request(Request::from_parts(parts, body)).await {
            Ok(response) => match root {
                Some(root) => rename_root(response, root).await,
                None => response.map(|body| body.boxed()),
            },
            Err(e) => {
                let mut response = error("ServiceUnavailable", &format!("the AWS backend: {e}"));
                *response.status_mut() = StatusCode::BAD_GATEWAY;
                response
            }
        }
    }
}
