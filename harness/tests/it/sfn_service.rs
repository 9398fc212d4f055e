//! The Step Functions API on `harness up`'s one endpoint, driven by the AWS SDK for Rust as a user
//! would: the project's state machine is listed under its deployed name, a submitted job's
//! execution is found with its history, a slow execution is stopped (ABORTED), and errors come
//! back as the SDK's typed errors.

use crate::common::up::Up;
use aws_sdk_sfn::config::interceptors::BeforeSerializationInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::endpoint::EndpointPrefix;

/// The SDK puts `sync-` before the host for TestState and StartSyncExecution (AWS serves them on
/// `sync-states.<region>.amazonaws.com`); a local endpoint is an IP, so the prefix is dropped.
#[derive(Debug)]
struct NoHostPrefix;

impl Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_serialization(
        &self,
        _context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().unset::<EndpointPrefix>();
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_sees_the_worlds_state_machine_and_executions() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("in")).unwrap();
    std::fs::write(root.path().join("in/seen.data"), b"seen by the SDK\n").unwrap();
    let mut up = Up::start(root.path());
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(up.var("AWS_ENDPOINT_URL"))
        .region(aws_config::Region::new(up.var("AWS_REGION").to_string()))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&config)
            .interceptor(NoHostPrefix)
            .build(),
    );

    // The project's state machine, under the name the template deploys it with.
    let listed = sfn.list_state_machines().send().await.unwrap();
    let machine = listed
        .state_machines()
        .iter()
        .find(|m| m.name() == "FSA-steam-dev-FpacFLPIDS-FileChecks")
        .expect("the deployed name");
    assert_eq!(machine.state_machine_arn(), up.var("STATE_MACHINE_ARN"));
    let machine_arn = machine.state_machine_arn().to_string();
    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .unwrap();
    assert!(described.definition().contains("UnwrapRecord"));
    assert!(
        described.definition().contains(":function:SetRunning"),
        "DefinitionSubstitutions applied"
    );

    // A job submitted through the table runs as an execution the SDK can find and read.
    let (code, job_id, err) = up.harness(&["submit", "--project", "FLPIDS-NATS", "--remote-path", "/in/seen.data"]);
    assert_eq!(code, 0, "{err}");
    let finished = up
        .stderr
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.contains(&job_id) && !l.contains(" RUNNING "))
        .unwrap();
    assert!(finished.contains("SUCCEEDED"), "{finished}");
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine_arn)
        .send()
        .await
        .unwrap();
    let mut found = None;
    for listed in executions.executions() {
        let described = sfn
            .describe_execution()
            .execution_arn(listed.execution_arn())
            .send()
            .await
            .unwrap();
        if described.input().unwrap_or_default().contains(&job_id) {
            found = Some(described);
        }
    }
    let execution = found.expect("the job's execution is listed");
    assert_eq!(execution.status(), &ExecutionStatus::Succeeded);
    assert!(execution.stop_date().is_some());
    assert!(
        execution
            .execution_arn()
            .starts_with("arn:aws:states:us-east-1:123456789012:execution:FSA-steam-dev-FpacFLPIDS-FileChecks:")
    );
    let history = sfn
        .get_execution_history()
        .execution_arn(execution.execution_arn())
        .send()
        .await
        .unwrap();
    let types: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
    assert_eq!(types.first(), Some(&&HistoryEventType::ExecutionStarted));
    assert_eq!(types.last(), Some(&&HistoryEventType::ExecutionSucceeded));
    assert!(types.contains(&&HistoryEventType::LambdaFunctionSucceeded), "{types:?}");

    // A slow execution of a machine created through the API, stopped.
    let slow = sfn
        .create_state_machine()
        .name("Slow")
        .role_arn("arn:aws:iam::123456789012:role/slow")
        .definition(r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#)
        .send()
        .await
        .unwrap();
    let started = sfn
        .start_execution()
        .state_machine_arn(slow.state_machine_arn())
        .name("to-stop")
        .input(r#"{"n": 1}"#)
        .send()
        .await
        .unwrap();
    let running = sfn
        .describe_execution()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(running.status(), &ExecutionStatus::Running);
    sfn.stop_execution()
        .execution_arn(started.execution_arn())
        .cause("not needed")
        .send()
        .await
        .unwrap();
    let stopped = sfn
        .describe_execution()
        .execution_arn(started.execution_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status(), &ExecutionStatus::Aborted);
    let history = sfn
        .get_execution_history()
        .execution_arn(started.execution_arn())
        .reverse_order(true)
        .send()
        .await
        .unwrap();
    assert_eq!(history.events()[0].r#type(), &HistoryEventType::ExecutionAborted);

    // TestState: one state of the project's machine, its Task mocked to fail.
    let tested = sfn
        .test_state()
        .definition(described.definition())
        .state_name("TransferFile")
        .role_arn("arn:aws:iam::123456789012:role/test")
        .input(r#"{"job": {"jobId": "j", "project": "p"}, "executionArn": "arn"}"#)
        .inspection_level(aws_sdk_sfn::types::InspectionLevel::Debug)
        .mock(
            aws_sdk_sfn::types::MockInput::builder()
                .error_output(
                    aws_sdk_sfn::types::MockErrorOutput::builder()
                        .error("RemoteFileNotFound")
                        .cause("550 no such file")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        tested.status(),
        Some(&aws_sdk_sfn::types::TestExecutionStatus::CaughtError)
    );
    assert_eq!(tested.next_state(), Some("FinalizeJobOnCatch"));
    assert!(tested.inspection_data().and_then(|d| d.after_parameters()).is_some());

    // Errors the SDK matches by type.
    let missing = sfn
        .describe_state_machine()
        .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:Nope")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing.as_service_error().unwrap().is_state_machine_does_not_exist(),
        "{missing:?}"
    );
    let invalid = sfn
        .create_state_machine()
        .name("Broken")
        .role_arn("arn:aws:iam::123456789012:role/broken")
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}"#)
        .send()
        .await
        .unwrap_err();
    let invalid = invalid.into_service_error();
    assert!(invalid.is_invalid_definition(), "{invalid:?}");
    assert!(invalid.to_string().contains("Missing"), "{invalid}");
}
