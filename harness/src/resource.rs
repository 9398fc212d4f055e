//! `ResourceError`: a call to AWS (the backend behind the world) failed, with what it was doing
//! and the SDK's error in full. A leaf, so that the world, the Pipe and the checks share it.

#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct ResourceError {
    what: String,
    message: String,
}

impl ResourceError {
    pub fn new<E: std::error::Error>(what: &str, err: &E) -> Self {
        Self {
            what: what.to_string(),
            message: aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
        }
    }
}
