//! The errors that cross into Step Functions.
//!
//! Every variant has a stable name (`PipelineError::name`) that becomes the Lambda `errorType`,
//! which is what the ASL's `Retry`/`Catch` `ErrorEquals` match. Renaming one is a breaking change
//! to `infra/statemachine.asl.json` and to every ERROR item already recorded.

use lambda_runtime::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The Lambda input or the job item is malformed (missing key, wrong type, unknown status).
    #[error("invalid job: {0}")]
    InvalidJob(String),
    /// A file name, remote path or object key that could escape its place.
    #[error("unsafe file name: {0}")]
    UnsafeFileName(String),
    /// The FTPS secret is missing, unreadable or lacks a field.
    #[error("FTPS secret unusable: {0}")]
    SecretInvalid(String),
    /// The FTPS server refused the credentials (reply 530).
    #[error("FTPS authentication failed: {0}")]
    FtpsAuthFailed(String),
    /// The server's certificate chain or name did not verify against the trusted roots.
    #[error("TLS certificate verification failed: {0}")]
    TlsVerificationFailed(String),
    /// The certificate verified but its SHA-256 is not the pinned one.
    #[error("TLS certificate does not match the pinned SHA-256: {0}")]
    CertificatePinMismatch(String),
    /// The remote file does not exist or cannot be read (reply 550 on SIZE/RETR).
    #[error("remote file not found: {0}")]
    RemoteFileNotFound(String),
    /// The server refused the file permanently for another reason (a 5xx reply).
    #[error("FTPS server rejected the request: {0}")]
    RemoteRejected(String),
    /// The server is busy or shutting down (reply 421).
    #[error("FTPS server has too many connections or is unavailable: {0}")]
    TooManyConnections(String),
    /// Every connection lease for the FTPS server is held (the secret's `maxConnections`): the
    /// job waits, without a running Lambda, in the state machine's retry backoff.
    #[error("every connection to the FTPS server is in use: {0}")]
    ConnectionLimitReached(String),
    /// Another job holds the lease of the landing key (its file lands at the same key): this
    /// job waits, without a running Lambda, in the state machine's retry backoff.
    #[error("another job is landing at the same key: {0}")]
    LandingKeyBusy(String),
    /// Connection refused, reset or timed out, a dropped data connection, or a 4xx reply.
    #[error("transient network failure: {0}")]
    TransientNetwork(String),
    /// Bytes read differ from the remote SIZE, or S3 holds something other than what was streamed.
    #[error("integrity check failed: {0}")]
    IntegrityMismatch(String),
    /// The source's SIZE or MDTM changed after it was read: it is left in place, and the retry
    /// transfers it again.
    #[error("the source changed after it was read: {0}")]
    SourceChanged(String),
    /// The Lambda's deadline was near: the transfer stopped cleanly (upload aborted, stage
    /// recorded) instead of being killed mid-way; the retry starts a fresh invocation.
    #[error("stopped before the Lambda deadline: {0}")]
    DeadlineExceeded(String),
    /// The attempt stopped (its deadline, a dropped connection, a transient S3 or DynamoDB
    /// error) after recording more of the upload than it started with: the next attempt resumes
    /// from there. Retried apart from the fault budgets, bounded by the execution's timeout.
    #[error("the transfer moved on and stopped; it resumes: {0}")]
    PartialProgress(String),
    /// The file landed and verified, but the server refused to delete the source (a 5xx reply;
    /// a 4xx is `TransientNetwork`).
    #[error("remote delete failed after a verified landing: {0}")]
    RemoteDeleteFailed(String),
    /// The job is no longer RUNNING under this execution: another execution or a person moved it.
    #[error("job is not running under this execution: {0}")]
    JobNotRunning(String),
    /// The landing bucket's versioning is not Enabled: a landing there could overwrite another
    /// one, so TransferFile lands nothing (a deployment to fix, not a fault to retry).
    #[error("the landing bucket is not versioned: {0}")]
    BucketNotVersioned(String),
    /// HealJob: a deadline timer fired while its execution still runs (it is set past the
    /// execution's timeout, so Step Functions has not ended it yet): Lambda's asynchronous
    /// retries ask again, then its failure destination (alarmed) keeps the event.
    #[error("the execution is still running at its deadline: {0}")]
    ExecutionStillRunning(String),
    /// An AWS call failed in a way worth retrying (throttling, 5xx, timeouts, dispatch).
    #[error("AWS service unavailable: {0}")]
    AwsServiceUnavailable(String),
    /// An AWS call failed permanently (access denied, missing bucket or table, validation).
    #[error("AWS request failed: {0}")]
    AwsRequestFailed(String),
}

impl PipelineError {
    /// The stable error name (the Lambda `errorType`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidJob(_) => "InvalidJob",
            Self::UnsafeFileName(_) => "UnsafeFileName",
            Self::SecretInvalid(_) => "SecretInvalid",
            Self::FtpsAuthFailed(_) => "FtpsAuthFailed",
            Self::TlsVerificationFailed(_) => "TlsVerificationFailed",
            Self::CertificatePinMismatch(_) => "CertificatePinMismatch",
            Self::RemoteFileNotFound(_) => "RemoteFileNotFound",
            Self::RemoteRejected(_) => "RemoteRejected",
            Self::TooManyConnections(_) => "TooManyConnections",
            Self::ConnectionLimitReached(_) => "ConnectionLimitReached",
            Self::LandingKeyBusy(_) => "LandingKeyBusy",
            Self::TransientNetwork(_) => "TransientNetwork",
            Self::IntegrityMismatch(_) => "IntegrityMismatch",
            Self::SourceChanged(_) => "SourceChanged",
            Self::DeadlineExceeded(_) => "DeadlineExceeded",
            Self::PartialProgress(_) => "PartialProgress",
            Self::RemoteDeleteFailed(_) => "RemoteDeleteFailed",
            Self::JobNotRunning(_) => "JobNotRunning",
            Self::BucketNotVersioned(_) => "BucketNotVersioned",
            Self::ExecutionStillRunning(_) => "ExecutionStillRunning",
            Self::AwsServiceUnavailable(_) => "AwsServiceUnavailable",
            Self::AwsRequestFailed(_) => "AwsRequestFailed",
        }
    }

    /// Whether the state machine retries this error (kept in step with the ASL's Retry blocks).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::TooManyConnections(_)
                | Self::ConnectionLimitReached(_)
                | Self::LandingKeyBusy(_)
                | Self::TransientNetwork(_)
                | Self::IntegrityMismatch(_)
                | Self::SourceChanged(_)
                | Self::DeadlineExceeded(_)
                | Self::PartialProgress(_)
                | Self::AwsServiceUnavailable(_)
        )
    }

    /// Every error name, for documentation and for the test that keeps the ASL in step.
    pub const NAMES: [&'static str; 22] = [
        "InvalidJob",
        "UnsafeFileName",
        "SecretInvalid",
        "FtpsAuthFailed",
        "TlsVerificationFailed",
        "CertificatePinMismatch",
        "RemoteFileNotFound",
        "RemoteRejected",
        "TooManyConnections",
        "ConnectionLimitReached",
        "LandingKeyBusy",
        "TransientNetwork",
        "IntegrityMismatch",
        "SourceChanged",
        "DeadlineExceeded",
        "PartialProgress",
        "RemoteDeleteFailed",
        "JobNotRunning",
        "BucketNotVersioned",
        "ExecutionStillRunning",
        "AwsServiceUnavailable",
        "AwsRequestFailed",
    ];

    /// Classifies an AWS SDK error: throttling, 5xx and transport failures are transient.
    pub fn from_sdk<E>(
        context: &str,
        err: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> Self
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        use aws_sdk_dynamodb::error::SdkError;
        let transient = match &err {
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or_default();
                // Any service's 5xx or 429, whatever it names its code (Secrets Manager's and
                // Scheduler's 500s are InternalServiceError / InternalServerException).
                let status = service.raw().status().as_u16();
                status >= 500
                    || status == 429
                    || code.contains("Throttl")
                    || code.contains("ProvisionedThroughputExceeded")
                    || code == "RequestLimitExceeded"
                    || code == "InternalServerError"
                    || code == "InternalError"
                    || code == "ServiceUnavailable"
                    || code == "SlowDown"
            }
            _ => false,
        };
        let message = format!("{context}: {}", aws_error_text(&err));
        if transient {
            Self::AwsServiceUnavailable(message)
        } else {
            Self::AwsRequestFailed(message)
        }
    }
}

/// `code: message` of an SDK error, falling back to the full error chain.
fn aws_error_text<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

impl From<PipelineError> for Diagnostic {
    fn from(err: PipelineError) -> Self {
        Diagnostic {
            error_type: err.name().to_string(),
            error_message: err.to_string(),
        }
    }
}

/// The longest message the pipeline stores or raises: DynamoDB items hold 400 KB, a Step
/// Functions cause 32 KiB, and a message may echo a bad value of any size.
pub const MAX_MESSAGE: usize = 4096;

/// `message` cut to at most `MAX_MESSAGE` bytes at a character boundary, `…` marking the cut.
pub fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}
