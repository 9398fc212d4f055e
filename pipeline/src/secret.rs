//! FTPS connection settings from Secrets Manager, cached per Lambda container.
//!
//! A job finds its secret through `FTPS_SECRET_ID`, a secret name or ARN in which `{pipeline}` is
//! replaced by the job's `pipeline` (e.g. `filechecks/ftps/{pipeline}`): one secret per source
//! system, and a fixed id works too. The secret's JSON fields are documented in the README.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::PipelineError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// `AUTH TLS` on the plain control port (usually 21).
    Explicit,
    /// TLS from the first byte (usually port 990).
    Implicit,
}

/// A password that never prints (`Debug` redacts it); it serializes only to write the secret.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// The secret's JSON document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FtpsSettings {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub username: String,
    pub password: Password,
    #[serde(default = "default_tls_mode")]
    pub tls_mode: TlsMode,
    /// PEM certificates to trust instead of the public web PKI roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Hex SHA-256 of the server's leaf certificate (colons allowed); checked after verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    /// The name to verify the certificate against, when it differs from `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// The remote directories a job may name (`["/outbox"]`): its `remotePath` must lie inside
    /// one, or the job ends `UnsafeFileName` before the server is contacted. Absent or empty:
    /// every job ends `SecretInvalid` (serving every path the account reaches, and deleting
    /// there, is a choice the secret states: `["/"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_paths: Option<Vec<String>>,
    /// The projects whose jobs may use this secret: a job of another project naming this
    /// pipeline ends `InvalidJob`. Absent: any project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_projects: Option<Vec<String>>,
    /// How many sessions every Lambda together may hold open to this server (default 2): one
    /// connection lease each, shared through DynamoDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
}

/// Sessions per server when the secret does not say: what most hosting FTP servers allow a
/// single account without complaint.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 2;

fn default_tls_mode() -> TlsMode {
    TlsMode::Explicit
}

impl FtpsSettings {
    /// Whether a job of `project` may fetch (and delete) `remote_path` with this secret.
    pub fn permits(&self, project: &str, remote_path: &str) -> Result<(), PipelineError> {
        if let Some(projects) = &self.allowed_projects
            && !projects.iter().any(|p| p == project)
        {
            return Err(PipelineError::InvalidJob(format!(
                "project {project:?} may not use this pipeline's FTPS secret (its allowedProjects are {projects:?})"
            )));
        }
        let dirs = match &self.allowed_paths {
            Some(dirs) if !dirs.is_empty() => dirs,
            _ => {
                return Err(PipelineError::SecretInvalid(
                    "the secret states no allowedPaths: with none, a job could fetch and delete any file the account \
                     reaches; list the directories jobs may use, or [\"/\"] for all of them"
                        .into(),
                ));
            }
        };
        let inside = |dir: &String| {
            let dir = dir.trim_end_matches('/');
            remote_path
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
        };
        if !dirs.iter().any(inside) {
            return Err(PipelineError::UnsafeFileName(format!(
                "remote path {remote_path:?} is outside the secret's allowedPaths {dirs:?}"
            )));
        }
        Ok(())
    }

    pub fn from_json(text: &str) -> Result<Self, PipelineError> {
        // serde's messages echo the offending value ("invalid type: integer `…`"), which may be the
        // password: only the field's path and the kind of problem are kept.
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let settings: Self = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let problem = match inner.classify() {
                serde_json::error::Category::Data if inner.to_string().starts_with("missing field") => inner
                    .to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                serde_json::error::Category::Data => format!("field {path} has the wrong type or value"),
                _ => format!("not JSON (line {}, column {})", inner.line(), inner.column()),
            };
            PipelineError::SecretInvalid(format!("the secret is not the expected JSON: {problem}"))
        })?;
        if settings.host.trim().is_empty() {
            return Err(PipelineError::SecretInvalid("field host is empty".into()));
        }
        if settings.max_connections == Some(0) {
            return Err(PipelineError::SecretInvalid(
                "field maxConnections is 0: no job could ever connect".into(),
            ));
        }
        settings.pin()?;
        Ok(settings)
    }

    pub fn max_connections(&self) -> u32 {
        self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS)
    }

    /// The server as the connection leases name it: every secret naming the same host and port
    /// shares its cap.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host.to_ascii_lowercase(), self.port())
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls_mode {
            TlsMode::Explicit => 21,
            TlsMode::Implicit => 990,
        })
    }

    pub fn server_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    /// The certificate pin as bytes.
    pub fn pin(&self) -> Result<Option<[u8; 32]>, PipelineError> {
        let Some(text) = &self.cert_sha256 else { return Ok(None) };
        let digits: String = text.chars().filter(|c| *c != ':').collect();
        let mut pin = [0u8; 32];
        hex::decode_to_slice(&digits, &mut pin)
            .map_err(|_| PipelineError::SecretInvalid("field certSha256 is not 64 hex digits".into()))?;
        Ok(Some(pin))
    }
}

/// A server's settings with the TLS configuration built from them (its session cache included).
#[derive(Debug)]
pub struct FtpsEndpoint {
    pub settings: FtpsSettings,
    pub tls: Arc<rustls::ClientConfig>,
}

/// Resolves a pipeline to its settings, caching each secret for `ttl` so a warm container does
/// not call Secrets Manager per file, while a rotated password is picked up within minutes.
pub struct SecretSource {
    client: aws_sdk_secretsmanager::Client,
    id_template: String,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Arc<FtpsEndpoint>)>>,
}

/// `FTPS_SECRET_ID` with `{pipeline}` replaced by a pipeline that can name a secret.
pub fn secret_id(template: &str, pipeline: &str) -> Result<String, PipelineError> {
    if !template.contains("{pipeline}") {
        return Ok(template.to_string());
    }
    let safe = !pipeline.is_empty()
        && pipeline
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.+=@".contains(c));
    if !safe {
        return Err(PipelineError::InvalidJob(format!(
            "pipeline {pipeline:?} cannot name a secret (letters, digits and _-.+=@ only)"
        )));
    }
    Ok(template.replace("{pipeline}", pipeline))
}

impl SecretSource {
    pub fn new(client: aws_sdk_secretsmanager::Client, id_template: impl Into<String>) -> Self {
        Self {
            client,
            id_template: id_template.into(),
            ttl: Duration::from_secs(300),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The secret id for a pipeline.
    pub fn secret_id(&self, pipeline: &str) -> Result<String, PipelineError> {
        secret_id(&self.id_template, pipeline)
    }

    pub async fn endpoint(&self, pipeline: &str) -> Result<Arc<FtpsEndpoint>, PipelineError> {
        let id = self.secret_id(pipeline)?;
        if let Some((at, endpoint)) = self.cache.lock().expect("cache lock").get(&id)
            && at.elapsed() < self.ttl
        {
            return Ok(endpoint.clone());
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(&id)
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception())
                {
                    PipelineError::SecretInvalid(format!("secret {id} does not exist"))
                } else {
                    PipelineError::from_sdk(&format!("GetSecretValue {id}"), err)
                }
            })?;
        let text = out
            .secret_string()
            .ok_or_else(|| PipelineError::SecretInvalid(format!("secret {id} has no SecretString")))?;
        let settings = FtpsSettings::from_json(text).map_err(|e| match e {
            PipelineError::SecretInvalid(problem) => PipelineError::SecretInvalid(format!("secret {id}: {problem}")),
            other => other,
        })?;
        let tls = crate::tls::client_config(&settings)?;
        let endpoint = Arc::new(FtpsEndpoint { settings, tls });
        self.cache
            .lock()
            .expect("cache lock")
            .insert(id, (Instant::now(), endpoint.clone()));
        Ok(endpoint)
    }

    /// Drops a cached secret, e.g. after the server refused its password (it may have rotated).
    pub fn forget(&self, pipeline: &str) {
        if let Ok(id) = self.secret_id(pipeline) {
            self.cache.lock().expect("cache lock").remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_defaults() {
        let s = FtpsSettings::from_json(r#"{"host":"ftp.example.gov","username":"u","password":"hunter2"}"#).unwrap();
        assert_eq!(s.port(), 21);
        assert_eq!(s.tls_mode, TlsMode::Explicit);
        assert!(!format!("{s:?}").contains("hunter2"));
        let s = FtpsSettings::from_json(
            r#"{"host":"h","username":"u","password":"p","tlsMode":"implicit","certSha256":"AB:cd:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"}"#,
        )
        .unwrap();
        assert_eq!(s.port(), 990);
        assert_eq!(s.pin().unwrap().unwrap()[0], 0xab);
    }

    #[test]
    fn rejects_bad_secrets_without_echoing_them() {
        let err = FtpsSettings::from_json(r#"{"host":"h","password":"hunter2"}"#).unwrap_err();
        assert_eq!(err.name(), "SecretInvalid");
        assert!(err.to_string().contains("username"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
        let err =
            FtpsSettings::from_json(r#"{"host":"h","username":"u","password":"p","certSha256":"xyz"}"#).unwrap_err();
        assert!(err.to_string().contains("certSha256"), "{err}");
    }
}

#[cfg(test)]
mod leak_tests {
    use super::*;

    /// Issue 9, defect 8: a secret whose password has the wrong type must not put the password
    /// in the error (serde echoes the value: "invalid type: integer `…`").
    #[test]
    fn a_malformed_secret_names_the_field_not_the_value() {
        for text in [
            r#"{"host": "h", "username": "u", "password": 918273645}"#,
            r#"{"host": "h", "username": "u", "password": ["918273645"]}"#,
            r#"{"host": "h", "username": "u", "password": "918273645", "port": "918273645"}"#,
        ] {
            let err = FtpsSettings::from_json(text).unwrap_err().to_string();
            assert!(!err.contains("918273645"), "the value leaked: {err}");
            assert!(
                err.contains("password") || err.contains("port"),
                "names the field: {err}"
            );
        }
    }
}

#[cfg(test)]
mod permission_tests {
    use super::*;

    fn settings(json: &str) -> FtpsSettings {
        FtpsSettings::from_json(json).unwrap()
    }

    #[test]
    fn allowed_paths_are_directories_not_string_prefixes() {
        let s = settings(r#"{"host": "h", "username": "u", "password": "p", "allowedPaths": ["/outbox/"]}"#);
        assert!(s.permits("P", "/outbox/a.data").is_ok());
        assert!(s.permits("P", "/outbox/deep/a.data").is_ok());
        for outside in ["/outboxevil/a.data", "/outbox", "/outbox/", "/etc/passwd", "/in/a.data"] {
            let err = s.permits("P", outside).unwrap_err();
            assert_eq!(err.name(), "UnsafeFileName", "{outside}: {err}");
        }
        let everywhere = settings(r#"{"host": "h", "username": "u", "password": "p", "allowedPaths": ["/"]}"#);
        assert!(
            everywhere.permits("any", "/anywhere/a").is_ok(),
            "[\"/\"] states: everywhere"
        );
    }

    /// A secret that does not say where its jobs may read (and delete) refuses them all, by
    /// name: serving every path is a choice the secret must state (`allowedPaths: ["/"]`).
    #[test]
    fn a_secret_without_allowed_paths_refuses_jobs() {
        for unstated in [
            r#"{"host": "h", "username": "u", "password": "p"}"#,
            r#"{"host": "h", "username": "u", "password": "p", "allowedPaths": []}"#,
        ] {
            let err = settings(unstated).permits("any", "/anywhere/a").unwrap_err();
            assert_eq!(err.name(), "SecretInvalid", "{err}");
            assert!(err.to_string().contains("allowedPaths"), "{err}");
        }
    }

    #[test]
    fn allowed_projects_name_the_projects() {
        let s = settings(
            r#"{"host": "h", "username": "u", "password": "p", "allowedPaths": ["/"], "allowedProjects": ["A"]}"#,
        );
        assert!(s.permits("A", "/in/x").is_ok());
        assert_eq!(s.permits("B", "/in/x").unwrap_err().name(), "InvalidJob");
    }
}
