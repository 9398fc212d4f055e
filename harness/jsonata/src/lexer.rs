//! JSONata's tokenizer, after jsonata-js's: the parser asks for one token at a time and says whether
//! it is at a prefix position, because `/` there starts a regular expression and elsewhere divides.

use crate::Error;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// An operator or punctuation, including the word operators `and`, `or`, `in`.
    Operator(&'static str),
    String(String),
    Number(f64),
    /// A field name (backtick-quoted names arrive unquoted).
    Name(String),
    /// `$name` (without the `$`; `$` alone is the empty name, the context).
    Variable(String),
    Bool(bool),
    Null,
    Regex {
        pattern: String,
        flags: String,
    },
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub kind: Kind,
    /// The character position just after the token, as jsonata-js reports it.
    pub position: usize,
}

const DOUBLE: [&str; 9] = ["..", ":=", "!=", ">=", "<=", "**", "~>", "?:", "??"];
const SINGLE: &str = ".[]{}(),@#;:?+-*/%|=<>^&!~";

/// `c` as one of the `SINGLE` operators.
fn single(c: char) -> Option<&'static str> {
    SINGLE.find(c).map(|i| &SINGLE[i..i + c.len_utf8()])
}

pub struct Lexer {
    chars: Vec<char>,
    position: usize,
}

impl Lexer {
    pub fn new(source: &str) -> Self {
        Self {
            chars: source.chars().collect(),
            position: 0,
        }
    }

    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn token(&self, kind: Kind) -> Token {
        Token {
            kind,
            position: self.position,
        }
    }

    /// The next token; `prefix`: the parser expects an operand, where `/` opens a regex.
    pub fn next(&mut self, prefix: bool) -> Result<Token, Error> {
        loop {
            while self.at(self.position).is_some_and(|c| " \t\n\r\u{b}".contains(c)) {
                self.position += 1;
            }
            if self.at(self.position) == Some('/') && self.at(self.position + 1) == Some('*') {
                let start = self.position;
                self.position += 2;
                loop {
                    match (self.at(self.position), self.at(self.position + 1)) {
                        (Some('*'), Some('/')) => {
                            self.position += 2;
                            break;
                        }
                        (Some(_), _) => self.position += 1,
                        (None, _) => return Err(Error::new("S0106", start, None, "Comment has no closing tag")),
                    }
                }
                continue;
            }
            break;
        }
        let Some(c) = self.at(self.position) else {
            return Ok(self.token(Kind::End));
        };
        if prefix && c == '/' {
            self.position += 1;
            return self.regex();
        }
        if let Some(next) = self.at(self.position + 1) {
            let pair: String = [c, next].iter().collect();
            if let Some(op) = DOUBLE.iter().copied().find(|op| *op == pair) {
                // `..` followed by a digit is still the range operator; `?:`/`??` likewise.
                self.position += 2;
                return Ok(self.token(Kind::Operator(op)));
            }
        }
        if let Some(op) = single(c) {
            self.position += 1;
            return Ok(self.token(Kind::Operator(op)));
        }
        if c == '"' || c == '\'' {
            return self.string(c);
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == '`' {
            let start = self.position;
            self.position += 1;
            let from = self.position;
            while let Some(ch) = self.at(self.position) {
                if ch == '`' {
                    let name: String = self.chars[from..self.position].iter().collect();
                    self.position += 1;
                    return Ok(self.token(Kind::Name(name)));
                }
                self.position += 1;
            }
            return Err(Error::new(
                "S0105",
                start,
                None,
                "Quoted property name must be terminated with a backquote (`)",
            ));
        }
        // A name or a variable runs to whitespace or an operator character.
        let start = self.position;
        let mut end = start;
        while let Some(ch) = self.at(end) {
            if " \t\n\r\u{b}".contains(ch) || SINGLE.contains(ch) {
                break;
            }
            end += 1;
        }
        let text: String = self.chars[start..end].iter().collect();
        self.position = end;
        if let Some(name) = text.strip_prefix('$') {
            return Ok(self.token(Kind::Variable(name.to_string())));
        }
        Ok(self.token(match text.as_str() {
            "and" => Kind::Operator("and"),
            "or" => Kind::Operator("or"),
            "in" => Kind::Operator("in"),
            "true" => Kind::Bool(true),
            "false" => Kind::Bool(false),
            "null" => Kind::Null,
            _ => Kind::Name(text),
        }))
    }

    fn regex(&mut self) -> Result<Token, Error> {
        let start = self.position;
        let mut depth = 0i32;
        while let Some(c) = self.at(self.position) {
            let escaped = self.position > 0 && self.at(self.position - 1) == Some('\\');
            if c == '/' && depth == 0 {
                let backslashes = self.chars[start..self.position]
                    .iter()
                    .rev()
                    .take_while(|c| **c == '\\')
                    .count();
                if backslashes % 2 == 0 {
                    let pattern: String = self.chars[start..self.position].iter().collect();
                    if pattern.is_empty() {
                        return Err(Error::new(
                            "S0301",
                            self.position,
                            None,
                            "Empty regular expressions are not allowed",
                        ));
                    }
                    self.position += 1;
                    let from = self.position;
                    while matches!(self.at(self.position), Some('i' | 'm')) {
                        self.position += 1;
                    }
                    let flags: String = self.chars[from..self.position].iter().collect();
                    return Ok(self.token(Kind::Regex { pattern, flags }));
                }
            }
            if "([{".contains(c) && !escaped {
                depth += 1;
            }
            if ")]}".contains(c) && !escaped {
                depth -= 1;
            }
            self.position += 1;
        }
        Err(Error::new(
            "S0302",
            self.position,
            None,
            "No terminating / in regular expression",
        ))
    }

    fn string(&mut self, quote: char) -> Result<Token, Error> {
        let start = self.position;
        self.position += 1;
        let mut text = String::new();
        while let Some(c) = self.at(self.position) {
            if c == '\\' {
                self.position += 1;
                let Some(escaped) = self.at(self.position) else { break };
                match escaped {
                    '"' | '\\' | '/' => text.push(escaped),
                    '\'' => text.push('\''),
                    'b' => text.push('\u{8}'),
                    'f' => text.push('\u{c}'),
                    'n' => text.push('\n'),
                    'r' => text.push('\r'),
                    't' => text.push('\t'),
                    'u' => {
                        let code = self.hex4(self.position + 1).ok_or_else(|| {
                            Error::new(
                                "S0104",
                                self.position,
                                None,
                                "The escape sequence \\u must be followed by 4 hex digits",
                            )
                        })?;
                        self.position += 4;
                        // A surrogate pair arrives as two escapes.
                        if (0xD800..0xDC00).contains(&code)
                            && self.at(self.position + 1) == Some('\\')
                            && self.at(self.position + 2) == Some('u')
                            && let Some(low) = self.hex4(self.position + 3).filter(|l| (0xDC00..0xE000).contains(l))
                        {
                            let combined = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            text.extend(char::from_u32(combined));
                            self.position += 6;
                        } else {
                            text.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                    }
                    other => {
                        return Err(Error::new(
                            "S0103",
                            self.position,
                            Some(other.to_string()),
                            format!("Unsupported escape sequence: \\{other}"),
                        ));
                    }
                }
            } else if c == quote {
                self.position += 1;
                return Ok(self.token(Kind::String(text)));
            } else {
                text.push(c);
            }
            self.position += 1;
        }
        Err(Error::new(
            "S0101",
            start,
            None,
            "String literal must be terminated by a matching quote",
        ))
    }

    fn hex4(&self, from: usize) -> Option<u32> {
        let digits: String = (from..from + 4).map_while(|i| self.at(i)).collect();
        (digits.len() == 4 && digits.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(&digits, 16).ok())
            .flatten()
    }

    fn number(&mut self) -> Result<Token, Error> {
        let start = self.position;
        let digits = |mut i: usize, chars: &[char]| {
            while chars.get(i).is_some_and(char::is_ascii_digit) {
                i += 1;
            }
            i
        };
        // 0 | [1-9][0-9]*
        let mut end = if self.at(start) == Some('0') {
            start + 1
        } else {
            digits(start, &self.chars)
        };
        if self.at(end) == Some('.') && self.at(end + 1).is_some_and(|c| c.is_ascii_digit()) {
            end = digits(end + 1, &self.chars);
        }
        if matches!(self.at(end), Some('e' | 'E')) {
            let mut exp = end + 1;
            if matches!(self.at(exp), Some('+' | '-')) {
                exp += 1;
            }
            if self.at(exp).is_some_and(|c| c.is_ascii_digit()) {
                end = digits(exp, &self.chars);
            }
        }
        let text: String = self.chars[start..end].iter().collect();
        self.position = end;
        let value: f64 = text.parse().unwrap_or(f64::NAN);
        if !value.is_finite() {
            return Err(Error::new("S0102", self.position, Some(text), "Number out of range"));
        }
        Ok(self.token(Kind::Number(value)))
    }
}
