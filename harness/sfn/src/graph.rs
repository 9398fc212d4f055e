//! A state machine as a picture: an SVG of its states and transitions, drawn from the parsed
//! definition (JSONPath or JSONata alike), optionally with an execution's path over it.
//!
//! The layout is layered: each state sits one layer below the deepest state that leads to it
//! (transitions back up — loops, retries of a Choice — are drawn as arcs on the side); Map and
//! Parallel states are boxes that hold their item processor or branches, laid out the same way.
//! Start and end are the circles the AWS console draws. Every state is a `<g class="state"
//! data-state="Name">` and every transition a `<g class="edge" data-from="A" data-to="B"
//! data-kind="next|choice|default|catch">`, so a test (or a stylesheet) can find them; an
//! execution's states and transitions get the class `visited`/`taken`, retries a count on their
//! state, the state it failed in `failed`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::history::Event;
use crate::markup::escape_markup;
use crate::model::{Kind, StateMachine};

/// What an execution did on the machine: the states it entered, the transitions it took, how many
/// times each state retried, where it failed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Path {
    pub visited: BTreeSet<String>,
    pub taken: BTreeSet<(String, String)>,
    pub retries: BTreeMap<String, u32>,
    pub failed: Option<String>,
}

impl Path {
    /// The path an execution's history records: `…StateEntered` events, the state each one
    /// follows (its `…StateExited` just before), the task attempts after each entry (the
    /// retries are those beyond the first) and the last state entered when it failed.
    pub fn from_history(events: &[Event]) -> Path {
        let mut path = Path::default();
        let mut current: Option<String> = None;
        let mut exited: Option<String> = None;
        let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
        for event in events {
            if let Some(name) = event.entered_state() {
                let name = name.to_string();
                if let Some(from) = exited.take() {
                    path.taken.insert((from, name.clone()));
                } else if current.is_none() {
                    path.taken.insert((START.to_string(), name.clone()));
                }
                path.visited.insert(name.clone());
                current = Some(name);
            } else if let Some(name) = event.exited_state() {
                exited = Some(name.to_string());
            } else if event.kind.is_scheduled() {
                if let Some(state) = &current {
                    *attempts.entry(state.clone()).or_default() += 1;
                }
            } else if let Some(succeeded) = event.kind.execution_ended() {
                if succeeded {
                    if let Some(last) = exited.take().or(current.clone()) {
                        path.taken.insert((last, END.to_string()));
                    }
                } else {
                    path.failed = current.clone();
                }
            }
        }
        path.retries = attempts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(state, n)| (state, n - 1))
            .collect();
        path
    }
}

const START: &str = "Start";
const END: &str = "End";

const FONT: f64 = 12.0;
const CHAR: f64 = 7.0;
const NODE_H: f64 = 34.0;
const GAP_X: f64 = 28.0;
const GAP_Y: f64 = 46.0;
const PAD: f64 = 14.0;
const HEADER: f64 = 26.0;
const CIRCLE: f64 = 12.0;
const RETRY_ROOM: f64 = 96.0;
/// Room beside the machine for edge labels (left) and for the arcs of loops (right).
const MARGIN_LEFT: f64 = 120.0;
const MARGIN_RIGHT: f64 = 170.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EdgeKind {
    Next,
    Choice,
    Default,
    Catch,
}

impl EdgeKind {
    fn name(self) -> &'static str {
        match self {
            EdgeKind::Next => "next",
            EdgeKind::Choice => "choice",
            EdgeKind::Default => "default",
            EdgeKind::Catch => "catch",
        }
    }
}

struct Edge {
    from: String,
    to: String,
    kind: EdgeKind,
    label: String,
}

/// One machine laid out: its boxes (relative to its own origin) and its size.
struct Layout {
    width: f64,
    height: f64,
    nodes: Vec<Node>,
    edges: Vec<Edge>,
}

struct Node {
    name: String,
    /// The state's type, or `start`/`end`.
    kind: &'static str,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    /// The machines inside a Map or Parallel, with their offsets in this box.
    inner: Vec<(f64, f64, Layout)>,
    retry_label: Option<String>,
}

impl Node {
    fn bottom(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y + self.h)
    }

    fn top(&self) -> (f64, f64) {
        (self.x + self.w / 2.0, self.y)
    }
}

fn edges_of(machine: &StateMachine) -> Vec<Edge> {
    let mut edges = vec![Edge {
        from: START.into(),
        to: machine.start_at.clone(),
        kind: EdgeKind::Next,
        label: String::new(),
    }];
    for (name, state) in &machine.states {
        let mut add = |to: &str, kind, label: String| {
            edges.push(Edge {
                from: name.clone(),
                to: to.to_string(),
                kind,
                label,
            })
        };
        match (&state.kind, &state.next) {
            (Kind::Choice { choices, default }, _) => {
                for (i, branch) in choices.iter().enumerate() {
                    add(
                        &branch.next,
                        EdgeKind::Choice,
                        format!("{}: {}", i + 1, branch.rule.summary()),
                    );
                }
                if let Some(default) = default {
                    add(default, EdgeKind::Default, "Default".into());
                }
            }
            (_, Some(next)) => add(next, EdgeKind::Next, String::new()),
            (_, None) => add(END, EdgeKind::Next, String::new()),
        }
        for catcher in &state.catch {
            add(
                &catcher.next,
                EdgeKind::Catch,
                format!("Catch {}", catcher.error_equals.join(", ")),
            );
        }
    }
    edges
}

/// Layers: each state one below the deepest state leading to it, ignoring transitions that close
/// a loop (found by a depth-first walk from the start).
fn layers(machine: &StateMachine, edges: &[Edge]) -> BTreeMap<String, usize> {
    let mut successors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in edges {
        successors.entry(e.from.as_str()).or_default().push(e.to.as_str());
    }
    // Depth-first order from the start; an edge to a state still on the stack closes a loop.
    let mut back: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut on_stack: BTreeSet<&str> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<(&str, usize)> = vec![(START, 0)];
    on_stack.insert(START);
    while let Some((node, i)) = stack.pop() {
        let next = successors.get(node).and_then(|s| s.get(i)).copied();
        match next {
            Some(to) => {
                stack.push((node, i + 1));
                if on_stack.contains(to) {
                    back.insert((node, to));
                } else if !done.contains(to) {
                    on_stack.insert(to);
                    stack.push((to, 0));
                }
            }
            None => {
                on_stack.remove(node);
                done.insert(node);
            }
        }
    }
    // Longest path over the forward edges (at most one pass per state: the graph is acyclic now).
    let mut layer: BTreeMap<String, usize> = BTreeMap::new();
    layer.insert(START.into(), 0);
    let count = machine.states.len() + 2;
    for _ in 0..count {
        let mut changed = false;
        for e in edges {
            if back.contains(&(e.from.as_str(), e.to.as_str())) {
                continue;
            }
            if let Some(&from) = layer.get(&e.from) {
                let at = layer.entry(e.to.clone()).or_insert(0);
                if *at < from + 1 {
                    *at = from + 1;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    // States nothing reaches (a broken definition is refused earlier; be safe) go below.
    let deepest = layer.values().copied().max().unwrap_or(0);
    for name in machine.states.keys() {
        layer.entry(name.clone()).or_insert(deepest + 1);
    }
    // End sits below everything.
    let deepest = layer
        .iter()
        .filter(|(n, _)| n.as_str() != END)
        .map(|(_, l)| *l)
        .max()
        .unwrap_or(0);
    layer.insert(END.into(), deepest + 1);
    layer
}

fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR
}

fn layout(machine: &StateMachine, path: &Path) -> Layout {
    let edges = edges_of(machine);
    let layer_of = layers(machine, &edges);
    // Nodes with their sizes.
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    for name in [START, END] {
        nodes.insert(
            name.into(),
            Node {
                name: name.into(),
                kind: if name == START { "start" } else { "end" },
                x: 0.0,
                y: 0.0,
                w: CIRCLE * 2.0,
                h: CIRCLE * 2.0,
                inner: Vec::new(),
                retry_label: None,
            },
        );
    }
    for (name, state) in &machine.states {
        let inner_machines: Vec<&StateMachine> = match &state.kind {
            Kind::Map { processor, .. } => vec![processor],
            Kind::Parallel { branches } => branches.iter().collect(),
            _ => Vec::new(),
        };
        let mut inner = Vec::new();
        let (mut w, mut h) = (text_width(name) + 2.0 * PAD, NODE_H);
        if !inner_machines.is_empty() {
            let mut x = PAD;
            let mut tallest: f64 = 0.0;
            for m in inner_machines {
                let l = layout(m, path);
                tallest = tallest.max(l.height);
                let width = l.width;
                inner.push((x, HEADER, l));
                x += width + PAD;
            }
            w = w.max(x);
            h = HEADER + tallest + PAD;
        }
        let retry_label = path.retries.get(name).map(|n| format!("retried ×{n}"));
        nodes.insert(
            name.clone(),
            Node {
                name: name.clone(),
                kind: state.kind.type_name(),
                x: 0.0,
                y: 0.0,
                w,
                h,
                inner,
                retry_label,
            },
        );
    }
    // Rows: each layer's nodes in the order states are first reached.
    let deepest = layer_of.values().copied().max().unwrap_or(0);
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); deepest + 1];
    let mut seen = BTreeSet::new();
    for name in std::iter::once(START.to_string())
        .chain(edges.iter().map(|e| e.to.clone()))
        .chain(machine.states.keys().cloned())
    {
        if seen.insert(name.clone())
            && let Some(&l) = layer_of.get(&name)
        {
            rows[l].push(name);
        }
    }
    // Fewer crossings: each row ordered by where its predecessors sit in the rows above
    // (the barycenter heuristic, one pass down), ties kept in discovery order.
    for r in 1..rows.len() {
        let position: BTreeMap<&str, f64> = rows[..r]
            .iter()
            .flat_map(|row| {
                row.iter()
                    .enumerate()
                    .map(move |(i, n)| (n.as_str(), (i as f64 + 0.5) / row.len().max(1) as f64))
            })
            .collect();
        let mut keyed: Vec<(f64, usize, String)> = rows[r]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let above: Vec<f64> = edges
                    .iter()
                    .filter(|e| &e.to == name)
                    .filter_map(|e| position.get(e.from.as_str()).copied())
                    .collect();
                let key = if above.is_empty() {
                    f64::MAX
                } else {
                    above.iter().sum::<f64>() / above.len() as f64
                };
                (key, i, name.clone())
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        rows[r] = keyed.into_iter().map(|(_, _, n)| n).collect();
    }
    // A retried state keeps room on its right for its retry loop and count.
    let span = |node: &Node| node.w + if node.retry_label.is_some() { RETRY_ROOM } else { 0.0 };
    let row_width = |row: &Vec<String>, nodes: &BTreeMap<String, Node>| -> f64 {
        row.iter().map(|n| span(&nodes[n])).sum::<f64>() + GAP_X * (row.len().saturating_sub(1)) as f64
    };
    let width = rows.iter().map(|r| row_width(r, &nodes)).fold(0.0, f64::max) + 2.0 * PAD;
    let mut y = PAD;
    for row in &rows {
        let mut x = (width - row_width(row, &nodes)) / 2.0;
        let height = row.iter().map(|n| nodes[n].h).fold(0.0, f64::max);
        for name in row {
            if let Some(node) = nodes.get_mut(name) {
                node.x = x;
                node.y = y + (height - node.h) / 2.0;
                x += span(node) + GAP_X;
            }
        }
        y += height + GAP_Y;
    }
    let height = y - GAP_Y + PAD;
    Layout {
        width,
        height,
        nodes: nodes.into_values().collect(),
        edges,
    }
}

/// A label cut to a readable length.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Where each edge leaves its source and enters its target: the downward edges of a node spread
/// along its bottom (and into a node along its top) in the order of the nodes at their other end,
/// so that they do not all start at one point.
fn ports(l: &Layout) -> Vec<((f64, f64), (f64, f64))> {
    let find = |name: &str| l.nodes.iter().find(|n| n.name == name);
    let centre = |name: &str| find(name).map_or(0.0, |n| n.x + n.w / 2.0);
    let downward = |e: &Edge| match (find(&e.from), find(&e.to)) {
        (Some(a), Some(b)) => b.y > a.y + a.h / 2.0,
        _ => false,
    };
    let spread = |node: &Node, mut others: Vec<f64>, me: f64| -> f64 {
        others.sort_by(f64::total_cmp);
        let index = others.iter().position(|x| *x == me).unwrap_or(0);
        node.x + node.w * (index as f64 + 1.0) / (others.len() as f64 + 1.0)
    };
    l.edges
        .iter()
        .map(|e| {
            let (Some(a), Some(b)) = (find(&e.from), find(&e.to)) else {
                return ((0.0, 0.0), (0.0, 0.0));
            };
            if !downward(e) {
                return (a.bottom(), b.top());
            }
            let outgoing = l.edges.iter().filter(|o| o.from == e.from && downward(o));
            let incoming = l.edges.iter().filter(|i| i.to == e.to && downward(i));
            let x1 = spread(a, outgoing.map(|o| centre(&o.to)).collect(), centre(&e.to));
            let x2 = spread(b, incoming.map(|i| centre(&i.from)).collect(), centre(&e.from));
            ((x1, a.y + a.h), (x2, b.y))
        })
        .collect()
}

fn draw(out: &mut String, l: &Layout, dx: f64, dy: f64, path: &Path) {
    let find = |name: &str| l.nodes.iter().find(|n| n.name == name);
    for (e, ((x1, y1), (x2, y2))) in l.edges.iter().zip(ports(l)) {
        let (Some(a), Some(b)) = (find(&e.from), find(&e.to)) else {
            continue;
        };
        let taken = path.taken.contains(&(e.from.clone(), e.to.clone()));
        let class = format!("edge {}{}", e.kind.name(), if taken { " taken" } else { "" });
        let (x1, y1, x2, y2) = (x1 + dx, y1 + dy, x2 + dx, y2 + dy);
        let d = if y2 > y1 {
            let mid = (y1 + y2) / 2.0;
            format!("M{x1:.1},{y1:.1} C{x1:.1},{mid:.1} {x2:.1},{mid:.1} {x2:.1},{y2:.1}")
        } else {
            // Back up the machine: an arc around the right side.
            let side = a.x.max(b.x) + a.w.max(b.w) + dx + 40.0;
            let (ax, ay) = (a.x + a.w + dx, a.y + a.h / 2.0 + dy);
            let (bx, by) = (b.x + b.w + dx, b.y + b.h / 2.0 + dy);
            format!("M{ax:.1},{ay:.1} C{side:.1},{ay:.1} {side:.1},{by:.1} {bx:.1},{by:.1}")
        };
        let _ = write!(
            out,
            r#"<g class="{class}" data-from="{}" data-to="{}" data-kind="{}"><path d="{d}" marker-end="url(#arrow)"/>"#,
            escape_markup(&e.from),
            escape_markup(&e.to),
            e.kind.name()
        );
        if !e.label.is_empty() {
            // Beside the edge where it has turned towards its target, on that side.
            let (lx, ly, anchor) = if y2 > y1 {
                let anchor = if x2 < x1 - 1.0 { "end" } else { "start" };
                let nudge = if anchor == "end" { -4.0 } else { 4.0 };
                (x1 + (x2 - x1) * 0.6 + nudge, y1 + (y2 - y1) * 0.55, anchor)
            } else {
                (a.x.max(b.x) + a.w.max(b.w) + dx + 44.0, (y1 + y2) / 2.0, "start")
            };
            let _ = write!(
                out,
                r#"<text x="{lx:.1}" y="{ly:.1}" class="label" text-anchor="{anchor}"><title>{}</title>{}</text>"#,
                escape_markup(&e.label),
                escape_markup(&short(&e.label, 36))
            );
        }
        out.push_str("</g>");
    }
    for n in &l.nodes {
        let (x, y) = (n.x + dx, n.y + dy);
        let mut class = format!("state {}", n.kind.to_lowercase());
        if path.visited.contains(&n.name) || (n.kind == "start" && !path.visited.is_empty()) {
            class.push_str(" visited");
        }
        if path.taken.iter().any(|(_, to)| to == END) && n.kind == "end" {
            class.push_str(" visited");
        }
        if path.failed.as_deref() == Some(n.name.as_str()) {
            class.push_str(" failed");
        }
        if n.kind == "start" || n.kind == "end" {
            let _ = write!(
                out,
                r#"<g class="{class}" data-state="{}"><circle cx="{:.1}" cy="{:.1}" r="{CIRCLE}"/><title>{}</title></g>"#,
                n.name,
                x + CIRCLE,
                y + CIRCLE,
                n.name
            );
            continue;
        }
        let _ = write!(
            out,
            r#"<g class="{class}" data-state="{}"><rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" rx="6"/><title>{} ({})</title>"#,
            escape_markup(&n.name),
            n.w,
            n.h,
            escape_markup(&n.name),
            n.kind
        );
        let text_y = if n.inner.is_empty() {
            y + n.h / 2.0 + FONT / 3.0
        } else {
            y + 17.0
        };
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{text_y:.1}" class="name">{}</text>"#,
            x + n.w / 2.0,
            escape_markup(&n.name)
        );
        if let Some(label) = &n.retry_label {
            // The Retry edge: a loop from the state back to itself, its count beside it.
            let (rx, top, bottom) = (x + n.w, y + n.h * 0.3, y + n.h * 0.7);
            let _ = write!(
                out,
                r#"<g class="edge retry taken" data-from="{name}" data-to="{name}" data-kind="retry"><path d="M{rx:.1},{top:.1} C{:.1},{:.1} {:.1},{:.1} {rx:.1},{bottom:.1}" marker-end="url(#arrow)"/><text x="{:.1}" y="{:.1}" class="retries">{}</text></g>"#,
                rx + 26.0,
                top - 8.0,
                rx + 26.0,
                bottom + 8.0,
                rx + 30.0,
                y + n.h / 2.0 + 4.0,
                escape_markup(label),
                name = escape_markup(&n.name),
            );
        }
        for (ix, iy, inner) in &n.inner {
            let _ = write!(
                out,
                r#"<rect class="branch" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="4"/>"#,
                x + ix,
                y + iy,
                inner.width,
                inner.height
            );
            draw(out, inner, x + ix, y + iy, path);
        }
        out.push_str("</g>");
    }
}

const STYLE: &str = "\
.state rect{fill:#fff;stroke:#5f6b7a;stroke-width:1.2}\
.state.visited rect{fill:#e3f4e8;stroke:#1d8102;stroke-width:2}\
.state.failed rect{fill:#fde8e8;stroke:#d13212;stroke-width:2.4}\
.state.choice rect{stroke-dasharray:4 2}\
.state.map>rect,.state.parallel>rect{fill:#f7f8fa}\
.state circle{fill:#fff;stroke:#5f6b7a;stroke-width:1.5}\
.state.visited circle{fill:#1d8102;stroke:#1d8102}\
rect.branch{fill:none;stroke:#aab7b8;stroke-dasharray:3 3}\
text{font:12px sans-serif;fill:#16191f}\
text.name{text-anchor:middle}\
text.retries{font-size:11px;fill:#b7410e}\
.edge.retry path{stroke:#b7410e;stroke-width:1.6}\
text.label{font-size:10px;fill:#545b64;paint-order:stroke;stroke:#fff;stroke-width:3px}\
.edge path{fill:none;stroke:#879596;stroke-width:1.2}\
.edge.catch path{stroke:#d13212;stroke-dasharray:5 3}\
.edge.taken path{stroke:#1d8102;stroke-width:2.6}\
.edge.catch.taken path{stroke:#d13212;stroke-width:2.6}";

/// The machine as a standalone SVG document, with `path` drawn over it.
pub fn svg(machine: &StateMachine, path: &Path) -> String {
    let l = layout(machine, path);
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="state-machine" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img"><style>{STYLE}</style><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#879596"/></marker></defs>"##,
        w = l.width + MARGIN_LEFT + MARGIN_RIGHT,
        h = l.height
    );
    draw(&mut out, &l, MARGIN_LEFT, 0.0, path);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{EventKind, History, StateEnteredEventDetails, StateExitedEventDetails};
    use crate::model::StateType;
    use serde_json::{Value, json};

    fn machine(definition: Value) -> StateMachine {
        StateMachine::from_value(&definition).unwrap()
    }

    #[test]
    fn every_state_and_transition_is_drawn() {
        let m = machine(json!({"StartAt": "A", "States": {
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericGreaterThan": 3, "Next": "B"}], "Default": "C"},
            "B": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F",
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "Next": "A"},
            "C": {"Type": "Succeed"}}}));
        let svg = svg(&m, &Path::default());
        for state in ["A", "B", "C", "Start", "End"] {
            assert!(svg.contains(&format!(r#"data-state="{state}""#)), "{state} in {svg}");
        }
        for (from, to, kind) in [
            ("A", "B", "choice"),
            ("A", "C", "default"),
            ("B", "C", "catch"),
            ("B", "A", "next"),
        ] {
            assert!(
                svg.contains(&format!(r#"data-from="{from}" data-to="{to}" data-kind="{kind}""#)),
                "{from} -> {to} ({kind})"
            );
        }
        assert!(svg.contains("$.x &gt; 3"), "the rule labels its edge");
    }

    #[test]
    fn an_execution_path_is_highlighted_with_its_retries() {
        let m = machine(json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:F", "Next": "D"},
            "D": {"Type": "Succeed"}}}));
        let entered = |state: StateType, name: &str| {
            let details = StateEnteredEventDetails {
                name: name.into(),
                ..Default::default()
            };
            EventKind::state_entered(state, details)
        };
        let exited = |state: StateType, name: &str| {
            let details = StateExitedEventDetails {
                name: name.into(),
                ..Default::default()
            };
            EventKind::state_exited(state, details).unwrap()
        };
        let history = History::default();
        for kind in [
            EventKind::ExecutionStarted {
                details: Default::default(),
            },
            entered(StateType::Task, "T"),
            EventKind::LambdaFunctionScheduled {
                details: Default::default(),
            },
            EventKind::LambdaFunctionFailed {
                details: Default::default(),
            },
            EventKind::LambdaFunctionScheduled {
                details: Default::default(),
            },
            EventKind::LambdaFunctionSucceeded {
                details: Default::default(),
            },
            exited(StateType::Task, "T"),
            entered(StateType::Succeed, "D"),
            exited(StateType::Succeed, "D"),
            EventKind::ExecutionSucceeded {
                details: Default::default(),
            },
        ] {
            history.push(time::OffsetDateTime::UNIX_EPOCH, kind);
        }
        let path = Path::from_history(&history.events());
        assert_eq!(path.retries.get("T"), Some(&1));
        assert!(path.taken.contains(&("T".into(), "D".into())));
        let svg = svg(&m, &path);
        assert!(svg.contains(r#"class="state task visited" data-state="T""#));
        assert!(svg.contains(r#"class="edge next taken" data-from="T" data-to="D""#));
        assert!(svg.contains("retried ×1"));
    }

    #[test]
    fn map_and_parallel_hold_their_machines() {
        let m = machine(json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [
                {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": true}}},
                {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "End": true}}}],
                "End": true}}}));
        let svg = svg(&m, &Path::default());
        for state in ["P", "L", "M", "I"] {
            assert!(svg.contains(&format!(r#"data-state="{state}""#)), "{state}");
        }
        assert_eq!(
            svg.matches(r#"class="branch""#).count(),
            3,
            "two branches and one item processor"
        );
    }
}
