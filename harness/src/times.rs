//! How many times a fault fires — a count, or `always` — for the FTPS server's faults
//! (`ftps::FtpsFault`), AWS's (`emulate::aws_fault`) and Lambda's (`emulate::lambda`) alike.

use serde::{Deserialize, Serialize};

/// How many times a fault fires: a count, or `always`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Times {
    Count(u32),
    Keyword(Always),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Always {
    Always,
}

impl Times {
    pub const ALWAYS: Times = Times::Keyword(Always::Always);

    /// Takes one firing; false when none is left.
    pub(crate) fn take(&mut self) -> bool {
        match self {
            Times::Keyword(Always::Always) => true,
            Times::Count(0) => false,
            Times::Count(n) => {
                *n -= 1;
                true
            }
        }
    }
}
