//! `harness scenario from-item`: turns an ERROR item exported from DynamoDB (plain JSON, DynamoDB
//! JSON, or a GetItem/export `{"Item": …}` wrapper) into a scenario that reproduces it — same
//! project, pipeline and paths, with the fault that produces the recorded error.

use serde_json::{Map, Value, json};

/// DynamoDB JSON (`{"S": "x"}`, `{"M": {…}}` …) to plain JSON; plain JSON passes unchanged.
pub fn plain(value: &Value) -> Value {
    let Value::Object(map) = value else {
        return value.clone();
    };
    if map.len() == 1 {
        let (tag, inner) = map.iter().next().expect("one entry");
        match (tag.as_str(), inner) {
            ("S", Value::String(s)) => return Value::String(s.clone()),
            ("N", Value::String(n)) => return serde_json::from_str(n).unwrap_or(Value::String(n.clone())),
            ("BOOL", Value::Bool(b)) => return Value::Bool(*b),
            ("NULL", Value::Bool(true)) => return Value::Null,
            ("M", Value::Object(m)) => return Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
            ("L", Value::Array(items)) => return Value::Array(items.iter().map(plain).collect()),
            ("SS" | "NS", Value::Array(items)) => return Value::Array(items.iter().map(plain).collect()),
            _ => {}
        }
    }
    Value::Object(map.iter().map(|(k, v)| (k.clone(), plain(v))).collect::<Map<_, _>>())
}

/// The scenario (YAML text) reproducing an ERROR item.
pub fn scenario_from_item(exported: &Value) -> Result<String, String> {
    let item = plain(exported.get("Item").unwrap_or(exported));
    let text = |path: &str| item.pointer(path).and_then(Value::as_str).map(str::to_string);
    let job_id = text("/jobId").ok_or("the item has no jobId")?;
    let project = text("/project").ok_or("the item has no project")?;
    let pipeline = text("/pipeline").unwrap_or_else(|| "FLPIDS_ODS".into());
    let file_name = text("/file/fileName").ok_or("the item has no file.fileName")?;
    let remote_path = text("/file/remotePath").ok_or("the item has no file.remotePath")?;
    if text("/status").as_deref() != Some("ERROR") {
        return Err(format!(
            "job {job_id} is {}, not ERROR: nothing to reproduce",
            text("/status").unwrap_or_default()
        ));
    }
    let error = text("/error/name").ok_or("the ERROR item has no error.name")?;
    let message = text("/error/message").unwrap_or_default();

    let mut scenario = Map::new();
    scenario.insert(
        "description".into(),
        json!(format!(
            "Reproduces job {job_id} ({project}), recorded ERROR {error}: {message}"
        )),
    );
    let remote_file = json!([{"path": remote_path, "content": format!("reproduction of {file_name}\n")}]);
    let mut faults = Map::new();
    let mut secret = Map::new();
    let mut mocks = None;
    // A path the pipeline would refuse is not put on the server either: it could escape the root.
    let mut remote_kept = pipeline::names::remote_path(&remote_path).is_ok();
    match error.as_str() {
        "RemoteFileNotFound" => remote_kept = false,
        "FtpsAuthFailed" => {
            secret.insert("password".into(), json!("not-the-recorded-password"));
        }
        "TlsVerificationFailed" => {
            secret.insert("caBundle".into(), json!("untrusted"));
        }
        "CertificatePinMismatch" => {
            secret.insert("certSha256".into(), json!("00".repeat(32)));
        }
        "TransientNetwork" => {
            faults.insert("drop_after_bytes".into(), json!(1));
            faults.insert("drop_times".into(), json!("always"));
        }
        "TooManyConnections" => {
            faults.insert("reject_connections".into(), json!(1000));
        }
        "IntegrityMismatch" => {
            faults.insert("size_delta".into(), json!(1));
        }
        "RemoteDeleteFailed" => {
            faults.insert("refuse_delete".into(), json!(true));
        }
        // These come from the item itself: written again as they were, they fail again.
        "UnsafeFileName" | "InvalidJob" => {}
        // Everything else (AWS failures, server rejections…) is injected into TransferFile.
        other => {
            let cause = json!({"errorType": other, "errorMessage": message}).to_string();
            mocks = Some(json!({
                "test_case": "Reproduce",
                "config": {
                    "StateMachines": {"FileChecks": {"TestCases": {"Reproduce": {"TransferFile": "Recorded"}}}},
                    "MockedResponses": {"Recorded": {"0-99": {"Throw": {"Error": other, "Cause": cause}}}},
                }
            }));
        }
    }
    if remote_kept {
        scenario.insert("remote".into(), remote_file);
    }
    if !faults.is_empty() {
        scenario.insert("faults".into(), Value::Object(faults));
    }
    if !secret.is_empty() {
        scenario.insert("secret".into(), Value::Object(secret));
    }
    scenario.insert(
        "jobs".into(),
        json!([{"jobId": job_id, "project": project, "pipeline": pipeline,
                "file": {"fileName": file_name, "remotePath": remote_path}}]),
    );
    if let Some(mocks) = mocks {
        scenario.insert("mocks".into(), mocks);
    }
    let remote = if remote_kept { json!([remote_path]) } else { json!([]) };
    scenario.insert(
        "expect".into(),
        json!({"jobs": {job_id: {"status": "ERROR", "error": error}}, "objects": [], "remote": remote}),
    );
    if error == "RemoteDeleteFailed" {
        // The landing happened before the refused delete: the object is expected too.
        let content = format!("reproduction of {file_name}\n");
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(content.as_bytes()));
        let key = format!("{project}/{file_name}");
        scenario["expect"]["objects"] = json!([{"key": key, "size": content.len(), "sha256": sha}]);
    }
    serde_yaml::to_string(&Value::Object(scenario)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dynamodb_json() {
        let item = json!({"Item": {"jobId": {"S": "j"}, "n": {"N": "5"}, "file": {"M": {"fileName": {"S": "f"}}}, "ok": {"BOOL": true}}});
        assert_eq!(
            plain(&item["Item"]),
            json!({"jobId": "j", "n": 5, "file": {"fileName": "f"}, "ok": true})
        );
    }

    #[test]
    fn refuses_items_that_are_not_errors() {
        let item =
            json!({"jobId": "j", "project": "p", "status": "COMPLETED", "file": {"fileName": "f", "remotePath": "/f"}});
        assert!(scenario_from_item(&item).unwrap_err().contains("not ERROR"));
    }
}
