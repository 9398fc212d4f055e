//! A Pratt parser after jsonata-js's `parser.js`: the same binding powers, the same rewrites
//! (`?:` and `??` as conditions, `function(…){…}` calls as lambdas), the same error codes.

use crate::Error;
use crate::ast::{Literal, Node, NodeKind};
use crate::lexer::{Kind, Lexer, Token};

/// Left binding powers, as jsonata-js's `operators` table.
fn binding_power(op: &str) -> u8 {
    match op {
        "." => 75,
        // jsonata-js's table gives `;` and `:` 80, but declares them as plain symbols (0), like
        // `..` and `|`, which only their constructs consume.
        "[" | "(" | "@" | "#" => 80,
        "{" => 70,
        "]" | "}" | ")" | "," | "!" | "~" | ";" | ":" | ".." | "|" => 0,
        "?" => 20,
        "+" | "-" | "&" => 50,
        "*" | "/" | "%" | "**" => 60,
        "=" | "<" | ">" | "^" | "!=" | "<=" | ">=" | "~>" | "?:" | "??" | "in" => 40,
        ":=" => 10,
        "and" => 30,
        "or" => 25,
        _ => 0,
    }
}

/// Parses a JSONata expression.
pub fn parse(source: &str) -> Result<Node, Error> {
    let mut parser = Parser {
        lexer: Lexer::new(source),
        token: Token {
            kind: Kind::End,
            position: 0,
        },
        depth: 0,
    };
    parser.advance(true)?;
    let node = parser.expression(0)?;
    if parser.token.kind != Kind::End {
        return Err(Error::new(
            "S0201",
            parser.token.position,
            Some(describe(&parser.token.kind)),
            format!("Syntax error: {}", describe(&parser.token.kind)),
        ));
    }
    Ok(node)
}

fn describe(kind: &Kind) -> String {
    match kind {
        Kind::Operator(op) => (*op).to_string(),
        Kind::String(s) | Kind::Name(s) => s.clone(),
        Kind::Variable(v) => format!("${v}"),
        Kind::Number(n) => n.to_string(),
        Kind::Bool(b) => b.to_string(),
        Kind::Null => "null".into(),
        Kind::Regex { pattern, .. } => format!("/{pattern}/"),
        Kind::End => "(end)".into(),
    }
}

struct Parser {
    lexer: Lexer,
    /// The current (not yet consumed) token.
    token: Token,
    /// How deeply the expression being read is nested.
    depth: usize,
}

/// The deepest nesting an expression may have: jsonata-js would exhaust JavaScript's stack long
/// before a person writes this much, and a bound keeps the parser's own stack bounded.
pub const MAX_NESTING: usize = 1000;

impl Parser {
    /// Moves to the next token; `prefix`: the next one is read at an operand position.
    fn advance(&mut self, prefix: bool) -> Result<Token, Error> {
        let next = self.lexer.next(prefix)?;
        // `!` and `~` are in jsonata-js's operator table but no construct takes them.
        if let Kind::Operator("!" | "~") = next.kind {
            return Err(Error::new("S0204", next.position, None, "Unknown operator"));
        }
        Ok(std::mem::replace(&mut self.token, next))
    }

    fn is(&self, op: &str) -> bool {
        matches!(self.token.kind, Kind::Operator(o) if o == op)
    }

    /// Consumes the expected operator `op` (S0202, or S0203 at the end).
    fn expect(&mut self, op: &'static str, prefix: bool) -> Result<Token, Error> {
        if !self.is(op) {
            let (code, message) = if self.token.kind == Kind::End {
                ("S0203", format!("Expected {op:?} before end of expression"))
            } else {
                (
                    "S0202",
                    format!("Expected {op:?}, got {:?}", describe(&self.token.kind)),
                )
            };
            return Err(Error::new(
                code,
                self.token.position,
                Some(describe(&self.token.kind)),
                message,
            ));
        }
        self.advance(prefix)
    }

    fn left_power(&self) -> u8 {
        match &self.token.kind {
            Kind::Operator(op) => binding_power(op),
            _ => 0,
        }
    }

    fn expression(&mut self, rbp: u8) -> Result<Node, Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(Error::new(
                "U1001",
                self.token.position,
                None,
                format!("The expression is nested more than {MAX_NESTING} levels deep"),
            ));
        }
        let token = self.advance(false)?;
        let mut left = self.prefix(token)?;
        while rbp < self.left_power() {
            let token = self.advance(true)?;
            left = self.infix(token, left)?;
        }
        self.depth -= 1;
        Ok(left)
    }

    /// The operand after `token` was read at a prefix position (jsonata-js's `nud`).
    fn prefix(&mut self, token: Token) -> Result<Node, Error> {
        let at = token.position;
        let kind = match token.kind {
            Kind::String(s) => NodeKind::Literal(Literal::String(s)),
            Kind::Number(n) => NodeKind::Literal(Literal::Number(n)),
            Kind::Bool(b) => NodeKind::Literal(Literal::Bool(b)),
            Kind::Null => NodeKind::Literal(Literal::Null),
            Kind::Regex { pattern, flags } => NodeKind::Literal(Literal::Regex { pattern, flags }),
            Kind::Name(n) => NodeKind::Name(n),
            Kind::Variable(v) => NodeKind::Variable(v),
            Kind::Operator(op @ ("and" | "or" | "in")) => NodeKind::Name(op.to_string()),
            Kind::Operator("*") => NodeKind::Wildcard,
            Kind::Operator("**") => NodeKind::Descendants,
            Kind::Operator("%") => NodeKind::Parent,
            Kind::Operator("-") => NodeKind::Negate(Box::new(self.expression(70)?)),
            Kind::Operator("(") => {
                let mut expressions = Vec::new();
                while !self.is(")") {
                    expressions.push(self.expression(0)?);
                    if !self.is(";") {
                        break;
                    }
                    self.advance(true)?;
                }
                self.expect(")", false)?;
                NodeKind::Block(expressions)
            }
            Kind::Operator("[") => {
                let mut items = Vec::new();
                if !self.is("]") {
                    loop {
                        let mut item = self.expression(0)?;
                        if self.is("..") {
                            let position = self.token.position;
                            self.advance(true)?;
                            let rhs = self.expression(0)?;
                            item = Node::new(
                                NodeKind::Binary {
                                    op: "..",
                                    lhs: Box::new(item),
                                    rhs: Box::new(rhs),
                                },
                                position,
                            );
                        }
                        items.push(item);
                        if !self.is(",") {
                            break;
                        }
                        self.advance(true)?;
                    }
                }
                self.expect("]", false)?;
                NodeKind::Array(items)
            }
            Kind::Operator("{") => NodeKind::Object {
                lhs: None,
                pairs: self.pairs()?,
            },
            Kind::Operator("|") => {
                let pattern = self.expression(0)?;
                self.expect("|", true)?;
                let update = self.expression(0)?;
                let delete = self.optional_after(",")?;
                self.expect("|", false)?;
                NodeKind::Transform {
                    pattern: Box::new(pattern),
                    update: Box::new(update),
                    delete,
                }
            }
            other => {
                let text = describe(&other);
                return Err(Error::new(
                    if other == Kind::End { "S0207" } else { "S0211" },
                    at,
                    Some(text.clone()),
                    if other == Kind::End {
                        "Unexpected end of expression".to_string()
                    } else {
                        format!("The symbol {text:?} cannot be used as a unary operator")
                    },
                ));
            }
        };
        Ok(Node::new(kind, at))
    }

    /// The expression after `separator` if that comes next (`c ? a : b`'s else, a transform's delete).
    fn optional_after(&mut self, separator: &str) -> Result<Option<Box<Node>>, Error> {
        if !self.is(separator) {
            return Ok(None);
        }
        self.advance(true)?;
        Ok(Some(Box::new(self.expression(0)?)))
    }

    /// `k: v, …}` after a `{`.
    fn pairs(&mut self) -> Result<Vec<(Node, Node)>, Error> {
        let mut pairs = Vec::new();
        if !self.is("}") {
            loop {
                let key = self.expression(0)?;
                self.expect(":", true)?;
                let value = self.expression(0)?;
                pairs.push((key, value));
                if !self.is(",") {
                    break;
                }
                self.advance(true)?;
            }
        }
        self.expect("}", false)?;
        Ok(pairs)
    }

    fn variable_name(node: &Node, code: &'static str, op: &str) -> Result<String, Error> {
        match &node.kind {
            NodeKind::Variable(v) => Ok(v.clone()),
            _ => Err(Error::new(
                code,
                node.position,
                Some(op.to_string()),
                format!("The right side of {op} must be a variable name (start with $)"),
            )),
        }
    }

    /// The expression continued by the infix operator `token` (jsonata-js's `led`).
    fn infix(&mut self, token: Token, left: Node) -> Result<Node, Error> {
        let at = token.position;
        let Kind::Operator(op) = token.kind else {
            return Err(Error::new("S0201", at, Some(describe(&token.kind)), "Syntax error"));
        };
        let kind = match op {
            "." | "+" | "-" | "*" | "/" | "%" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "&" | "and" | "or" | "in"
            | "~>" | ".." => {
                let rhs = self.expression(binding_power(op))?;
                NodeKind::Binary {
                    op,
                    lhs: Box::new(left),
                    rhs: Box::new(rhs),
                }
            }
            ":=" => {
                if !matches!(left.kind, NodeKind::Variable(_)) {
                    return Err(Error::new(
                        "S0212",
                        left.position,
                        None,
                        "The left side of := must be a variable name (start with $)",
                    ));
                }
                // Right-associative.
                let rhs = self.expression(binding_power(op) - 1)?;
                NodeKind::Binary {
                    op,
                    lhs: Box::new(left),
                    rhs: Box::new(rhs),
                }
            }
            "@" | "#" => {
                let rhs = self.expression(binding_power(op))?;
                let variable = Self::variable_name(&rhs, "S0214", op)?;
                if op == "@" {
                    NodeKind::Focus {
                        lhs: Box::new(left),
                        variable,
                    }
                } else {
                    NodeKind::Index {
                        lhs: Box::new(left),
                        variable,
                    }
                }
            }
            "[" => {
                if self.is("]") {
                    // `[]`: keep singleton arrays, marked on the first step of a predicate chain.
                    self.advance(false)?;
                    let mut left = left;
                    mark_keep_array(&mut left);
                    return Ok(left);
                }
                let predicate = self.expression(binding_power("]"))?;
                self.expect("]", false)?;
                NodeKind::Filter {
                    lhs: Box::new(left),
                    predicate: Box::new(predicate),
                }
            }
            "^" => {
                self.expect("(", true)?;
                let mut terms = Vec::new();
                loop {
                    let mut descending = false;
                    if self.is("<") {
                        self.advance(true)?;
                    } else if self.is(">") {
                        descending = true;
                        self.advance(true)?;
                    }
                    terms.push((self.expression(0)?, descending));
                    if !self.is(",") {
                        break;
                    }
                    self.advance(true)?;
                }
                self.expect(")", false)?;
                NodeKind::OrderBy {
                    lhs: Box::new(left),
                    terms,
                }
            }
            "{" => NodeKind::Object {
                lhs: Some(Box::new(left)),
                pairs: self.pairs()?,
            },
            "(" => return self.call(left, at),
            "?" => {
                let then = self.expression(0)?;
                let otherwise = self.optional_after(":")?;
                NodeKind::Condition {
                    condition: Box::new(left),
                    then: Box::new(then),
                    otherwise,
                }
            }
            "?:" => {
                let otherwise = self.expression(0)?;
                NodeKind::Condition {
                    condition: Box::new(left.clone()),
                    then: Box::new(left),
                    otherwise: Some(Box::new(otherwise)),
                }
            }
            "??" => {
                let otherwise = self.expression(0)?;
                let exists = Node::new(
                    NodeKind::Call {
                        procedure: Box::new(Node::new(NodeKind::Variable("exists".into()), at)),
                        arguments: vec![left.clone()],
                        partial: false,
                    },
                    at,
                );
                NodeKind::Condition {
                    condition: Box::new(exists),
                    then: Box::new(left),
                    otherwise: Some(Box::new(otherwise)),
                }
            }
            _ => {
                return Err(Error::new(
                    "S0201",
                    at,
                    Some(op.to_string()),
                    format!("Syntax error: {op:?}"),
                ));
            }
        };
        Ok(Node::new(kind, at))
    }

    /// `left(args)`: a call, a partial application, or (`function`/`λ`) a lambda definition.
    fn call(&mut self, left: Node, at: usize) -> Result<Node, Error> {
        let mut arguments = Vec::new();
        let mut partial = false;
        if !self.is(")") {
            loop {
                if self.is("?") {
                    partial = true;
                    let position = self.token.position;
                    self.advance(false)?;
                    arguments.push(Node::new(NodeKind::Placeholder, position));
                } else {
                    arguments.push(self.expression(0)?);
                }
                if !self.is(",") {
                    break;
                }
                self.advance(true)?;
            }
        }
        self.expect(")", false)?;
        let is_lambda = matches!(&left.kind, NodeKind::Name(n) if n == "function" || n == "λ");
        if !is_lambda {
            return Ok(Node::new(
                NodeKind::Call {
                    procedure: Box::new(left),
                    arguments,
                    partial,
                },
                at,
            ));
        }
        let mut parameters = Vec::new();
        for (i, argument) in arguments.iter().enumerate() {
            match &argument.kind {
                NodeKind::Variable(v) => parameters.push(v.clone()),
                _ => {
                    return Err(Error::new(
                        "S0208",
                        argument.position,
                        Some((i + 1).to_string()),
                        format!(
                            "Parameter {} of function definition must be a variable name (start with $)",
                            i + 1
                        ),
                    ));
                }
            }
        }
        let signature = if self.is("<") {
            // The signature's text up to the matching `>`, re-read token by token.
            let start = self.token.position - 1;
            let mut depth = 1;
            let mut text = String::from("<");
            self.advance(false)?;
            while depth > 0 && !self.is("{") && self.token.kind != Kind::End {
                if self.is(">") {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                } else if self.is("<") {
                    depth += 1;
                }
                text.push_str(&describe(&self.token.kind));
                self.advance(false)?;
            }
            self.expect(">", false)?;
            text.push('>');
            Some(crate::signature::parse(&text, start)?)
        } else {
            None
        };
        self.expect("{", true)?;
        let body = self.expression(0)?;
        self.expect("}", false)?;
        Ok(Node::new(
            NodeKind::Lambda {
                parameters,
                signature,
                body: Box::new(body),
            },
            at,
        ))
    }
}

/// jsonata-js marks the step under a chain of predicates.
fn mark_keep_array(node: &mut Node) {
    match &mut node.kind {
        NodeKind::Filter { lhs, .. } => mark_keep_array(lhs),
        _ => node.keep_array = true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_predicates_and_operators_nest_by_binding_power() {
        let node = parse("Account.Order[0].Product.(Price * Quantity)").unwrap();
        let NodeKind::Binary { op: ".", lhs, .. } = node.kind else {
            panic!("{node:?}")
        };
        assert!(matches!(lhs.kind, NodeKind::Binary { op: ".", .. }));
        assert!(matches!(
            parse("1 + 2 * 3").unwrap().kind,
            NodeKind::Binary { op: "+", .. }
        ));
        assert!(matches!(
            parse("$x := $y := 1").unwrap().kind,
            NodeKind::Binary { op: ":=", .. }
        ));
    }

    #[test]
    fn syntax_errors_carry_jsonata_codes() {
        let code = |src: &str| parse(src).unwrap_err().code;
        assert_eq!(code("\"unterminated"), "S0101");
        assert_eq!(code("1 +"), "S0207");
        assert_eq!(code("(1"), "S0203");
        assert_eq!(code("[1 2]"), "S0202");
        assert_eq!(code("1 := 2"), "S0212");
        assert_eq!(code("function(a){1}"), "S0208");
        assert_eq!(code("/* open"), "S0106");
    }
}
