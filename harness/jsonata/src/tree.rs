//! jsonata-js's `processAST` pass: the parse tree becomes the tree the evaluator walks. Paths become
//! flat step lists, predicates become a step's `stages` (inside a path) or `predicate` (outside),
//! `{…}` after a step becomes its `group`, `@`/`#` become the step's `focus`/`index` bindings, and
//! the checks only this shape can make raise S0209, S0210, S0213, S0215 and S0216.
//!
//! Not yet: the parent operator's ancestry slots (`%`, S0217), resolved by jsonata-js in this pass.

use crate::Error;
use crate::ast::{Node, NodeKind};
use crate::signature::Signature;

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: Kind,
    pub position: usize,
    /// Keep a singleton result an array (`[]` on this step, or on any step of this path).
    pub keep_array: bool,
    /// Predicates on an expression outside a path (`$x[0]`).
    pub predicate: Vec<Expr>,
    /// Predicates and `#` bindings on a path step, in order.
    pub stages: Vec<Stage>,
    /// `step{k: v}`: group-by pairs.
    pub group: Option<Vec<(Expr, Expr)>>,
    /// `step@$v`
    pub focus: Option<String>,
    /// `step#$i`
    pub index: Option<String>,
    /// The step binds `@`/`#` variables, so the path is evaluated over tuples.
    pub tuple: bool,
    /// An array constructor first or last in a path (or a block holding one): it does not flatten.
    pub cons_array: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Filter(Expr),
    Index(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    String(String),
    Number(f64),
    Bool(bool),
    Null,
    Regex {
        pattern: String,
        flags: String,
    },
    /// A field name (only as a path step).
    Name(String),
    Variable(String),
    Wildcard,
    Descendants,
    Parent,
    Path(Vec<Expr>),
    Negate(Box<Expr>),
    /// Arithmetic, comparison, boolean, `&`, `in`, `..`.
    Binary {
        op: &'static str,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `$v := value`
    Bind {
        name: String,
        value: Box<Expr>,
    },
    /// `lhs ~> rhs`
    Apply {
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `^(…)` as a path step: (expression, descending).
    Sort(Vec<(Expr, bool)>),
    Array(Vec<Expr>),
    Object(Vec<(Expr, Expr)>),
    Block(Vec<Expr>),
    Call {
        procedure: Box<Expr>,
        arguments: Vec<Expr>,
        partial: bool,
    },
    Placeholder,
    Lambda {
        parameters: Vec<String>,
        signature: Option<Signature>,
        body: Box<Expr>,
    },
    Condition {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
    Transform {
        pattern: Box<Expr>,
        update: Box<Expr>,
        delete: Option<Box<Expr>>,
    },
}

impl Expr {
    fn new(kind: Kind, position: usize) -> Self {
        Self {
            kind,
            position,
            keep_array: false,
            predicate: Vec::new(),
            stages: Vec::new(),
            group: None,
            focus: None,
            index: None,
            tuple: false,
            cons_array: false,
        }
    }

    fn into_path(self) -> Expr {
        if matches!(self.kind, Kind::Path(_)) {
            return self;
        }
        let position = self.position;
        Expr::new(Kind::Path(vec![self]), position)
    }

    /// Runs `f` on the step a postfix operator applies to: the last step of a path, or the
    /// expression itself.
    fn on_last_step<T>(&mut self, f: impl FnOnce(&mut Expr) -> T) -> T {
        if let Kind::Path(steps) = &mut self.kind
            && let Some(last) = steps.last_mut()
        {
            return f(last);
        }
        f(self)
    }
}

fn boxed(node: &Node) -> Result<Box<Expr>, Error> {
    Ok(Box::new(process(node)?))
}

fn pairs(pairs: &[(Node, Node)]) -> Result<Vec<(Expr, Expr)>, Error> {
    pairs.iter().map(|(k, v)| Ok((process(k)?, process(v)?))).collect()
}

/// The evaluator's tree for a parsed expression.
pub fn process(node: &Node) -> Result<Expr, Error> {
    let at = node.position;
    let mut result = match &node.kind {
        NodeKind::String(s) => Expr::new(Kind::String(s.clone()), at),
        NodeKind::Number(n) => Expr::new(Kind::Number(*n), at),
        NodeKind::Bool(b) => Expr::new(Kind::Bool(*b), at),
        NodeKind::Null => Expr::new(Kind::Null, at),
        NodeKind::Regex { pattern, flags } => Expr::new(
            Kind::Regex {
                pattern: pattern.clone(),
                flags: flags.clone(),
            },
            at,
        ),
        NodeKind::Variable(v) => Expr::new(Kind::Variable(v.clone()), at),
        NodeKind::Wildcard => Expr::new(Kind::Wildcard, at),
        NodeKind::Descendants => Expr::new(Kind::Descendants, at),
        NodeKind::Parent => Expr::new(Kind::Parent, at),
        NodeKind::Placeholder => Expr::new(Kind::Placeholder, at),
        NodeKind::Name(n) => {
            let mut step = Expr::new(Kind::Name(n.clone()), at);
            step.keep_array = node.keep_array;
            let mut path = step.into_path();
            path.keep_array = node.keep_array;
            path
        }
        NodeKind::Negate(inner) => {
            let inner = process(inner)?;
            match inner.kind {
                Kind::Number(n) => Expr::new(Kind::Number(-n), inner.position),
                _ => Expr::new(Kind::Negate(Box::new(inner)), at),
            }
        }
        NodeKind::Binary { op: ".", lhs, rhs } => path(lhs, rhs)?,
        NodeKind::Binary { op: ":=", lhs, rhs } => {
            let NodeKind::Variable(name) = &lhs.kind else {
                return Err(Error::new(
                    "S0212",
                    lhs.position,
                    None,
                    "The left side of := must be a variable name",
                ));
            };
            Expr::new(
                Kind::Bind {
                    name: name.clone(),
                    value: boxed(rhs)?,
                },
                at,
            )
        }
        NodeKind::Binary { op: "~>", lhs, rhs } => {
            let (lhs, rhs) = (process(lhs)?, process(rhs)?);
            let keep = lhs.keep_array || rhs.keep_array;
            let mut apply = Expr::new(
                Kind::Apply {
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                at,
            );
            apply.keep_array = keep;
            apply
        }
        NodeKind::Binary { op, lhs, rhs } => Expr::new(
            Kind::Binary {
                op,
                lhs: boxed(lhs)?,
                rhs: boxed(rhs)?,
            },
            at,
        ),
        NodeKind::Filter { lhs, predicate } => {
            let mut result = process(lhs)?;
            let in_path = matches!(result.kind, Kind::Path(_));
            let predicate = process(predicate)?;
            result.on_last_step(|step| {
                if step.group.is_some() {
                    return Err(Error::new(
                        "S0209",
                        at,
                        None,
                        "A predicate cannot follow a grouping expression in a step",
                    ));
                }
                if in_path {
                    step.stages.push(Stage::Filter(predicate));
                } else {
                    step.predicate.push(predicate);
                }
                Ok(())
            })?;
            result
        }
        NodeKind::Object {
            lhs: Some(lhs),
            pairs: grouping,
        } => {
            let mut result = process(lhs)?;
            if result.group.is_some() {
                return Err(Error::new(
                    "S0210",
                    at,
                    None,
                    "Each step can only have one grouping expression",
                ));
            }
            result.group = Some(pairs(grouping)?);
            result
        }
        NodeKind::Object { lhs: None, pairs: p } => Expr::new(Kind::Object(pairs(p)?), at),
        NodeKind::OrderBy { lhs, terms } => {
            let mut result = process(lhs)?.into_path();
            let terms = terms
                .iter()
                .map(|(t, descending)| Ok((process(t)?, *descending)))
                .collect::<Result<Vec<_>, Error>>()?;
            if let Kind::Path(steps) = &mut result.kind {
                steps.push(Expr::new(Kind::Sort(terms), at));
            }
            result
        }
        NodeKind::Focus { lhs, variable } => {
            let mut result = process(lhs)?;
            result.on_last_step(|step| {
                if !step.stages.is_empty() || !step.predicate.is_empty() {
                    return Err(Error::new(
                        "S0215",
                        at,
                        None,
                        "A context variable binding must precede any predicates on a step",
                    ));
                }
                if matches!(step.kind, Kind::Sort(_)) {
                    return Err(Error::new(
                        "S0216",
                        at,
                        None,
                        "A context variable binding must precede the 'order-by' clause on a step",
                    ));
                }
                step.keep_array |= node.keep_array;
                step.focus = Some(variable.clone());
                step.tuple = true;
                Ok(())
            })?;
            result
        }
        NodeKind::Index { lhs, variable } => {
            let mut result = process(lhs)?;
            if !matches!(result.kind, Kind::Path(_)) {
                let predicate = std::mem::take(&mut result.predicate);
                result.stages.extend(predicate.into_iter().map(Stage::Filter));
                result = result.into_path();
            }
            result.on_last_step(|step| {
                if step.stages.is_empty() {
                    step.index = Some(variable.clone());
                } else {
                    step.stages.push(Stage::Index(variable.clone()));
                }
                step.tuple = true;
            });
            result
        }
        NodeKind::Array(items) => Expr::new(Kind::Array(items.iter().map(process).collect::<Result<_, _>>()?), at),
        NodeKind::Block(items) => {
            let items: Vec<Expr> = items.iter().map(process).collect::<Result<_, _>>()?;
            let cons = items.iter().any(|e| {
                e.cons_array || matches!(&e.kind, Kind::Path(steps) if steps.first().is_some_and(|s| s.cons_array))
            });
            let mut block = Expr::new(Kind::Block(items), at);
            block.cons_array = cons;
            block
        }
        NodeKind::Call {
            procedure,
            arguments,
            partial,
        } => Expr::new(
            Kind::Call {
                procedure: boxed(procedure)?,
                arguments: arguments.iter().map(process).collect::<Result<_, _>>()?,
                partial: *partial,
            },
            at,
        ),
        NodeKind::Lambda {
            parameters,
            signature,
            body,
        } => Expr::new(
            Kind::Lambda {
                parameters: parameters.clone(),
                signature: signature.clone(),
                body: boxed(body)?,
            },
            at,
        ),
        NodeKind::Condition {
            condition,
            then,
            otherwise,
        } => Expr::new(
            Kind::Condition {
                condition: boxed(condition)?,
                then: boxed(then)?,
                otherwise: otherwise.as_deref().map(boxed).transpose()?,
            },
            at,
        ),
        NodeKind::Transform {
            pattern,
            update,
            delete,
        } => Expr::new(
            Kind::Transform {
                pattern: boxed(pattern)?,
                update: boxed(update)?,
                delete: delete.as_deref().map(boxed).transpose()?,
            },
            at,
        ),
    };
    result.keep_array |= node.keep_array;
    Ok(result)
}

/// `lhs.rhs`: one flat list of steps.
fn path(lhs: &Node, rhs: &Node) -> Result<Expr, Error> {
    let mut result = process(lhs)?.into_path();
    let mut rest = process(rhs)?;
    let Kind::Path(steps) = &mut result.kind else {
        unreachable!("into_path makes a path")
    };
    match rest.kind {
        Kind::Path(more) => steps.extend(more),
        _ => {
            // A predicate on a step inside a path is one of its stages.
            let predicate = std::mem::take(&mut rest.predicate);
            rest.stages.extend(predicate.into_iter().map(Stage::Filter));
            steps.push(rest);
        }
    }
    for step in steps.iter_mut() {
        match &step.kind {
            Kind::Number(_) | Kind::Bool(_) | Kind::Null => {
                return Err(Error::new(
                    "S0213",
                    step.position,
                    None,
                    "A literal value cannot be used as a step within a path expression",
                ));
            }
            // A string literal in a path is a field name.
            Kind::String(s) => step.kind = Kind::Name(s.clone()),
            _ => {}
        }
    }
    let keep = steps.iter().any(|s| s.keep_array);
    if let Some(first) = steps.first_mut()
        && matches!(first.kind, Kind::Array(_))
    {
        first.cons_array = true;
    }
    if let Some(last) = steps.last_mut()
        && matches!(last.kind, Kind::Array(_))
    {
        last.cons_array = true;
    }
    result.keep_array |= keep;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(expr: &Expr) -> &[Expr] {
        match &expr.kind {
            Kind::Path(steps) => steps,
            other => panic!("not a path: {other:?}"),
        }
    }

    #[test]
    fn a_path_is_one_flat_list_of_steps_with_its_predicates_as_stages() {
        let expr = crate::compile("Account.Order[0].'Product Name'").unwrap();
        let steps = steps(&expr);
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[1].kind, Kind::Name("Order".into()));
        assert!(matches!(steps[1].stages[..], [Stage::Filter(_)]));
        assert_eq!(steps[2].kind, Kind::Name("Product Name".into()));
        let outside = crate::compile("$x[0]").unwrap();
        assert_eq!(outside.predicate.len(), 1);
    }

    #[test]
    fn bindings_and_groupings_attach_to_the_last_step() {
        let expr = crate::compile("Account.Order@$o#$i.Product{Name: Price}").unwrap();
        let steps = steps(&expr);
        assert_eq!(steps[1].focus.as_deref(), Some("o"));
        assert_eq!(steps[1].index.as_deref(), Some("i"));
        assert!(steps[1].tuple);
        assert!(expr.group.is_some());
    }
}
