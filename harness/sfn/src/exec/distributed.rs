//! A Distributed Map's I/O: its ItemReader (JSON, JSON Lines, CSV, an S3 listing or an S3
//! Inventory manifest), ItemBatcher and ResultWriter, through the bound S3 integrations.

use super::*;

/// Groups a Map's inputs as its ItemBatcher says: `{"Items": […], "BatchInput": …}` per batch.
pub(super) fn batch(
    batcher: &ItemBatcher,
    inputs: Vec<(Value, Option<Value>)>,
    params: &Value,
    env: &Env<'_>,
) -> Result<Vec<(Value, Option<Value>)>, StatesError> {
    let batch_input = match &batcher.batch_input {
        Some(t) => Some(t.eval(params, env)?),
        None => None,
    };
    let limit = |t: &Option<Tolerance>, field: &str| -> Result<usize, StatesError> {
        match t {
            // A JSONata expression "MUST evaluate to a positive integer".
            Some(Tolerance::Query(q)) => match tolerance_number(&Tolerance::Query(q.clone()), field, params, env)? {
                n if n >= 1.0 => Ok(n as usize),
                n => Err(q.error(&format!("returned {n}, which is not a positive integer."))),
            },
            Some(t) => Ok(tolerance_number(t, field, params, env)?.max(0.0) as usize),
            None => Ok(usize::MAX),
        }
    };
    let max_items = limit(&batcher.max_items, "MaxItemsPerBatch")?.max(1);
    let max_bytes = limit(&batcher.max_bytes, "MaxInputBytesPerBatch")?;
    let mut batches: Vec<(Value, Option<Value>)> = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    let flush = |current: &mut Vec<Value>, batches: &mut Vec<(Value, Option<Value>)>| {
        if current.is_empty() {
            return;
        }
        let mut input = json!({"Items": std::mem::take(current)});
        if let Some(b) = &batch_input {
            input["BatchInput"] = b.clone();
        }
        batches.push((input, None));
    };
    for (item, _) in inputs {
        let size = item.to_string().len();
        if !current.is_empty() && (current.len() >= max_items || bytes + size > max_bytes) {
            flush(&mut current, &mut batches);
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    flush(&mut current, &mut batches);
    Ok(batches)
}

/// CSV rows as objects keyed by the header (the first row, or `headers`); values are strings.
fn csv_items(text: &str, headers: Option<&[String]>) -> Result<Vec<Value>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted CSV field is not closed".into());
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    let mut rows = rows.into_iter();
    let header: Vec<String> = match headers {
        Some(given) => given.to_vec(),
        None => rows.next().ok_or("the CSV object is empty")?,
    };
    Ok(rows
        .map(|row| {
            Value::Object(
                header
                    .iter()
                    .zip(row.into_iter().chain(std::iter::repeat(String::new())))
                    .map(|(k, v)| (k.clone(), Value::String(v)))
                    .collect(),
            )
        })
        .collect())
}

impl Run {
    /// Calls a bound integration that a Map's reader or writer needs.
    async fn call_integration(&self, integration: &str, params: Value) -> Result<Value, StatesError> {
        let f = self.bindings.integrations.get(integration).ok_or_else(|| {
            StatesError::new(
                "States.TaskFailed",
                format!("the service integration {integration:?} is not available here"),
            )
        })?;
        f(params).await
    }

    /// A Distributed Map's items, read from S3 as its ItemReader says.
    pub(super) async fn read_items(
        &self,
        reader: &ItemReader,
        input: &Value,
        env: &Env<'_>,
    ) -> Result<Vec<Value>, StatesError> {
        let failed = |cause: String| StatesError::new("States.ItemReaderFailed", cause);
        let params = match &reader.parameters {
            Some(t) => t.eval(input, env)?,
            None => json!({}),
        };
        // TestState's mapItemReaderData stands in for what S3 holds.
        let answer = match (&self.item_reader_data, &reader.input_type) {
            (Some(data), InputType::Listing) => json!({"Contents": serde_json::from_str::<Value>(data)
                .map_err(|e| failed(format!("mapItemReaderData is not JSON: {e}")))?}),
            (Some(data), _) => json!({"Body": data}),
            (None, _) => self
                .call_integration(&reader.integration, params)
                .await
                .map_err(|e| failed(format!("{}: {}", e.error, e.cause)))?,
        };
        let mut items = match &reader.input_type {
            InputType::Listing => answer["Contents"].as_array().cloned().unwrap_or_default(),
            other => {
                let body = answer["Body"].as_str().unwrap_or_default();
                match other {
                    InputType::Json => match serde_json::from_str(body) {
                        Ok(Value::Array(items)) => items,
                        Ok(_) => return Err(failed("the object is not a JSON array".into())),
                        Err(e) => return Err(failed(format!("the object is not JSON: {e}"))),
                    },
                    InputType::Jsonl => body
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| serde_json::from_str(l).map_err(|e| failed(format!("a JSON line: {e}"))))
                        .collect::<Result<_, _>>()?,
                    InputType::Csv { headers } => csv_items(body, headers.as_deref()).map_err(failed)?,
                    InputType::Manifest => self.inventory_items(body).await.map_err(failed)?,
                    InputType::Listing => unreachable!("handled above"),
                }
            }
        };
        if let Some(max) = &reader.max_items {
            let max = tolerance_number(max, "MaxItems", input, env)?;
            items.truncate(max as usize);
        }
        Ok(items)
    }

    /// The rows of an S3 Inventory: the manifest names CSV files (gzipped, no header) in its
    /// destination bucket, and `fileSchema` names their columns.
    async fn inventory_items(&self, manifest: &str) -> Result<Vec<Value>, String> {
        let manifest: Value = serde_json::from_str(manifest).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        if manifest["fileFormat"].as_str().is_some_and(|f| f != "CSV") {
            return Err(format!(
                "inventory files in {} are not read here (CSV only)",
                manifest["fileFormat"]
            ));
        }
        let headers: Vec<String> = manifest["fileSchema"]
            .as_str()
            .ok_or("the manifest has no fileSchema")?
            .split(',')
            .map(|h| h.trim().to_string())
            .collect();
        let bucket = manifest["destinationBucket"]
            .as_str()
            .ok_or("the manifest has no destinationBucket")?;
        let bucket = bucket.rsplit(':').next().unwrap_or(bucket);
        let mut items = Vec::new();
        for file in manifest["files"].as_array().ok_or("the manifest has no files")? {
            let key = file["key"].as_str().ok_or("a manifest file has no key")?;
            let object = self
                .call_integration("s3:getObject", json!({"Bucket": bucket, "Key": key}))
                .await
                .map_err(|e| format!("{key}: {}: {}", e.error, e.cause))?;
            let bytes = match (object["Body"].as_str(), object["BodyBase64"].as_str()) {
                (Some(text), _) => text.as_bytes().to_vec(),
                (None, Some(encoded)) => base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
                    .map_err(|e| format!("{key}: {e}"))?,
                _ => return Err(format!("{key}: no body")),
            };
            let text = if key.ends_with(".gz") {
                let mut out = String::new();
                std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
                    .map_err(|e| format!("{key}: not gzip CSV: {e}"))?;
                out
            } else {
                String::from_utf8(bytes).map_err(|e| format!("{key}: {e}"))?
            };
            items.extend(csv_items(&text, Some(&headers))?);
        }
        Ok(items)
    }

    /// A Distributed Map's ResultWriter: each child's entry as `WriterConfig.Transformation` says;
    /// without a Resource they are the state's output, else `manifest.json` and the entries by
    /// status go under `Prefix/<map run id>/` and the output says where.
    pub(super) async fn write_results(
        &self,
        run_name: &str,
        writer: &ResultWriter,
        results: &[(Value, Result<Value, StatesError>)],
        input: &Value,
        env: &Env<'_>,
    ) -> Result<Value, StatesError> {
        let run = uuid::Uuid::new_v4().to_string();
        let machine = env.context["StateMachine"]["Name"].as_str().unwrap_or_default();
        let map_run_arn = arn::map_run(machine, run_name, &run);
        // A failed child's entry is always the full one, whatever the transformation.
        let full = |child_input: &Value, r: &Result<Value, StatesError>| {
            let mut entry = json!({"Input": child_input.to_string(), "MapRunArn": map_run_arn});
            match r {
                Ok(out) => {
                    entry["Status"] = json!("SUCCEEDED");
                    entry["Output"] = json!(out.to_string());
                }
                Err(e) => {
                    entry["Status"] = json!("FAILED");
                    entry["Error"] = json!(e.error);
                    entry["Cause"] = json!(e.cause);
                }
            }
            entry
        };
        let entries = |wanted: Option<bool>| -> Vec<Value> {
            let mut out = Vec::new();
            for (child_input, r) in results.iter().filter(|(_, r)| wanted.is_none_or(|w| r.is_ok() == w)) {
                match (writer.transformation, r) {
                    (Transformation::None, _) | (_, Err(_)) => out.push(full(child_input, r)),
                    (Transformation::Compact, Ok(v)) => out.push(v.clone()),
                    (Transformation::Flatten, Ok(Value::Array(items))) => out.extend(items.iter().cloned()),
                    (Transformation::Flatten, Ok(v)) => out.push(v.clone()),
                }
            }
            out
        };
        let Some(integration) = &writer.integration else {
            return Ok(Value::Array(entries(None)));
        };
        let failed =
            |e: StatesError| StatesError::new("States.ResultWriterFailed", format!("{}: {}", e.error, e.cause));
        let params = match &writer.parameters {
            Some(t) => t.eval(input, env)?,
            None => json!({}),
        };
        let bucket = params["Bucket"].as_str().unwrap_or_default().to_string();
        let prefix = params["Prefix"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let folder = if prefix.is_empty() {
            run.clone()
        } else {
            format!("{prefix}/{run}")
        };
        let extension = if writer.jsonl { "jsonl" } else { "json" };
        let mut files = serde_json::Map::new();
        for (status, wanted) in [("SUCCEEDED", true), ("FAILED", false)] {
            let entries = entries(Some(wanted));
            let mut listed = Vec::new();
            if !entries.is_empty() {
                let key = format!("{folder}/{status}_0.{extension}");
                let body = if writer.jsonl {
                    entries.iter().map(|e| e.to_string() + "\n").collect::<String>()
                } else {
                    Value::Array(entries).to_string()
                };
                listed.push(json!({"Key": key, "Size": body.len()}));
                self.call_integration(integration, json!({"Bucket": bucket, "Key": key, "Body": body}))
                    .await
                    .map_err(failed)?;
            }
            files.insert(status.to_string(), Value::Array(listed));
        }
        files.insert("PENDING".into(), json!([]));
        let manifest_key = format!("{folder}/manifest.json");
        let manifest = json!({"DestinationBucket": bucket, "MapRunArn": map_run_arn, "ResultFiles": files});
        self.call_integration(
            integration,
            json!({"Bucket": bucket, "Key": manifest_key, "Body": manifest.to_string()}),
        )
        .await
        .map_err(failed)?;
        Ok(json!({"MapRunArn": map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}}))
    }
}
