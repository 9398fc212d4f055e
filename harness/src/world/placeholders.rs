//! `${NAME}` placeholders, the one substitution of the harness: the state machine's
//! `DefinitionSubstitutions` (`${SetRunningFunctionArn}`) and a scenario file's `${ENV}`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("unclosed ${{ at byte {0}")]
    Unclosed(usize),
    #[error("{0}")]
    Unresolved(String),
}

/// What to put in place of one placeholder.
pub enum Resolution {
    Value(String),
    /// Leave `${NAME}` as it is.
    Keep,
    /// Fail with this message.
    Fail(String),
}

/// Replaces every `${NAME}` in `text` with what `resolve(NAME)` says.
pub fn substitute(text: &str, mut resolve: impl FnMut(&str) -> Resolution) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or(PlaceholderError::Unclosed(text.len() - rest.len() + start))?;
        let name = &rest[start + 2..start + end];
        match resolve(name) {
            Resolution::Value(value) => out.push_str(&value),
            Resolution::Keep => out.push_str(&rest[start..start + end + 1]),
            Resolution::Fail(message) => return Err(PlaceholderError::Unresolved(message)),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `${NAME}` from the environment; an unset variable is an error naming it.
pub fn from_env(text: &str) -> Result<String, PlaceholderError> {
    substitute(text, |name| match std::env::var(name) {
        Ok(value) => Resolution::Value(value),
        Err(_) => Resolution::Fail(format!("environment variable {name} (used as ${{{name}}}) is not set")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_keeps_and_fails_by_name() {
        let text = "a ${X} b ${Y} c";
        let out = substitute(text, |n| match n {
            "X" => Resolution::Value("1".into()),
            _ => Resolution::Keep,
        });
        assert_eq!(out.unwrap(), "a 1 b ${Y} c");
        let err = substitute(text, |n| Resolution::Fail(format!("no {n}"))).unwrap_err();
        assert_eq!(err.to_string(), "no X");
        assert_eq!(
            substitute("x ${oops", |_| Resolution::Keep).unwrap_err(),
            PlaceholderError::Unclosed(2)
        );
    }
}
