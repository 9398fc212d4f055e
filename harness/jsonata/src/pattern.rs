//! JSONata's regular expressions are JavaScript's. They run on the `regex` crate after the
//! translation below keeps the meaning of what differs between the two: `\d`, `\w` and `.` (ASCII
//! digits and word characters, any character but a line terminator in JavaScript, Unicode or
//! anything but `\n` in the crate), `\uXXXX`, `[^]` and `\/`. Look-around and back-references have
//! no equivalent in the crate: such an expression is rejected when it is compiled (S0303).

use std::sync::Arc;

#[derive(Clone)]
pub struct Pattern {
    pub source: String,
    pub flags: String,
    pub regex: Arc<regex::Regex>,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.flags == other.flags
    }
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}/{}", self.source, self.flags)
    }
}

impl Pattern {
    /// Compiles a JavaScript regular expression with JSONata's flags (`i`, `m`).
    pub fn new(source: &str, flags: &str) -> Result<Self, String> {
        let regex = regex::RegexBuilder::new(&translate(source))
            .case_insensitive(flags.contains('i'))
            .multi_line(flags.contains('m'))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            source: source.to_string(),
            flags: flags.to_string(),
            regex: Arc::new(regex),
        })
    }
}

const DIGIT: &str = "0-9";
const WORD: &str = "0-9A-Za-z_";

/// JavaScript regular-expression syntax in the `regex` crate's.
fn translate(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                let next = chars[i + 1];
                i += 2;
                match (next, in_class) {
                    ('d', false) => out.push_str(&format!("[{DIGIT}]")),
                    ('D', false) => out.push_str(&format!("[^{DIGIT}]")),
                    ('w', false) => out.push_str(&format!("[{WORD}]")),
                    ('W', false) => out.push_str(&format!("[^{WORD}]")),
                    ('d', true) => out.push_str(DIGIT),
                    ('w', true) => out.push_str(WORD),
                    ('u', _) if i + 4 <= chars.len() && chars[i..i + 4].iter().all(char::is_ascii_hexdigit) => {
                        let hex: String = chars[i..i + 4].iter().collect();
                        out.push_str(&format!("\\x{{{hex}}}"));
                        i += 4;
                    }
                    ('/', _) => out.push('/'),
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
                continue;
            }
            '[' if !in_class => {
                if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                    out.push_str("[\\s\\S]");
                    i += 3;
                    continue;
                }
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("[^\\s\\S]");
                    i += 2;
                    continue;
                }
                in_class = true;
                out.push('[');
                // A `]` first in a JavaScript class ends it; in the crate it would be a literal.
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '.' if !in_class => out.push_str("[^\\n\\r\\x{2028}\\x{2029}]"),
            c => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_classes_keep_their_meaning() {
        let p = Pattern::new(r"^\d+\w*\/.$", "").unwrap();
        assert!(p.regex.is_match("12ab/x"));
        assert!(
            !p.regex.is_match("١٢ab/x"),
            "Arabic-Indic digits are not \\d in JavaScript"
        );
        assert!(!p.regex.is_match("12ab/\r"));
        assert!(Pattern::new("a[^]b", "").unwrap().regex.is_match("a\nb"));
        assert!(Pattern::new(r"\u0041", "i").unwrap().regex.is_match("a"));
        assert!(Pattern::new("(?=a)", "").is_err());
    }
}
