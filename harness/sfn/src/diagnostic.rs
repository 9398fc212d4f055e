//! A problem in a definition, as ValidateStateMachineDefinition reports it: a code, where it is
//! and what is wrong.

use std::fmt;

/// AWS's diagnostic codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticCode {
    SchemaValidationFailed,
    InvalidJsonataExpression,
    UnsupportedJsonataExpression,
}

impl DiagnosticCode {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticCode::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            DiagnosticCode::InvalidJsonataExpression => "INVALID_JSONATA_EXPRESSION",
            DiagnosticCode::UnsupportedJsonataExpression => "UNSUPPORTED_JSONATA_EXPRESSION",
        }
    }
}

/// One problem. Its text (`Display`) reads `<location>: <message>` (`<location>: <CODE>:
/// <message>` for a code of its own), or is the message alone when the message names its
/// location itself (`$.StartAt is missing`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: DiagnosticCode,
    /// Where, as a path from the definition's root: `$.States.A.Type`, `$.States.M.Arguments[0]`;
    /// `$` for the whole definition.
    pub location: String,
    pub message: String,
    /// The message is a whole sentence with the location in it (or has none).
    whole: bool,
}

impl Diagnostic {
    /// A problem of the field at `location`, told after it (`$.States.A: field "X" is not allowed`).
    pub(crate) fn at(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: DiagnosticCode::SchemaValidationFailed,
            location: location.into(),
            message: message.into(),
            whole: false,
        }
    }

    /// A problem told as a sentence about the field at `location` (`$.StartAt` `is missing`):
    /// the message is the sentence.
    pub(crate) fn of(location: impl Into<String>, predicate: impl fmt::Display) -> Self {
        let location = location.into();
        Self {
            code: DiagnosticCode::SchemaValidationFailed,
            message: format!("{location} {predicate}"),
            location,
            whole: true,
        }
    }

    /// A problem of the whole definition (it is not JSON, say).
    pub(crate) fn whole(message: impl Into<String>) -> Self {
        Self {
            code: DiagnosticCode::SchemaValidationFailed,
            location: "$".into(),
            message: message.into(),
            whole: true,
        }
    }

    /// A problem with a code of its own, its location still to be given (`at`).
    pub(crate) fn coded(code: DiagnosticCode, message: impl Into<String>) -> Self {
        Self {
            code,
            location: "$".into(),
            message: message.into(),
            whole: false,
        }
    }

    /// The same problem, at `location`.
    pub(crate) fn located(mut self, location: impl Into<String>) -> Self {
        self.location = location.into();
        self
    }

    /// The location as the API names it: a path from the root with `/` (`/States/A/Type`;
    /// empty for the whole definition).
    pub fn api_location(&self) -> String {
        self.location.trim_start_matches('$').replace('.', "/")
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.whole {
            return f.write_str(&self.message);
        }
        write!(f, "{}: ", self.location)?;
        if self.code != DiagnosticCode::SchemaValidationFailed {
            write!(f, "{}: ", self.code.as_str())?;
        }
        f.write_str(&self.message)
    }
}
