//! The seed's example, end to end: the COMPLETED item the local world produces equals the
//! deployed design's example completed item (the README's "The system" shows it) modulo
//! redactions — timestamps have the same format (their values are the run's), the bucket is the
//! world's landing bucket — and the audit fields this pipeline adds come on top.

use harness::scenario::Runner;
use harness::world::Project;
use serde_json::{Value, json};

/// The deployed design's example completed item, as the README's "The system" shows it.
fn seed_item() -> Value {
    json!({
      "jobId": "5fa16210-84a8-4442-a17b-059f290b1b5c",
      "project": "FLPIDS-NATS",
      "pipeline": "FLPIDS_ODS",
      "status": "COMPLETED",
      "createdAt": "2026-01-23T14:58:59.051433+00:00",
      "startedAt": "2026-01-23T14:59:01.591206+00:00",
      "completedAt": "2026-01-23T14:59:08.357292+00:00",
      "updatedAt": "2026-01-23T14:59:08.357292+00:00",
      "transferStage": "DONE",
      "file": {"fileName": "mo.moyr540.data", "remotePath": "/s_dart_cert/plas/in/mo.moyr540.data"},
      "s3": {"bucket": "punkdev-fpacfsa-landing-zone", "key": "FLPIDS-NATS/mo.moyr540.data"}
    })
}

fn same_shape_timestamp(a: &str, b: &str) -> bool {
    let shape = |t: &str| {
        t.chars()
            .map(|c| if c.is_ascii_digit() { '9' } else { c })
            .collect::<String>()
    };
    shape(a) == shape(b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_example_item_comes_out() {
    let project = Project::discover(None).unwrap();
    let path = project.scenarios_dir().unwrap().join("seed_example.yaml");
    let report = Runner::new(project).run(&path).await.unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.items.len(), 1);
    let item = &report.items[0].item;
    let seed = seed_item();
    for (field, expected) in seed.as_object().unwrap() {
        let got = &item[field];
        match field.as_str() {
            "createdAt" | "startedAt" | "completedAt" | "updatedAt" => {
                let (got, expected) = (got.as_str().unwrap_or_default(), expected.as_str().unwrap());
                assert!(
                    same_shape_timestamp(got, expected),
                    "{field}: {got} has the seed's format {expected}"
                );
            }
            "s3" => {
                assert_eq!(got["key"], expected["key"]);
                assert!(
                    got["bucket"].as_str().unwrap().starts_with("landing-"),
                    "the world's landing bucket"
                );
            }
            _ => assert_eq!(got, expected, "{field}"),
        }
    }
    assert_eq!(
        item["completedAt"], item["updatedAt"],
        "as in the seed, the last write is the completion"
    );
    // What the pipeline adds for auditors, nothing else.
    let mut extra: Vec<&String> = item
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !seed.as_object().unwrap().contains_key(*k))
        .collect();
    extra.sort();
    assert_eq!(extra, ["executionArn", "transfer"]);
}
