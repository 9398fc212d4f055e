//! Reports of runs a person can look at: one self-contained HTML page per scenario (`harness run
//! --report DIR`) and an `index.html`. A page shows whether the scenario passed and why not, each
//! execution as the state machine's graph with its path highlighted (`sfn::graph`), its timeline
//! (states entered and left, retries, errors with their cause, each state's input and output), the
//! job items' versions as the table's stream recorded them (field by field), the Pipe's reads
//! (delivered or dropped by its filter), and the objects and unfinished multipart uploads in the
//! landing bucket. Offline: no script, no font, nothing fetched; the graph is inline SVG.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::emulate::pipe::{Read, plain_json};
use crate::world::workflow;
use sfn::escape_markup;

/// What a run leaves to show, gathered before its world goes away.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub description: String,
    /// The definition the world ran (placeholders replaced).
    pub definition: String,
    pub executions: Vec<sfn::Execution>,
    /// Every stream record the Pipe read.
    pub reads: Vec<Read>,
    /// Objects in the landing bucket: key and size.
    pub objects: Vec<(String, i64)>,
    /// Multipart uploads left unfinished: key and upload id.
    pub uploads: Vec<(String, String)>,
    /// The in-process FTPS server's control-channel conversations (the password masked).
    pub ftps: Vec<crate::ftps::SessionLine>,
    /// The clock the executions ran on: their timelines are on it.
    pub time: sfn::TimeMode,
}

/// What the page says of its clock: the timeline's unit, and a sentence on how it relates to the
/// real time the run took.
fn clock(time: sfn::TimeMode, elapsed: Duration) -> (String, String) {
    let real = elapsed.as_secs_f64();
    match time {
        sfn::TimeMode::Virtual => (
            "ms (virtual)".into(),
            format!(
                "Time is virtual: the timelines are the executions' own clock, which jumps over waits and retry \
                 delays (a wait takes no real time; an event that reads 0 ms came at once on it). The run took \
                 {real:.1} s of real time."
            ),
        ),
        sfn::TimeMode::Accelerated(factor) => (
            format!("ms (×{factor})"),
            format!(
                "Time is sped up {factor}×: waits and retry delays took 1/{factor} of their length in real time, \
                 and the timelines show them at full length. The run took {real:.1} s of real time."
            ),
        ),
        sfn::TimeMode::Real => (
            "ms".into(),
            "Time is real: the timelines are wall-clock, as on AWS.".into(),
        ),
    }
}

/// One scenario's outcome, as a report page shows it.
#[derive(Debug, Clone)]
pub struct Page {
    pub name: String,
    /// Broken expectations and invariants, snapshot differences, or the error that stopped the run.
    pub problems: Vec<String>,
    pub elapsed: Duration,
    /// The table's items at the end (redacted pretty JSON, as snapshotted).
    pub items: String,
    pub evidence: Evidence,
}

impl Page {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn file_name(&self) -> String {
        format!("{}.html", self.name)
    }
}

/// Writes each page and an index into `dir` (created if need be); returns the index's path.
pub fn write(dir: &Path, pages: &[Page]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for page in pages {
        std::fs::write(dir.join(page.file_name()), render(page))?;
    }
    let index = dir.join("index.html");
    std::fs::write(&index, render_index(pages))?;
    Ok(index)
}

/// Adds one page to `dir` — its file, and a row appended to the index — without touching the
/// pages before it: a live world's reporter costs the same for its ten-thousandth execution as
/// for its first. The index is written with its header by the first page; browsers close the
/// table the appended rows leave open.
pub fn append(dir: &Path, page: &Page) -> std::io::Result<PathBuf> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(page.file_name()), render(page))?;
    let index = dir.join("index.html");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&index)?;
    if file.metadata()?.len() == 0 {
        let header = page_head(
            "FileChecks executions",
            "<h1>FileChecks executions</h1><p>One row per finished execution of this world, the newest last.</p><div class=\"scroll\"><table><tr><th>Execution</th><th>Result</th><th>Time</th><th>First problem</th></tr>\n",
        );
        file.write_all(header.as_bytes())?;
    }
    file.write_all(index_row(page).as_bytes())?;
    file.write_all(b"\n")?;
    Ok(index)
}

const STYLE: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#16191f;margin:0 auto;max-width:1100px;padding:12px 16px}\
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:22px 0 8px;border-bottom:1px solid #d5dbdb;padding-bottom:4px}\
h3{font-size:15px;margin:16px 0 6px}\
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;font-size:13px;vertical-align:middle}\
.passed{background:#e3f4e8;color:#1d8102}.failed{background:#fde8e8;color:#d13212}\
.succeeded{color:#1d8102}.failed-status,.timed_out,.aborted{color:#d13212}\
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #eaeded;padding:4px 6px;text-align:left;vertical-align:top}\
th{background:#f7f8fa}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
.scroll{overflow-x:auto;max-width:100%}\
pre{background:#f7f8fa;padding:6px 8px;margin:4px 0;overflow-x:auto;font-size:12px;max-height:320px}\
code{font-size:12px}details summary{cursor:pointer;color:#0972d3}\
ul.problems li{color:#d13212;white-space:pre-wrap}\
tr.error td{background:#fdf3f1}tr.retry td{background:#fef6e7}\
del{color:#d13212;text-decoration:line-through}ins{color:#1d8102;text-decoration:none}\
.dropped{color:#5f6b7a}.muted{color:#5f6b7a}\
svg.state-machine{max-width:100%;height:auto}";

fn page(title: &str, body: &str) -> String {
    format!("{}</body></html>\n", page_head(title, body))
}

/// A page up to the end of `body`, left open.
fn page_head(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>{body}",
        escape_markup(title)
    )
}

/// One page's row of an index.
fn index_row(p: &Page) -> String {
    format!(
        "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td class=\"num\">{:.1} s</td><td>{}</td></tr>",
        escape_markup(&p.file_name()),
        escape_markup(&p.name),
        badge(p.passed()),
        p.elapsed.as_secs_f64(),
        escape_markup(p.problems.first().map(String::as_str).unwrap_or(""))
    )
}

fn badge(passed: bool) -> &'static str {
    if passed {
        "<span class=\"badge passed\">PASSED</span>"
    } else {
        "<span class=\"badge failed\">FAILED</span>"
    }
}

/// The index: every scenario, passed or failed, linked to its page.
pub fn render_index(pages: &[Page]) -> String {
    let failed = pages.iter().filter(|p| !p.passed()).count();
    let mut body = format!(
        "<h1>FileChecks scenarios</h1><p>{} passed, {failed} failed</p><div class=\"scroll\"><table><tr><th>Scenario</th><th>Result</th><th>Time</th><th>First problem</th></tr>",
        pages.len() - failed
    );
    for p in pages {
        body.push_str(&index_row(p));
    }
    body.push_str("</table></div>");
    page("FileChecks scenarios", &body)
}

/// One scenario's page.
pub fn render(p: &Page) -> String {
    let mut body = format!(
        "<p><a href=\"index.html\">All scenarios</a></p><h1>{} {}</h1><p>{}</p><p class=\"muted\">{:.1} s, {} execution(s)</p>",
        escape_markup(&p.name),
        badge(p.passed()),
        escape_markup(&p.evidence.description),
        p.elapsed.as_secs_f64(),
        p.evidence.executions.len()
    );
    if !p.problems.is_empty() {
        body.push_str("<h2>What failed</h2><ul class=\"problems\">");
        for problem in &p.problems {
            let _ = write!(body, "<li>{}</li>", escape_markup(problem));
        }
        body.push_str("</ul>");
    }
    let (unit, sentence) = clock(p.evidence.time, p.elapsed);
    if !p.evidence.executions.is_empty() {
        let _ = write!(body, "<p class=\"muted clock\">{}</p>", escape_markup(&sentence));
    }
    let machine = workflow::load(&p.evidence.definition).ok();
    for (i, execution) in p.evidence.executions.iter().enumerate() {
        body.push_str(&render_execution(i + 1, execution, machine.as_ref(), &unit));
    }
    body.push_str(&render_items(&p.evidence.reads));
    let _ = write!(body, "<h2>Items at the end</h2><pre>{}</pre>", escape_markup(&p.items));
    body.push_str(&render_ftps(&p.evidence.ftps));
    body.push_str(&render_bucket(&p.evidence));
    body.push_str(&render_pipe(&p.evidence.reads));
    page(&format!("{} — FileChecks scenario", p.name), &body)
}

fn timestamp_millis(event: &sfn::Event) -> i128 {
    event.timestamp.unix_timestamp_nanos() / 1_000_000
}

/// JSON text shown as itself, pretty when it is JSON.
fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

fn render_execution(n: usize, execution: &sfn::Execution, machine: Option<&sfn::StateMachine>, unit: &str) -> String {
    let status = execution.status.as_str();
    let class = match execution.status {
        sfn::Status::Succeeded => "succeeded".to_string(),
        sfn::Status::Failed => "failed-status".to_string(),
        sfn::Status::TimedOut | sfn::Status::Aborted => status.to_lowercase(),
    };
    let mut out = format!(
        "<section class=\"execution\"><h2>Execution {n}: <span class=\"{class}\">{}</span></h2>",
        escape_markup(status)
    );
    if let Some(error) = &execution.error {
        let _ = write!(
            out,
            "<p><b>{}</b>: {}</p>",
            escape_markup(error),
            escape_markup(execution.cause.as_deref().unwrap_or(""))
        );
    }
    if let Some(machine) = machine {
        let path = sfn::graph::Path::from_history(&execution.history);
        let _ = write!(out, "<div class=\"scroll\">{}</div>", sfn::graph::svg(machine, &path));
    }
    let _ = write!(
        out,
        "<h3>Timeline</h3><div class=\"scroll\"><table><tr><th>{}</th><th>Event</th><th>State</th><th>Detail</th></tr>",
        escape_markup(unit)
    );
    let start = execution.history.first().map_or(0, timestamp_millis);
    let mut state = String::new();
    // Tasks scheduled since the state was entered: a second one is a retry.
    let mut scheduled = 0;
    for event in &execution.history {
        let kind = &event.kind;
        if let Some(name) = event.entered_state() {
            state = name.to_string();
            scheduled = 0;
        }
        if kind.is_scheduled() {
            scheduled += 1;
        }
        let row_class = if kind.is_failure() {
            " class=\"error\""
        } else if kind.is_scheduled() && scheduled > 1 {
            " class=\"retry\""
        } else {
            ""
        };
        let mut cell = String::new();
        if let Some((error, cause)) = kind.error() {
            for (key, v) in [("error", error), ("cause", cause)] {
                let _ = write!(cell, "<div><b>{key}</b>: {}</div>", escape_markup(v));
            }
        }
        let assigned = kind
            .assigned_variables()
            .map(|v| serde_json::to_string_pretty(v).unwrap_or_default());
        for (key, text) in [
            ("input", kind.input().map(pretty)),
            ("output", kind.output().map(pretty)),
            ("parameters", kind.parameters().map(pretty)),
            ("assignedVariables", assigned),
        ] {
            if let Some(text) = text {
                let _ = write!(
                    cell,
                    "<details><summary>{key}</summary><pre>{}</pre></details>",
                    escape_markup(&text)
                );
            }
        }
        let at = (timestamp_millis(event) - start).to_string();
        let _ = write!(
            out,
            "<tr{row_class}><td class=\"num\">{at}</td><td>{}</td><td>{}</td><td>{cell}</td></tr>",
            escape_markup(kind.type_name()),
            escape_markup(&state)
        );
    }
    out.push_str("</table></div></section>");
    out
}

fn image(record: &Value, which: &str) -> Option<Map<String, Value>> {
    let image = record["dynamodb"][which].as_object()?;
    Some(image.iter().map(|(k, v)| (k.clone(), plain_json(v))).collect())
}

fn short_json(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(159).collect::<String>())
    } else {
        text
    }
}

/// One write of an item: the stream's event name (`INSERT`, `MODIFY`) and the item after it.
type Version = (String, Map<String, Value>);

/// Each job's versions from the stream: the first in full, then what each write changed.
fn render_items(reads: &[Read]) -> String {
    let mut versions: BTreeMap<String, Vec<Version>> = BTreeMap::new();
    for read in reads {
        let event = read.record["eventName"].as_str().unwrap_or_default().to_string();
        let key = read.record["dynamodb"]["Keys"]["jobId"]["S"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        let new = image(&read.record, "NewImage").unwrap_or_default();
        versions.entry(key).or_default().push((event, new));
    }
    if versions.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h2>Job items, version by version</h2>");
    for (job, list) in &versions {
        let mut statuses: Vec<String> = list
            .iter()
            .map(|(event, item)| match item.get("status").and_then(Value::as_str) {
                Some(s) => s.to_string(),
                None => event.clone(),
            })
            .collect();
        statuses.dedup();
        let _ = write!(
            out,
            "<h3>{}</h3><p class=\"versions\">{}</p><div class=\"scroll\"><table><tr><th>#</th><th>Write</th><th>Field</th><th>Before</th><th>After</th></tr>",
            escape_markup(job),
            escape_markup(&statuses.join(" → "))
        );
        let mut previous: Map<String, Value> = Map::new();
        for (i, (event, item)) in list.iter().enumerate() {
            let mut fields: Vec<&String> = previous.keys().chain(item.keys()).collect();
            fields.sort();
            fields.dedup();
            let mut first = true;
            for field in fields {
                let (before, after) = (previous.get(field), item.get(field));
                if before == after {
                    continue;
                }
                let number = if first { format!("{}", i + 1) } else { String::new() };
                let write = if first { escape_markup(event) } else { String::new() };
                first = false;
                let _ = write!(
                    out,
                    "<tr><td class=\"num\">{number}</td><td>{write}</td><td><code>{}</code></td><td><del>{}</del></td><td><ins>{}</ins></td></tr>",
                    escape_markup(field),
                    escape_markup(&before.map(short_json).unwrap_or_default()),
                    escape_markup(&after.map(short_json).unwrap_or_default())
                );
            }
            previous = item.clone();
        }
        out.push_str("</table></div>");
    }
    out
}

/// Each FTPS session's commands and replies, in order.
fn render_ftps(lines: &[crate::ftps::SessionLine]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut sessions: BTreeMap<usize, Vec<&crate::ftps::SessionLine>> = BTreeMap::new();
    for line in lines {
        sessions.entry(line.session).or_default().push(line);
    }
    let mut out = format!(
        "<h2>The FTPS server's sessions</h2><p class=\"muted\">{} session(s); commands as the server received them, the password masked.</p>",
        sessions.len()
    );
    for (session, lines) in sessions {
        let _ = write!(
            out,
            "<details><summary>Session {session} ({} lines)</summary><div class=\"scroll\"><table>",
            lines.len()
        );
        for line in lines {
            let (who, class) = if line.command {
                ("client", "")
            } else {
                ("server", " class=\"muted\"")
            };
            let _ = write!(
                out,
                "<tr{class}><td>{who}</td><td><code>{}</code></td></tr>",
                escape_markup(&line.text)
            );
        }
        out.push_str("</table></div></details>");
    }
    out
}

fn render_bucket(evidence: &Evidence) -> String {
    let mut out = String::from("<h2>Landing bucket</h2>");
    if evidence.objects.is_empty() {
        out.push_str("<p class=\"muted\">No objects.</p>");
    } else {
        out.push_str("<div class=\"scroll\"><table><tr><th>Key</th><th>Bytes</th></tr>");
        for (key, size) in &evidence.objects {
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td class=\"num\">{size}</td></tr>",
                escape_markup(key)
            );
        }
        out.push_str("</table></div>");
    }
    if evidence.uploads.is_empty() {
        out.push_str("<p class=\"muted\">No unfinished multipart upload.</p>");
    } else {
        out.push_str("<h3>Unfinished multipart uploads</h3><ul>");
        for (key, id) in &evidence.uploads {
            let _ = write!(
                out,
                "<li><code>{}</code> ({})</li>",
                escape_markup(key),
                escape_markup(id)
            );
        }
        out.push_str("</ul>");
    }
    out
}

fn render_pipe(reads: &[Read]) -> String {
    if reads.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<h2>The Pipe's reads</h2><div class=\"scroll\"><table><tr><th>#</th><th>Record</th><th>Job</th><th>Status</th><th>Pipe</th></tr>",
    );
    for (i, read) in reads.iter().enumerate() {
        let event = read.record["eventName"].as_str().unwrap_or_default();
        let job = read.record["dynamodb"]["Keys"]["jobId"]["S"].as_str().unwrap_or("?");
        let status = read.record["dynamodb"]["NewImage"]["status"]["S"]
            .as_str()
            .unwrap_or("");
        let verdict = if read.delivered {
            "delivered"
        } else {
            "<span class=\"dropped\">dropped by the filter</span>"
        };
        let _ = write!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{verdict}</td></tr>",
            i + 1,
            escape_markup(event),
            escape_markup(job),
            escape_markup(status)
        );
    }
    out.push_str("</table></div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_says_which_clock_its_timelines_are_on() {
        let (unit, sentence) = clock(sfn::TimeMode::Virtual, Duration::from_millis(2300));
        assert_eq!(unit, "ms (virtual)");
        assert!(
            sentence.starts_with("Time is virtual") && sentence.contains("2.3 s of real time"),
            "{sentence}"
        );
        let (unit, sentence) = clock(sfn::TimeMode::Accelerated(10_000), Duration::from_secs(11));
        assert_eq!(unit, "ms (×10000)");
        assert!(
            sentence.contains("sped up 10000×") && sentence.contains("11.0 s"),
            "{sentence}"
        );
        assert_eq!(clock(sfn::TimeMode::Real, Duration::ZERO).0, "ms");
    }
}
