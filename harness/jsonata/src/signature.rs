//! Function signatures (`<s-n?:s>`), parsed as jsonata-js's `signature.js` does: one parameter per
//! type symbol, with `-` (use the context when missing), `?` (optional) and `+` (one or more) on the
//! one before, `(…)` a choice, `<…>` the element or function type of `a` and `f`; the return type
//! after `:` is not checked.

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The type symbol (`s n b l o a f j x`) or a choice `(sn)`.
    pub kind: String,
    /// The value types it accepts (`m` stands for "missing", as in jsonata-js).
    pub accepts: String,
    pub context: bool,
    pub optional: bool,
    pub one_or_more: bool,
    /// `a<n>`, `f<n:n>`: the text between the angle brackets.
    pub subtype: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub text: String,
    pub params: Vec<Param>,
}

/// The position of the bracket that closes the one at `start`.
fn closing(chars: &[char], start: usize, open: char, close: char) -> usize {
    let mut depth = 1;
    let mut at = start;
    while at + 1 < chars.len() {
        at += 1;
        if chars[at] == close {
            depth -= 1;
            if depth == 0 {
                break;
            }
        } else if chars[at] == open {
            depth += 1;
        }
    }
    at
}

/// Parses `text` (`<…>`, brackets included); `position` is where it starts in the expression, so
/// an error points into it (S0401, S0402).
pub fn parse(text: &str, position: usize) -> Result<Signature, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut params: Vec<Param> = Vec::new();
    let mut at = 1;
    while at < chars.len() {
        let symbol = chars[at];
        if symbol == ':' {
            break;
        }
        let simple = |kind: String, accepts: &str| Param {
            kind,
            accepts: accepts.to_string(),
            context: false,
            optional: false,
            one_or_more: false,
            subtype: None,
        };
        match symbol {
            's' | 'n' | 'b' | 'l' | 'o' => params.push(simple(symbol.to_string(), &format!("{symbol}m"))),
            'a' => params.push(simple("a".into(), "asnblfom")),
            'f' => params.push(simple("f".into(), "f")),
            'j' => params.push(simple("j".into(), "asnblom")),
            'x' => params.push(simple("x".into(), "asnblfom")),
            '-' | '?' | '+' => {
                if let Some(previous) = params.last_mut() {
                    match symbol {
                        '-' => previous.context = true,
                        '?' => previous.optional = true,
                        _ => previous.one_or_more = true,
                    }
                }
            }
            '(' => {
                let end = closing(&chars, at, '(', ')');
                let choice: String = chars[at + 1..end.min(chars.len())].iter().collect();
                if choice.contains('<') {
                    return Err(Error::new(
                        "S0402",
                        position + at,
                        Some(choice),
                        "Choice groups containing parameterized types are not supported",
                    ));
                }
                params.push(simple(format!("({choice})"), &format!("{choice}m")));
                at = end;
            }
            '<' => match params.last_mut() {
                Some(previous) if previous.kind == "a" || previous.kind == "f" => {
                    let end = closing(&chars, at, '<', '>');
                    previous.subtype = Some(chars[at + 1..end.min(chars.len())].iter().collect());
                    at = end;
                }
                previous => {
                    let kind = previous.map(|p| p.kind.clone()).unwrap_or_default();
                    return Err(Error::new(
                        "S0401",
                        position + at,
                        Some(kind.clone()),
                        format!("Type parameters can only be applied to functions and arrays, not {kind:?}"),
                    ));
                }
            },
            _ => {}
        }
        at += 1;
    }
    Ok(Signature {
        text: text.to_string(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_carry_their_modifiers_and_subtypes() {
        let sig = parse("<s-n?a<n>f<n:n>+(sn):s>", 0).unwrap();
        let kinds: Vec<&str> = sig.params.iter().map(|p| p.kind.as_str()).collect();
        assert_eq!(kinds, ["s", "n", "a", "f", "(sn)"]);
        assert!(sig.params[0].context && sig.params[1].optional && sig.params[3].one_or_more);
        assert_eq!(sig.params[2].subtype.as_deref(), Some("n"));
        assert_eq!(sig.params[3].subtype.as_deref(), Some("n:n"));
        assert_eq!(sig.params[4].accepts, "snm");
    }

    #[test]
    fn type_parameters_only_on_arrays_and_functions_and_never_in_choices() {
        assert_eq!(parse("<n<n>>", 10).unwrap_err().code, "S0401");
        assert_eq!(parse("<n<n>>", 10).unwrap_err().position, 12);
        assert_eq!(parse("<(sa<n>)>", 0).unwrap_err().code, "S0402");
    }
}
