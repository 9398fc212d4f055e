//! The fault matrix: one generated scenario per (stage, fault) — every stage a job passes
//! through × {crash, timeout, throttle, 5xx, drop, duplicate invocation, stop} where the fault can
//! happen there. Each is judged by the invariants alone (every job terminal with a named error,
//! no source deleted without its verified object, no open multipart upload, at most one landing
//! per drive): what the job ends as may differ per cell, what must never happen may not.

use pipeline::job::TransferStage;

/// The stages, with the function that writes each.
const STAGES: [(TransferStage, &str); 6] = [
    (TransferStage::Pending, "SetRunning"),
    (TransferStage::Connecting, "TransferFile"),
    (TransferStage::Streaming, "TransferFile"),
    (TransferStage::Verified, "TransferFile"),
    (TransferStage::SourceDeleted, "TransferFile"),
    (TransferStage::Done, "FinalizeJob"),
];

/// The faults, by the name a cell carries.
pub const FAULTS: [&str; 7] = ["crash", "timeout", "throttle", "5xx", "drop", "duplicate", "stop"];

/// One generated scenario: its name (`streaming-crash`) and its YAML.
pub struct Cell {
    pub name: String,
    pub yaml: String,
}

/// Two 8 MiB parts' worth: streaming faults find a multipart upload open.
const FILE_SIZE: u64 = 9 * 1024 * 1024;

fn scenario(name: &str, description: &str, faults: &str, steps: &str) -> Cell {
    let yaml = format!(
        "description: \"fault matrix: {description}\"\n\
         remote:\n  - {{path: /in/matrix.data, size: {FILE_SIZE}, seed: 7}}\n\
         {faults}\
         jobs:\n  - {{jobId: job-matrix, project: FLPIDS-NATS, file: {{fileName: matrix.data, remotePath: /in/matrix.data}}}}\n\
         {steps}\
         expect: {{}}\n"
    );
    Cell {
        name: name.to_string(),
        yaml,
    }
}

/// The faults section for one cell, or None where the fault cannot happen at that stage.
fn cell(stage: TransferStage, function: &str, fault: &str) -> Option<(String, String)> {
    let at = stage.as_str();
    Some(match fault {
        "crash" | "timeout" => (
            format!("faults:\n  lambda:\n    - {{function: {function}, fault: {fault}, at_stage: {at}}}\n"),
            String::new(),
        ),
        // Past the SDK's own three attempts: the state's Retry must take over.
        "throttle" | "5xx" => {
            let respond = if fault == "throttle" {
                "throttle"
            } else {
                "internal_error"
            };
            (
                format!(
                    "faults:\n  aws:\n    - {{action: 'dynamodb:UpdateItem', body_contains: '\"S\":\"{at}\"', respond: {respond}, times: 3}}\n"
                ),
                String::new(),
            )
        }
        "drop" => match stage {
            TransferStage::Connecting => ("faults:\n  reject_connections: 1\n".to_string(), String::new()),
            TransferStage::Streaming => ("faults:\n  drop_after_bytes: 1048576\n".to_string(), String::new()),
            _ => return None,
        },
        "duplicate" => match stage {
            // One cell per function: a duplicate does not depend on the stage.
            TransferStage::Pending | TransferStage::Connecting | TransferStage::Done => (
                format!("faults:\n  lambda:\n    - {{function: {function}, fault: duplicate}}\n"),
                String::new(),
            ),
            _ => return None,
        },
        "stop" => {
            let after = match stage {
                TransferStage::Pending => "SetRunning",
                TransferStage::Connecting => "TransferFile",
                TransferStage::Streaming => "download",
                TransferStage::Done => "FinalizeJob",
                _ => return None,
            };
            (
                String::new(),
                format!("steps:\n  - stop: {{job: job-matrix, after: {after}}}\n"),
            )
        }
        _ => return None,
    })
}

/// Every cell of the matrix, plus the Pipe's own faults: one record twice at once, again after
/// the job completed, and an old record beside a re-drive's.
pub fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for (stage, function) in STAGES {
        for fault in FAULTS {
            if let Some((faults, steps)) = cell(stage, function, fault) {
                let name = format!("{}-{fault}", stage.as_str().to_lowercase().replace('_', "-"));
                let description = format!("{fault} at {} ({function})", stage.as_str());
                cells.push(scenario(&name, &description, &faults, &steps));
            }
        }
    }
    cells.push(scenario(
        "pipe-duplicate-delivery",
        "the Pipe delivers the record twice at once",
        "",
        "steps:\n  - deliver: {job: job-matrix, times: 2}\n",
    ));
    cells.push(scenario(
        "pipe-late-delivery",
        "the Pipe delivers the record again after the job completed",
        "",
        "steps:\n  - settle: true\n  - deliver: {job: job-matrix, times: 1}\n",
    ));
    cells.push(scenario(
        "pipe-old-record-after-redrive",
        "a drop on every read ends the job ERROR; after a re-drive the old record arrives beside the new one",
        "faults:\n  drop_after_bytes: 1024\n  drop_times: 5\n",
        "steps:\n  - settle: true\n  - redrive: job-matrix\n  - deliver: {job: job-matrix, times: 1}\n",
    ));
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn every_cell_is_a_valid_scenario() {
        let cells = cells();
        assert!(cells.len() >= 30, "{}", cells.len());
        for cell in &cells {
            Scenario::parse(&cell.yaml, std::path::Path::new(&cell.name))
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", cell.name, cell.yaml));
        }
    }
}
