//! The Pipe's filter matcher agrees with moto's EventBridge pattern engine on generated
//! DynamoDB stream records and patterns.
//!
//! moto 5.2.5 does not implement the TestEventPattern API (its handler is a stub), so the oracle
//! is the engine behind it that moto's PutRule/PutEvents delivery uses, `moto.events.models.
//! EventPattern`, run from the provisioned moto virtualenv.

use std::io::Write;
use std::process::{Command, Stdio};

use harness::emulate::pattern::Pattern;
use serde_json::{Value, json};

const ORACLE: &str = r#"
import json, sys
from moto.events.models import EventPattern
for line in sys.stdin:
    case = json.loads(line)
    print(json.dumps(EventPattern.load(json.dumps(case["pattern"])).matches_event(case["event"])), flush=True)
"#;

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn record(rng: &mut fastrand::Rng) -> Value {
    let status = *pick(rng, &["TRIGGERED", "RUNNING", "COMPLETED", "ERROR", "triggered"]);
    let event_name = *pick(rng, &["INSERT", "MODIFY", "REMOVE"]);
    let mut image = json!({"jobId": {"S": format!("job-{}", rng.u8(..))}, "project": {"S": *pick(rng, &["FLPIDS-NATS", "FLPIDS-ODS", "CARS"])},
                           "status": {"S": status}, "size": {"N": rng.u32(..2000).to_string()}});
    if rng.bool() {
        image["pipeline"] = json!({"S": *pick(rng, &["FLPIDS_ODS", "FLPIDS_NATS"])});
    }
    let mut dynamodb = json!({"Keys": {"jobId": image["jobId"].clone(), "project": image["project"].clone()},
                              "SizeBytes": rng.u32(10..500), "StreamViewType": "NEW_IMAGE"});
    if event_name != "REMOVE" {
        dynamodb["NewImage"] = image;
    }
    json!({"eventID": rng.u32(..).to_string(), "eventName": event_name, "eventSource": "aws:dynamodb",
           "awsRegion": *pick(rng, &["us-east-1", "us-gov-west-1"]), "dynamodb": dynamodb})
}

/// A condition on a string field, using one of the content filters.
fn string_condition(rng: &mut fastrand::Rng, values: &[&str]) -> Value {
    let v = *pick(rng, values);
    match rng.u8(..9) {
        0 => json!(v),
        1 => json!({"prefix": &v[..v.len().min(rng.usize(1..4))]}),
        2 => json!({"suffix": &v[v.len() - v.len().min(rng.usize(1..4))..]}),
        3 => json!({"anything-but": v}),
        4 => json!({"anything-but": [v, *pick(rng, values)]}),
        5 => json!({"equals-ignore-case": v.to_lowercase()}),
        6 => json!({"exists": rng.bool()}),
        7 => json!({"anything-but": {"prefix": &v[..v.len().min(2)]}}),
        _ => json!({"wildcard": format!("{}*", &v[..v.len().min(rng.usize(1..3))])}),
    }
}

fn pattern(rng: &mut fastrand::Rng) -> Value {
    let statuses = ["TRIGGERED", "RUNNING", "COMPLETED", "ERROR"];
    let mut p = json!({});
    if rng.bool() {
        p["eventName"] = json!([
            string_condition(rng, &["INSERT", "MODIFY", "REMOVE"]),
            string_condition(rng, &["INSERT", "MODIFY"])
        ]);
    }
    let mut image = json!({});
    if rng.u8(..4) > 0 {
        image["status"] = json!({"S": [string_condition(rng, &statuses)]});
    }
    if rng.bool() {
        image["project"] = json!({"S": [string_condition(rng, &["FLPIDS-NATS", "FLPIDS-ODS", "CARS"])]});
    }
    if rng.u8(..4) == 0 {
        image["pipeline"] = json!({"S": [string_condition(rng, &["FLPIDS_ODS", "FLPIDS_NATS"])]});
    }
    if image.as_object().is_some_and(|o| !o.is_empty()) {
        p["dynamodb"] = json!({"NewImage": image});
    }
    if rng.u8(..4) == 0 {
        p["dynamodb"]["SizeBytes"] = json!([{"numeric": [">=", rng.u32(0..300), "<", rng.u32(200..600)]}]);
    }
    if rng.u8(..6) == 0 {
        p = json!({"$or": [p, {"awsRegion": [string_condition(rng, &["us-east-1", "us-gov-west-1"])]}]});
    }
    if p.as_object().is_some_and(|o| o.is_empty()) {
        p["eventSource"] = json!(["aws:dynamodb"]);
    }
    p
}

#[test]
fn agrees_with_moto_on_generated_records_and_patterns() {
    let venv = harness::world::moto::provision().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5EED);
    let cases: Vec<(Value, Value)> = (0..600).map(|_| (pattern(&mut rng), record(&mut rng))).collect();
    let mut oracle = Command::new(venv.join("bin/python"))
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = oracle.stdin.take().unwrap();
    let input: String = cases
        .iter()
        .map(|(p, e)| json!({"pattern": p, "event": e}).to_string() + "\n")
        .collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = oracle.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let verdicts: Vec<bool> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| l == "true")
        .collect();
    assert_eq!(verdicts.len(), cases.len(), "the oracle answered every case");
    let matched = verdicts.iter().filter(|v| **v).count();
    assert!(
        matched > 60 && matched < 540,
        "the generator covers both outcomes: {matched} of {} matched",
        cases.len()
    );
    let disagreements: Vec<String> = cases
        .iter()
        .zip(&verdicts)
        .filter(|((p, e), moto)| Pattern::from_value(p.clone()).unwrap().matches(e) != **moto)
        .map(|((p, e), moto)| format!("moto says {moto} for pattern {p} on {e}"))
        .collect();
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
