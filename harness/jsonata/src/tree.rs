//! jsonata-js's `processAST` pass: the parse tree becomes the tree the evaluator walks. Paths become
//! flat step lists, predicates become a step's `stages` (inside a path) or `predicate` (outside),
//! `{…}` after a step becomes its `group`, `@`/`#` become the step's `focus`/`index` bindings, and
//! the checks only this shape can make raise S0209, S0210, S0213, S0215 and S0216.
//!
//! The parent operator is resolved here too: each `%` opens a slot labelled `!n`, and the step it
//! refers to (so many steps up) is marked with that label as its `ancestor` (S0217 where there is none).

use std::sync::Arc;

use crate::Error;
use crate::ast::{Literal, Node, NodeKind};
use crate::pattern::Pattern;
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
    /// The label (`!n`) under which this step's input is kept for a `%` below it.
    pub ancestor: Option<String>,
    ancestor_slot: Option<usize>,
    /// Slots of `%`s inside this expression still looking for their step.
    seeking_parent: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Filter(Box<Expr>),
    Index(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A string, number, boolean or null literal.
    Literal(Literal),
    /// A regular expression literal, compiled.
    Regex(Pattern),
    /// A field name (only as a path step).
    Name(String),
    Variable(String),
    Wildcard,
    Descendants,
    /// `%`: the input kept under `label` by the step it resolved to.
    Parent {
        label: String,
        slot: usize,
    },
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
    /// A function definition; its body is shared with the closures it makes.
    Lambda {
        parameters: Vec<String>,
        signature: Option<Signature>,
        body: Arc<Expr>,
    },
    Condition {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Option<Box<Expr>>,
    },
    /// `| pattern | update, delete |`; shared with the transformer functions it makes.
    Transform {
        pattern: Arc<Expr>,
        update: Arc<Expr>,
        delete: Option<Arc<Expr>>,
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
            ancestor: None,
            ancestor_slot: None,
            seeking_parent: Vec::new(),
        }
    }

    /// Calls `f` on this expression and every expression inside it.
    pub fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        let children: Vec<&Expr> = match &self.kind {
            Kind::Path(items) | Kind::Array(items) | Kind::Block(items) => items.iter().collect(),
            Kind::Negate(e) | Kind::Bind { value: e, .. } => vec![&**e],
            Kind::Binary { lhs, rhs, .. } | Kind::Apply { lhs, rhs } => vec![&**lhs, &**rhs],
            Kind::Sort(terms) => terms.iter().map(|(e, _)| e).collect(),
            Kind::Object(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
            Kind::Call {
                procedure, arguments, ..
            } => std::iter::once(&**procedure).chain(arguments.iter()).collect(),
            Kind::Lambda { body, .. } => vec![&**body],
            Kind::Condition {
                condition,
                then,
                otherwise,
            } => [Some(&**condition), Some(&**then), otherwise.as_deref()]
                .into_iter()
                .flatten()
                .collect(),
            Kind::Transform {
                pattern,
                update,
                delete,
            } => [Some(&**pattern), Some(&**update), delete.as_deref()]
                .into_iter()
                .flatten()
                .collect(),
            _ => Vec::new(),
        };
        for child in children
            .into_iter()
            .chain(self.predicate.iter())
            .chain(self.stages.iter().filter_map(|s| match s {
                Stage::Filter(e) => Some(&**e),
                Stage::Index(_) => None,
            }))
            .chain(self.group.iter().flatten().flat_map(|(k, v)| [k, v]))
        {
            child.walk(f);
        }
    }

    /// Every expression directly inside this one.
    fn children_mut(&mut self) -> Vec<&mut Expr> {
        let mut out: Vec<&mut Expr> = Vec::new();
        match &mut self.kind {
            Kind::Path(items) | Kind::Array(items) | Kind::Block(items) => out.extend(items.iter_mut()),
            Kind::Negate(e) | Kind::Bind { value: e, .. } => out.push(e),
            Kind::Binary { lhs, rhs, .. } | Kind::Apply { lhs, rhs } => {
                out.push(lhs);
                out.push(rhs);
            }
            Kind::Sort(terms) => out.extend(terms.iter_mut().map(|(e, _)| e)),
            Kind::Object(pairs) => out.extend(pairs.iter_mut().flat_map(|(k, v)| [k, v])),
            Kind::Call {
                procedure, arguments, ..
            } => {
                out.push(procedure);
                out.extend(arguments.iter_mut());
            }
            Kind::Lambda { body, .. } => out.extend(Arc::get_mut(body)),
            Kind::Condition {
                condition,
                then,
                otherwise,
            } => {
                out.push(condition);
                out.push(then);
                out.extend(otherwise.as_deref_mut());
            }
            Kind::Transform {
                pattern,
                update,
                delete,
            } => {
                out.extend(Arc::get_mut(pattern));
                out.extend(Arc::get_mut(update));
                out.extend(delete.as_mut().and_then(Arc::get_mut));
            }
            _ => {}
        }
        out.extend(self.predicate.iter_mut());
        out.extend(self.stages.iter_mut().filter_map(|s| match s {
            Stage::Filter(e) => Some(&mut **e),
            Stage::Index(_) => None,
        }));
        if let Some(group) = &mut self.group {
            out.extend(group.iter_mut().flat_map(|(k, v)| [k, v]));
        }
        out
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

/// The pass's state: the parent operator's slots, shared by the `%` that opens one and the steps
/// that resolve it (jsonata-js mutates one slot object from several places).
#[derive(Default)]
struct Processor {
    slots: Vec<Slot>,
}

#[derive(Debug, Clone)]
struct Slot {
    label: usize,
    /// How many steps up the parent still is.
    level: i32,
}

/// The evaluator's tree for a parsed expression.
pub fn process(node: &Node) -> Result<Expr, Error> {
    let mut processor = Processor::default();
    let mut expr = processor.process(node)?;
    if !expr.seeking_parent.is_empty() || matches!(expr.kind, Kind::Parent { .. }) {
        return Err(Error::new(
            "S0217",
            expr.position,
            None,
            "The object representing the 'parent' cannot be derived from this expression",
        ));
    }
    processor.label(&mut expr);
    Ok(expr)
}

/// jsonata-js's `pushAncestry`: `value`'s unresolved parents become `result`'s.
fn push_ancestry(result: &mut Expr, value: &Expr) {
    push_ancestry_into(&mut result.seeking_parent, value);
}

fn push_ancestry_into(sought: &mut Vec<usize>, value: &Expr) {
    sought.extend(value.seeking_parent.iter().copied());
    if let Kind::Parent { slot, .. } = value.kind {
        sought.push(slot);
    }
}

/// The unresolved parents of a fresh operator, constructor, block, call or condition are those of
/// its operands (a call's arguments, not its procedure), as jsonata-js pushes them.
fn gather_ancestry(expr: &mut Expr) {
    let mut sought = Vec::new();
    match &mut expr.kind {
        Kind::Call { arguments, .. } => arguments.iter().for_each(|a| push_ancestry_into(&mut sought, a)),
        Kind::Negate(_)
        | Kind::Binary { .. }
        | Kind::Bind { .. }
        | Kind::Array(_)
        | Kind::Object(_)
        | Kind::Block(_)
        | Kind::Condition { .. } => {
            for child in expr.children_mut() {
                push_ancestry_into(&mut sought, child);
            }
        }
        _ => return,
    }
    expr.seeking_parent.extend(sought);
}

impl Processor {
    /// Writes each slot's final label into the `%`s and the steps they resolved to.
    fn label(&self, expr: &mut Expr) {
        let name = |slot: usize| format!("!{}", self.slots[slot].label);
        if let Kind::Parent { label, slot } = &mut expr.kind {
            *label = name(*slot);
        }
        expr.ancestor = expr.ancestor_slot.map(name);
        for child in expr.children_mut() {
            self.label(child);
        }
    }

    /// jsonata-js's `seekParent`: walks `slot` up from `node` towards the step it names.
    fn seek_parent(&mut self, node: &mut Expr, slot: usize) -> Result<(), Error> {
        match &mut node.kind {
            Kind::Name(_) | Kind::Wildcard => {
                self.slots[slot].level -= 1;
                if self.slots[slot].level == 0 {
                    if let Some(existing) = node.ancestor_slot {
                        // The step already keeps its input for another `%`: share that label.
                        self.slots[slot].label = self.slots[existing].label;
                    }
                    node.ancestor_slot = Some(slot);
                    node.tuple = true;
                }
            }
            Kind::Parent { .. } => self.slots[slot].level += 1,
            Kind::Block(items) => {
                if let Some(last) = items.last_mut() {
                    self.seek_parent(last, slot)?;
                    node.tuple = true;
                }
            }
            Kind::Path(steps) => {
                let mut index = steps.len();
                while index > 0 {
                    index -= 1;
                    self.seek_parent(&mut steps[index], slot)?;
                    if self.slots[slot].level <= 0 {
                        break;
                    }
                }
                node.tuple = true;
            }
            _ => {
                return Err(Error::new(
                    "S0217",
                    node.position,
                    None,
                    "The object representing the 'parent' cannot be derived from this expression",
                ));
            }
        }
        Ok(())
    }

    /// jsonata-js's `resolveAncestry`: the parents the path's last step seeks, resolved against
    /// the steps before it; those that reach above the path's start stay sought by the path.
    fn resolve_ancestry(&mut self, path: &mut Expr) -> Result<(), Error> {
        let Kind::Path(steps) = &mut path.kind else {
            return Ok(());
        };
        let Some(last) = steps.last() else { return Ok(()) };
        let mut sought = last.seeking_parent.clone();
        if let Kind::Parent { slot, .. } = last.kind {
            sought.push(slot);
        }
        let mut escaped = Vec::new();
        for slot in sought {
            // Steps before the last one, nearest first.
            let mut index = steps.len() as isize - 2;
            while self.slots[slot].level > 0 {
                if index < 0 {
                    escaped.push(slot);
                    break;
                }
                let mut step = index as usize;
                index -= 1;
                // Contiguous steps that bind the focus count as one.
                while index >= 0 && steps[step].focus.is_some() && steps[index as usize].focus.is_some() {
                    step = index as usize;
                    index -= 1;
                }
                self.seek_parent(&mut steps[step], slot)?;
            }
        }
        path.seeking_parent.extend(escaped);
        Ok(())
    }
    fn boxed(&mut self, node: &Node) -> Result<Box<Expr>, Error> {
        Ok(Box::new(self.process(node)?))
    }

    fn pairs(&mut self, pairs: &[(Node, Node)]) -> Result<Vec<(Expr, Expr)>, Error> {
        pairs
            .iter()
            .map(|(k, v)| Ok((self.process(k)?, self.process(v)?)))
            .collect()
    }

    /// The evaluator's tree for a parsed expression.
    fn process(&mut self, node: &Node) -> Result<Expr, Error> {
        let at = node.position;
        let mut result = match &node.kind {
            NodeKind::Literal(Literal::Regex { pattern, flags }) => {
                let compiled = Pattern::new(pattern, flags).map_err(|message| {
                    Error::new(
                        "S0303",
                        at,
                        Some(pattern.clone()),
                        format!("Invalid regular expression /{pattern}/: {message}"),
                    )
                })?;
                Expr::new(Kind::Regex(compiled), at)
            }
            NodeKind::Literal(literal) => Expr::new(Kind::Literal(literal.clone()), at),
            NodeKind::Variable(v) => Expr::new(Kind::Variable(v.clone()), at),
            NodeKind::Wildcard => Expr::new(Kind::Wildcard, at),
            NodeKind::Descendants => Expr::new(Kind::Descendants, at),
            NodeKind::Parent => {
                let slot = self.slots.len();
                self.slots.push(Slot { label: slot, level: 1 });
                Expr::new(
                    Kind::Parent {
                        label: String::new(),
                        slot,
                    },
                    at,
                )
            }
            NodeKind::Placeholder => Expr::new(Kind::Placeholder, at),
            NodeKind::Name(n) => {
                let mut step = Expr::new(Kind::Name(n.clone()), at);
                step.keep_array = node.keep_array;
                let mut path = step.into_path();
                path.keep_array = node.keep_array;
                path
            }
            NodeKind::Negate(inner) => {
                let inner = self.process(inner)?;
                match inner.kind {
                    Kind::Literal(Literal::Number(n)) => Expr::new(Kind::Literal(Literal::Number(-n)), inner.position),
                    _ => Expr::new(Kind::Negate(Box::new(inner)), at),
                }
            }
            NodeKind::Binary { op: ".", lhs, rhs } => self.path(lhs, rhs)?,
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
                        value: self.boxed(rhs)?,
                    },
                    at,
                )
            }
            NodeKind::Binary { op: "~>", lhs, rhs } => {
                let (lhs, rhs) = (self.process(lhs)?, self.process(rhs)?);
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
                    lhs: self.boxed(lhs)?,
                    rhs: self.boxed(rhs)?,
                },
                at,
            ),
            NodeKind::Filter { lhs, predicate } => {
                let mut result = self.process(lhs)?;
                let in_path = matches!(result.kind, Kind::Path(_));
                let predicate = self.process(predicate)?;
                result.on_last_step(|step| {
                    if step.group.is_some() {
                        return Err(Error::new(
                            "S0209",
                            at,
                            None,
                            "A predicate cannot follow a grouping expression in a step",
                        ));
                    }
                    // A `%` in the predicate one level up is the filtered step's own input.
                    if !predicate.seeking_parent.is_empty() {
                        for &slot in &predicate.seeking_parent {
                            if self.slots[slot].level == 1 {
                                self.seek_parent(step, slot)?;
                            } else {
                                self.slots[slot].level -= 1;
                            }
                        }
                        push_ancestry(step, &predicate);
                    }
                    if in_path {
                        step.stages.push(Stage::Filter(Box::new(predicate)));
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
                let mut result = self.process(lhs)?;
                if result.group.is_some() {
                    return Err(Error::new(
                        "S0210",
                        at,
                        None,
                        "Each step can only have one grouping expression",
                    ));
                }
                result.group = Some(self.pairs(grouping)?);
                result
            }
            NodeKind::Object { lhs: None, pairs: p } => Expr::new(Kind::Object(self.pairs(p)?), at),
            NodeKind::OrderBy { lhs, terms } => {
                let mut result = self.process(lhs)?.into_path();
                let terms = terms
                    .iter()
                    .map(|(t, descending)| Ok((self.process(t)?, *descending)))
                    .collect::<Result<Vec<_>, Error>>()?;
                let mut sort = Expr::new(Kind::Sort(Vec::new()), at);
                for (term, _) in &terms {
                    push_ancestry(&mut sort, term);
                }
                sort.kind = Kind::Sort(terms);
                if let Kind::Path(steps) = &mut result.kind {
                    steps.push(sort);
                }
                self.resolve_ancestry(&mut result)?;
                result
            }
            NodeKind::Focus { lhs, variable } => {
                let mut result = self.process(lhs)?;
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
                let mut result = self.process(lhs)?;
                if !matches!(result.kind, Kind::Path(_)) {
                    let predicate = std::mem::take(&mut result.predicate);
                    result
                        .stages
                        .extend(predicate.into_iter().map(|p| Stage::Filter(Box::new(p))));
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
            NodeKind::Array(items) => Expr::new(
                Kind::Array(items.iter().map(|n| self.process(n)).collect::<Result<_, _>>()?),
                at,
            ),
            NodeKind::Block(items) => {
                let items: Vec<Expr> = items.iter().map(|n| self.process(n)).collect::<Result<_, _>>()?;
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
                    procedure: self.boxed(procedure)?,
                    arguments: arguments.iter().map(|n| self.process(n)).collect::<Result<_, _>>()?,
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
                    body: Arc::new(self.process(body)?),
                },
                at,
            ),
            NodeKind::Condition {
                condition,
                then,
                otherwise,
            } => Expr::new(
                Kind::Condition {
                    condition: self.boxed(condition)?,
                    then: self.boxed(then)?,
                    otherwise: otherwise.as_deref().map(|n| self.boxed(n)).transpose()?,
                },
                at,
            ),
            NodeKind::Transform {
                pattern,
                update,
                delete,
            } => Expr::new(
                Kind::Transform {
                    pattern: Arc::new(self.process(pattern)?),
                    update: Arc::new(self.process(update)?),
                    delete: delete.as_deref().map(|n| self.process(n).map(Arc::new)).transpose()?,
                },
                at,
            ),
        };
        result.keep_array |= node.keep_array;
        // Only a node made here gathers its operands' parents; the postfix forms return their
        // operand, whose parents are gathered already.
        let fresh = match &node.kind {
            NodeKind::Binary { op, .. } => !matches!(*op, "." | "~>"),
            NodeKind::Negate(_)
            | NodeKind::Array(_)
            | NodeKind::Block(_)
            | NodeKind::Call { .. }
            | NodeKind::Condition { .. } => true,
            NodeKind::Object { lhs, .. } => lhs.is_none(),
            _ => false,
        };
        if fresh {
            gather_ancestry(&mut result);
        }
        Ok(result)
    }

    /// `lhs.rhs`: one flat list of steps.
    fn path(&mut self, lhs: &Node, rhs: &Node) -> Result<Expr, Error> {
        let first = self.process(lhs)?;
        let parent = match first.kind {
            Kind::Parent { slot, .. } => Some(slot),
            _ => None,
        };
        let mut result = first.into_path();
        result.seeking_parent.extend(parent);
        let mut rest = self.process(rhs)?;
        let Kind::Path(steps) = &mut result.kind else {
            unreachable!("into_path makes a path")
        };
        match rest.kind {
            Kind::Path(more) => steps.extend(more),
            _ => {
                // A predicate on a step inside a path is one of its stages.
                let predicate = std::mem::take(&mut rest.predicate);
                rest.stages
                    .extend(predicate.into_iter().map(|p| Stage::Filter(Box::new(p))));
                steps.push(rest);
            }
        }
        for step in steps.iter_mut() {
            match &step.kind {
                Kind::Literal(Literal::Number(_) | Literal::Bool(_) | Literal::Null) => {
                    return Err(Error::new(
                        "S0213",
                        step.position,
                        None,
                        "A literal value cannot be used as a step within a path expression",
                    ));
                }
                // A string literal in a path is a field name.
                Kind::Literal(Literal::String(s)) => step.kind = Kind::Name(s.clone()),
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
        self.resolve_ancestry(&mut result)?;
        Ok(result)
    }
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
    fn a_parent_resolves_to_the_step_whose_input_it_names() {
        let expr = crate::compile("Account.Order.Product.%.OrderID").unwrap();
        let steps = steps(&expr);
        let Kind::Parent { label, .. } = &steps[3].kind else {
            panic!("{:?}", steps[3])
        };
        // `%` after Product is the Order it came from: the Product step keeps its input under the label.
        assert_eq!(steps[2].ancestor.as_ref(), Some(label));
        assert!(steps[2].tuple);
        assert_eq!(steps[1].ancestor, None);
        assert_eq!(crate::compile("%").unwrap_err().code, "S0217");
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
