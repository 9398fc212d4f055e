//! The parse tree, as jsonata-js's parser builds it before its `processAST` pass: paths are still
//! nested `.` operators, predicates nested `[` operators. The evaluator's own pass flattens them.

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// The character position just after the node's token.
    pub position: usize,
    /// A `[]` followed this step: a singleton result stays an array.
    pub keep_array: bool,
}

/// A literal value, the same in the parse tree and in the evaluator's tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
    Regex { pattern: String, flags: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Literal(Literal),
    Name(String),
    Variable(String),
    /// `*`
    Wildcard,
    /// `**`
    Descendants,
    /// `%`
    Parent,
    /// `-expr`
    Negate(Box<Node>),
    /// `op` is one of `. + - * / % = != < <= > >= & and or in .. := ~>`.
    Binary {
        op: &'static str,
        lhs: Box<Node>,
        rhs: Box<Node>,
    },
    /// `lhs[predicate]`
    Filter {
        lhs: Box<Node>,
        predicate: Box<Node>,
    },
    /// `lhs^(<a, >b)`: (expression, descending)
    OrderBy {
        lhs: Box<Node>,
        terms: Vec<(Node, bool)>,
    },
    /// `lhs@$v`
    Focus {
        lhs: Box<Node>,
        variable: String,
    },
    /// `lhs#$i`
    Index {
        lhs: Box<Node>,
        variable: String,
    },
    /// `lhs{k: v}` (group-by) or `{k: v}` (an object) when `lhs` is None.
    Object {
        lhs: Option<Box<Node>>,
        pairs: Vec<(Node, Node)>,
    },
    /// `[a, b..c]`
    Array(Vec<Node>),
    /// `(a; b)`
    Block(Vec<Node>),
    /// `f(args)`; `partial` when an argument is the `?` placeholder.
    Call {
        procedure: Box<Node>,
        arguments: Vec<Node>,
        partial: bool,
    },
    /// `?` in a partial application's arguments.
    Placeholder,
    /// `function($a, $b)<sig>{ body }`
    Lambda {
        parameters: Vec<String>,
        signature: Option<crate::signature::Signature>,
        body: Box<Node>,
    },
    /// `c ? a : b`, and `a ?: b`, `a ?? b` as jsonata-js rewrites them.
    Condition {
        condition: Box<Node>,
        then: Box<Node>,
        otherwise: Option<Box<Node>>,
    },
    /// `| pattern | update, delete |`
    Transform {
        pattern: Box<Node>,
        update: Box<Node>,
        delete: Option<Box<Node>>,
    },
}

impl Node {
    pub fn new(kind: NodeKind, position: usize) -> Self {
        Self {
            kind,
            position,
            keep_array: false,
        }
    }
}
