//! Service integrations against the world's AWS: the optimized DynamoDB tasks and the AWS SDK
//! integrations for DynamoDB and Secrets Manager read and write the world's table and secret,
//! and an API error reaches Retry/Catch under Step Functions' name for it
//! (docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html, …/supported-services-awssdk.html).

use harness::world::{PipeState, World, WorldOptions};
use pipeline::job::{FileRef, Job, JobKey};
use serde_json::json;
use sfn::Status;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_and_secrets_manager_tasks_use_the_worlds_aws() {
    let world = World::boot(WorldOptions {
        pipe: PipeState::Stopped,
        ..Default::default()
    })
    .await
    .unwrap();
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
    let arn = world
        .service
        .register(
            "Integrations",
            &definition.to_string(),
            "arn:aws:iam::123456789012:role/r",
        )
        .unwrap();
    let execution = world
        .service
        .start(&arn, json!({"id": "job-int"}), None)
        .unwrap()
        .wait()
        .await;

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
            .find(|e| e["type"] == "TaskStateExited" && e["stateExitedEventDetails"]["name"] == name)
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(e["stateExitedEventDetails"]["output"].as_str().unwrap())
                    .unwrap()
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
    let scheduled = history.iter().find(|e| e["type"] == "TaskScheduled").unwrap();
    assert_eq!(scheduled["taskScheduledEventDetails"]["resourceType"], "dynamodb");
    assert_eq!(scheduled["taskScheduledEventDetails"]["resource"], "getItem");
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
