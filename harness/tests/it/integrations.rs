//! Service integrations against the world's AWS: the optimized DynamoDB tasks and the AWS SDK
//! integrations for DynamoDB and Secrets Manager read and write the world's table and secret,
//! and an API error reaches Retry/Catch under Step Functions' name for it
//! (docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html, …/supported-services-awssdk.html).

use harness::world::{PipeState, World, WorldOptions};
use pipeline::job::{FileRef, Job, JobKey};
use serde_json::json;
use sfn::{EventKind, Status};

/// A world whose Pipe is stopped: these tests start their own executions.
async fn quiet_world() -> World {
    World::boot(WorldOptions {
        pipe: PipeState::Stopped,
        ..Default::default()
    })
    .await
    .unwrap()
}

/// Registers `definition` under a fresh name in the world's service and runs it to its end.
async fn run(world: &World, definition: &serde_json::Value, input: serde_json::Value) -> sfn::Execution {
    let name = format!("Test-{}", uuid::Uuid::new_v4().simple());
    let arn = world
        .service
        .register(&name, &definition.to_string(), "arn:aws:iam::123456789012:role/r")
        .unwrap();
    world.service.start(&arn, input, None).unwrap().wait().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_secrets_manager_tasks_use_the_worlds_aws() {
    let world = quiet_world().await;
    world.put_secret("FLPIDS_ODS", &world.ftps.secret()).await.unwrap();
    let key = JobKey {
        job_id: "job-int".into(),
        project: "FLPIDS-NATS".into(),
    };
    let file = FileRef {
        file_name: "a.data".into(),
        remote_path: "/in/a.data".into(),
    };
    world.put_job(&Job::triggered(key, "FLPIDS_ODS", file)).await.unwrap();
    let table = &world.names.table;
    let secret_id = world.names.secret_id.replace("{pipeline}", "FLPIDS_ODS");
    let definition = json!({"StartAt": "GetJob", "States": {
        "GetJob": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": table, "Key": {"jobId": {"S.$": "$.id"}, "project": {"S": "FLPIDS-NATS"}}},
            "ResultSelector": {"status.$": "$.Item.status.S"}, "ResultPath": "$.job", "Next": "TakeIfRunning"},
        "TakeIfRunning": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:dynamodb:updateItem",
            "Parameters": {"TableName": table, "Key": {"jobId": {"S.$": "$.id"}, "project": {"S": "FLPIDS-NATS"}},
                "UpdateExpression": "SET #s = :done", "ConditionExpression": "#s = :running",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":done": {"S": "COMPLETED"}, ":running": {"S": "RUNNING"}}},
            "Catch": [{"ErrorEquals": ["DynamoDb.ConditionalCheckFailedException"], "ResultPath": "$.refused", "Next": "ReadSecret"}],
            "Next": "ReadSecret"},
        "ReadSecret": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:secretsmanager:getSecretValue",
            "Parameters": {"SecretId": secret_id}, "ResultSelector": {"secret.$": "States.StringToJson($.SecretString)"},
            "ResultPath": "$.ftps", "Next": "Optimized"},
        "Optimized": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {"TableName": table, "Key": {"jobId": {"S.$": "$.id"}, "project": {"S": "FLPIDS-NATS"}},
                "UpdateExpression": "SET #s = :done", "ConditionExpression": "#s = :running",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":done": {"S": "COMPLETED"}, ":running": {"S": "RUNNING"}}},
            "End": true}}});
    let execution = run(&world, &definition, json!({"id": "job-int"})).await;

    // The optimized integration's error name is DynamoDB.…, the SDK integration's DynamoDb.…
    assert_eq!(execution.status, Status::Failed);
    assert_eq!(
        execution.error.as_deref(),
        Some("DynamoDB.ConditionalCheckFailedException")
    );
    let history = &execution.history;
    let exited = |name: &str| {
        history
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::TaskStateExited { details } if details.name == name => {
                    Some(serde_json::from_str::<serde_json::Value>(&details.output).unwrap())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{name} exited: {history:?}"))
    };
    assert_eq!(exited("GetJob")["job"], json!({"status": "TRIGGERED"}));
    assert_eq!(
        exited("TakeIfRunning")["refused"]["Error"],
        "DynamoDb.ConditionalCheckFailedException"
    );
    let secret = &exited("ReadSecret")["ftps"]["secret"];
    assert_eq!(secret["host"], "127.0.0.1");
    assert_eq!(secret["port"], world.ftps.addr().port());
    let scheduled = history
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TaskScheduled { details } => Some(details),
            _ => None,
        })
        .unwrap();
    assert_eq!(scheduled.resource_type, "dynamodb");
    assert_eq!(scheduled.resource, "getItem");
    assert_eq!(
        world
            .job(&JobKey {
                job_id: "job-int".into(),
                project: "FLPIDS-NATS".into()
            })
            .await
            .unwrap()
            .status
            .as_str(),
        "TRIGGERED"
    );
}

/// The optimized putItem and deleteItem write the world's table; a deleteItem whose condition
/// fails is `DynamoDB.ConditionalCheckFailedException`, and the item stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimized_put_and_delete_item_write_the_worlds_table() {
    let world = quiet_world().await;
    let table = &world.names.table;
    let key = json!({"jobId": {"S": "job-put"}, "project": {"S": "FLPIDS-NATS"}});
    let definition = json!({"StartAt": "Put", "States": {
        "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {"TableName": table, "Item": {"jobId": {"S": "job-put"}, "project": {"S": "FLPIDS-NATS"},
                "pipeline": {"S": "FLPIDS_ODS"}, "status": {"S": "PENDING"},
                "file": {"M": {"fileName": {"S": "a.data"}, "remotePath": {"S": "/in/a.data"}}},
                "createdAt": {"S": "2026-01-23T14:58:59.051433+00:00"}}},
            "ResultPath": null, "Next": "DeleteIfDone"},
        "DeleteIfDone": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
            "Parameters": {"TableName": table, "Key": key, "ConditionExpression": "#s = :done",
                "ExpressionAttributeNames": {"#s": "status"}, "ExpressionAttributeValues": {":done": {"S": "COMPLETED"}}},
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": "$.kept", "Next": "Check"}],
            "Next": "Check"},
        "Check": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
            "Parameters": {"TableName": table, "Key": key}, "ResultSelector": {"status.$": "$.Item.status.S"},
            "ResultPath": "$.after", "Next": "Delete"},
        "Delete": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
            "Parameters": {"TableName": table, "Key": key, "ReturnValues": "ALL_OLD"},
            "ResultSelector": {"deleted.$": "$.Attributes.jobId.S"}, "ResultPath": "$.delete", "End": true}}});
    let execution = run(&world, &definition, json!({})).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
    let output = execution.output.unwrap();
    assert_eq!(output["kept"]["Error"], "DynamoDB.ConditionalCheckFailedException");
    assert_eq!(output["after"], json!({"status": "PENDING"}), "the put item, read back");
    assert_eq!(output["delete"], json!({"deleted": "job-put"}));
    let left = world
        .job(&JobKey {
            job_id: "job-put".into(),
            project: "FLPIDS-NATS".into(),
        })
        .await;
    assert!(
        matches!(left, Err(harness::world::WorldError::NoSuchJob(_))),
        "deleted from the world's table: {left:?}"
    );
}

/// A Distributed Map reads its items from the world's S3 (CSV with its header row, a JSON array,
/// a listing) and writes its results there (manifest.json and SUCCEEDED_0.json under the prefix).
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html, …/input-output-resultwriter.html)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_map_reads_and_writes_the_worlds_s3() {
    let world = quiet_world().await;
    let bucket = world.names.bucket.clone();
    let put = |key: &'static str, body: &'static str| {
        world
            .s3()
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
    };
    put(
        "in/farms.csv",
        "county,farm,acres\n019,\"0012, north\",12.5\n053,0034,7\n",
    )
    .await
    .unwrap();
    put("in/items.json", r#"[{"n": 1}, {"n": 2}, {"n": 3}]"#).await.unwrap();
    put("in/items.jsonl", "{\"n\": 1}\n{\"n\": [2]}\n\n{\"n\": \"3\"}\n")
        .await
        .unwrap();
    let processor = json!({"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                           "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let run = |reader: serde_json::Value, writer: Option<serde_json::Value>| {
        let mut map = json!({"Type": "Map", "ItemReader": reader, "ItemProcessor": processor, "End": true});
        if let Some(writer) = writer {
            map["ResultWriter"] = writer;
        }
        let definition = json!({"StartAt": "M", "States": {"M": map}});
        let input = json!({"bucket": bucket});
        let world = &world;
        async move { run(world, &definition, input).await }
    };

    let csv = run(
        json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
               "Parameters": {"Bucket.$": "$.bucket", "Key": "in/farms.csv"}}),
        None,
    )
    .await;
    assert_eq!(csv.status, Status::Succeeded, "{:?}", csv.cause);
    assert_eq!(
        csv.output,
        Some(
            json!([{"county": "019", "farm": "0012, north", "acres": "12.5"}, {"county": "053", "farm": "0034", "acres": "7"}])
        )
    );

    // JSON Lines: one item per line, blank lines skipped.
    let jsonl = run(
        json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"},
               "Parameters": {"Bucket.$": "$.bucket", "Key": "in/items.jsonl"}}),
        None,
    )
    .await;
    assert_eq!(jsonl.status, Status::Succeeded, "{:?}", jsonl.cause);
    assert_eq!(jsonl.output, Some(json!([{"n": 1}, {"n": [2]}, {"n": "3"}])));

    let listing = run(
        json!({"Resource": "arn:aws:states:::s3:listObjectsV2", "Parameters": {"Bucket.$": "$.bucket", "Prefix": "in/"}}),
        None,
    )
    .await;
    let keys: Vec<&str> = listing
        .output
        .as_ref()
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["in/farms.csv", "in/items.json", "in/items.jsonl"]);

    let written = run(
        json!({"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON", "MaxItems": 2},
               "Parameters": {"Bucket.$": "$.bucket", "Key": "in/items.json"}}),
        Some(json!({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket.$": "$.bucket", "Prefix": "results"}})),
    )
    .await;
    assert_eq!(written.status, Status::Succeeded, "{:?}", written.cause);
    let details = &written.output.as_ref().unwrap()["ResultWriterDetails"];
    assert_eq!(details["Bucket"], bucket.as_str());
    let manifest_key = details["Key"].as_str().unwrap();
    assert!(
        manifest_key.starts_with("results/") && manifest_key.ends_with("/manifest.json"),
        "{manifest_key}"
    );
    let read = |key: String| {
        let s3 = world.s3().clone();
        let bucket = bucket.clone();
        async move {
            let out = s3.get_object().bucket(bucket).key(key).send().await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&out.body.collect().await.unwrap().into_bytes()).unwrap()
        }
    };
    let manifest = read(manifest_key.to_string()).await;
    let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
        .as_str()
        .unwrap()
        .to_string();
    let succeeded = read(succeeded_key).await;
    let outputs: Vec<&str> = succeeded
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Output"].as_str().unwrap())
        .collect();
    assert_eq!(outputs, [r#"{"n":1}"#, r#"{"n":2}"#], "MaxItems 2 of 3");
    assert_eq!(manifest["MapRunArn"], written.output.as_ref().unwrap()["MapRunArn"]);
}

/// `aws-sdk:s3:*` tasks against the world's bucket; a missing key is `S3.NoSuchKey` for Catch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_sdk_s3_tasks_use_the_worlds_bucket() {
    let world = quiet_world().await;
    let bucket = &world.names.bucket;
    let task = |action: &str, next: serde_json::Value| {
        let mut state = json!({"Type": "Task", "Resource": format!("arn:aws:states:::aws-sdk:s3:{action}"),
            "Parameters": {"Bucket": bucket, "Key": "notes/a.txt"}, "ResultPath": format!("$.{action}")});
        state.as_object_mut().unwrap().extend(next.as_object().unwrap().clone());
        state
    };
    let mut put = task("putObject", json!({"Next": "Head"}));
    put["Parameters"]["Body"] = json!("hello");
    let definition = json!({"StartAt": "Put", "States": {
        "Put": put,
        "Head": task("headObject", json!({"Next": "Get"})),
        "Get": task("getObject", json!({"Next": "Delete"})),
        "Delete": task("deleteObject", json!({"Next": "GetAgain"})),
        "GetAgain": task("getObject", json!({"Catch": [{"ErrorEquals": ["S3.NoSuchKey"], "ResultPath": "$.missing", "Next": "Done"}], "Next": "Done"})),
        "Done": {"Type": "Succeed"}}});
    let execution = run(&world, &definition, json!({})).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
    let output = execution.output.unwrap();
    assert_eq!(output["headObject"]["ContentLength"], 5);
    assert_eq!(output["getObject"]["Body"], "hello");
    assert_eq!(output["missing"]["Error"], "S3.NoSuchKey");
}

/// A Distributed Map over an S3 Inventory: the manifest names gzipped CSV files (no header) whose
/// columns are its `fileSchema`; each row is an item keyed by those names.
/// (docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html, "S3 inventory";
/// docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory-location.html, the manifest)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributed_map_reads_an_s3_inventory() {
    use std::io::Write;
    let world = quiet_world().await;
    let bucket = world.names.bucket.clone();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"\"src\",\"in/a.data\",\"3\"\n\"src\",\"in/b.data\",\"5\"\n")
        .unwrap();
    let data = gz.finish().unwrap();
    let manifest = json!({"sourceBucket": "src", "destinationBucket": format!("arn:aws:s3:::{bucket}"),
        "version": "2016-11-30", "fileFormat": "CSV", "fileSchema": "Bucket, Key, Size",
        "files": [{"key": "inventory/data/part-0.csv.gz", "size": data.len(), "MD5checksum": "x"}]});
    for (key, body) in [
        ("inventory/data/part-0.csv.gz", data),
        ("inventory/manifest.json", manifest.to_string().into_bytes()),
    ] {
        world
            .s3()
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map",
        "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "MANIFEST"},
                       "Parameters": {"Bucket": bucket, "Key": "inventory/manifest.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"key.$": "$.Key"}, "End": true}}},
        "End": true}}});
    let execution = run(&world, &definition, json!({})).await;
    assert_eq!(execution.status, Status::Succeeded, "{:?}", execution.cause);
    assert_eq!(
        execution.output,
        Some(json!([{"key": "in/a.data"}, {"key": "in/b.data"}]))
    );
}
