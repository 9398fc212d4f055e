//! What an expression reads, found in its tree without evaluating it: what a host checks before it
//! runs an expression (a Step Functions JSONata state has no context value, and each field of a
//! state may read only some `$states` fields). `Expression`'s methods are the public face.

use std::fmt;

use crate::tree::{Expr, Kind};

/// Something an expression reads from its context value (the input it is evaluated against) at its
/// top level. It prints as written in the expression: the field name, `$`, `$$`, `*`, `**`, `%`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContextReference {
    /// A field of the context value: `Account` in `Account.Order`, or a bare `x`.
    Field(String),
    /// `$`: the context value itself.
    Context,
    /// `$$`: the root of the input.
    Root,
    /// `*`: every field of the context value.
    Wildcard,
    /// `**`: the context value and everything below it.
    Descendants,
    /// `%`: the parent of the context value.
    Parent,
}

impl fmt::Display for ContextReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Field(name) => name,
            Self::Context => "$",
            Self::Root => "$$",
            Self::Wildcard => "*",
            Self::Descendants => "**",
            Self::Parent => "%",
        })
    }
}

/// Adds to `out` (each once) what `expr` reads from the context value at its top level. Inside a
/// path after its first step, a predicate or a function body, the context is something the
/// expression made, so anything there goes.
pub(crate) fn top_level_references(expr: &Expr, out: &mut Vec<ContextReference>) {
    let mut note = |reference: ContextReference| {
        if !out.contains(&reference) {
            out.push(reference);
        }
    };
    match &expr.kind {
        Kind::Path(steps) => {
            if let Some(first) = steps.first() {
                match &first.kind {
                    Kind::Name(n) => note(ContextReference::Field(n.clone())),
                    Kind::Wildcard => note(ContextReference::Wildcard),
                    Kind::Descendants => note(ContextReference::Descendants),
                    _ => top_level_references(first, out),
                }
            }
            return;
        }
        Kind::Name(n) => note(ContextReference::Field(n.clone())),
        Kind::Variable(v) if v.is_empty() => note(ContextReference::Context),
        Kind::Variable(v) if v == "$" => note(ContextReference::Root),
        Kind::Wildcard => note(ContextReference::Wildcard),
        Kind::Descendants => note(ContextReference::Descendants),
        Kind::Parent { .. } => note(ContextReference::Parent),
        _ => {}
    }
    match &expr.kind {
        Kind::Negate(e) | Kind::Bind { value: e, .. } => top_level_references(e, out),
        Kind::Binary { lhs, rhs, .. } | Kind::Apply { lhs, rhs } => {
            top_level_references(lhs, out);
            top_level_references(rhs, out);
        }
        Kind::Array(items) | Kind::Block(items) => items.iter().for_each(|e| top_level_references(e, out)),
        Kind::Object(pairs) => pairs.iter().for_each(|(k, v)| {
            top_level_references(k, out);
            top_level_references(v, out);
        }),
        Kind::Call {
            procedure, arguments, ..
        } => {
            top_level_references(procedure, out);
            arguments.iter().for_each(|e| top_level_references(e, out));
        }
        Kind::Condition {
            condition,
            then,
            otherwise,
        } => {
            top_level_references(condition, out);
            top_level_references(then, out);
            if let Some(e) = otherwise {
                top_level_references(e, out);
            }
        }
        _ => {}
    }
}

/// The `$variable.<field>` names `expr` reads anywhere in it, each once.
pub(crate) fn fields_of(expr: &Expr, variable: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    expr.walk(&mut |e| {
        if let Kind::Path(steps) = &e.kind
            && let [first, second, ..] = steps.as_slice()
            && matches!(&first.kind, Kind::Variable(v) if v == variable)
            && let Kind::Name(field) = &second.kind
            && !out.contains(field)
        {
            out.push(field.clone());
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::ContextReference::{self, *};
    use crate::Expression;

    fn references(source: &str) -> Vec<ContextReference> {
        Expression::new(source).unwrap().top_level_references()
    }

    fn fields(source: &str, variable: &str) -> Vec<String> {
        Expression::new(source).unwrap().fields_of(variable)
    }

    #[test]
    fn top_level_references_are_what_the_context_value_gives() {
        assert_eq!(references("$states.input.a + $x"), vec![]);
        assert_eq!(references("a.b + c"), vec![Field("a".into()), Field("c".into())]);
        assert_eq!(references("$ & $$ & $"), vec![Context, Root]);
        assert_eq!(references("[*, **.x]"), vec![Wildcard, Descendants]);
        assert_eq!(
            references("$count(a) > 0 ? b : c"),
            vec![Field("a".into()), Field("b".into()), Field("c".into())]
        );
        assert_eq!(references("{'k': v}"), vec![Field("v".into())]);
        // Inside a path after its first step, a predicate or a function, anything goes.
        assert_eq!(references("$x.a[b = 1]"), vec![]);
        assert_eq!(references("$map($x, function($v) { $v.a + b })"), vec![]);
        assert_eq!(references("($y := a; $y)"), vec![Field("a".into())]);
    }

    #[test]
    fn references_print_as_written() {
        let printed: Vec<String> = [Field("Order".into()), Context, Root, Wildcard, Descendants, Parent]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(printed, ["Order", "$", "$$", "*", "**", "%"]);
    }

    #[test]
    fn fields_of_a_variable() {
        let source = "$states.input.a & $states.context.b & $states.input.c & $other.result";
        assert_eq!(fields(source, "states"), ["input", "context"]);
        assert_eq!(fields(source, "other"), ["result"]);
        assert_eq!(fields("$states", "states"), Vec::<String>::new());
        assert_eq!(
            fields("$map([1], function($v) { $states.errorOutput })", "states"),
            ["errorOutput"]
        );
    }
}
