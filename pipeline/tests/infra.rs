//! The state machine definition and the stack agree with the code: the seed's states exist,
//! every error the ASL matches is one the handlers raise, transient errors are retried and
//! permanent ones are not, and every substitution the ASL uses is provided by the template.

use std::collections::BTreeSet;

use pipeline::PipelineError;
use serde_json::Value;

fn infra(file: &str) -> String {
    std::fs::read_to_string(format!("{}/../infra/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn asl() -> Value {
    serde_json::from_str(&infra("statemachine.asl.json")).unwrap()
}

fn error_names(retriers: &Value) -> BTreeSet<String> {
    retriers
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| {
            r["ErrorEquals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn names_the_seed_states_in_order() {
    let asl = asl();
    assert_eq!(asl["StartAt"], "UnwrapRecord");
    assert_eq!(asl["States"]["UnwrapRecord"]["Type"], "Pass");
    assert_eq!(asl["States"]["UnwrapRecord"]["InputPath"], "$[0]");
    for state in ["SetRunning", "TransferFile", "FinalizeJob", "FinalizeJobOnCatch"] {
        assert_eq!(asl["States"][state]["Type"], "Task", "{state}");
    }
    assert_eq!(asl["States"]["TransferFile"]["Next"], "FinalizeJob");
    assert_eq!(asl["States"]["TransferFile"]["Catch"][0]["Next"], "FinalizeJobOnCatch");
    for state in ["SetRunning", "TransferFile", "FinalizeJob", "FinalizeJobOnCatch"] {
        assert_eq!(
            asl["States"][state]["Parameters"]["executionArn.$"], "$$.Execution.Id",
            "{state}"
        );
    }
}

#[test]
fn retries_exactly_the_transient_errors() {
    let asl = asl();
    let known: BTreeSet<&str> = PipelineError::NAMES.into_iter().collect();
    for (name, state) in asl["States"].as_object().unwrap() {
        for name_matched in error_names(&state["Retry"]).iter().chain(&error_names(&state["Catch"])) {
            let platform = name_matched.starts_with("States.") || name_matched.starts_with("Lambda.");
            assert!(
                platform || known.contains(name_matched.as_str()),
                "{name} matches unknown error {name_matched}"
            );
        }
    }
    let retried = error_names(&asl["States"]["TransferFile"]["Retry"]);
    for name in PipelineError::NAMES {
        let transient = [
            PipelineError::TooManyConnections(String::new()),
            PipelineError::ConnectionLimitReached(String::new()),
            PipelineError::LandingKeyBusy(String::new()),
            PipelineError::TransientNetwork(String::new()),
            PipelineError::IntegrityMismatch(String::new()),
            PipelineError::SourceChanged(String::new()),
            PipelineError::DeadlineExceeded(String::new()),
            PipelineError::PartialProgress(String::new()),
            PipelineError::AwsServiceUnavailable(String::new()),
        ]
        .iter()
        .any(|e| e.name() == name && e.is_transient());
        assert_eq!(
            retried.contains(name),
            transient,
            "TransferFile retries {name}: expected {transient}"
        );
    }
}

#[test]
fn template_provides_every_substitution() {
    let definition = infra("statemachine.asl.json");
    let template = infra("template.yaml");
    let mut rest = definition.as_str();
    let mut used = BTreeSet::new();
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').unwrap();
        used.insert(rest[start + 2..start + end].to_string());
        rest = &rest[start + end..];
    }
    assert_eq!(used.len(), 3, "{used:?}");
    for name in used {
        assert!(
            template.contains(&format!("        {name}: !GetAtt")),
            "DefinitionSubstitutions lacks {name}"
        );
    }
    assert!(template.contains("DefinitionUri: statemachine.asl.json"));
    assert!(template.contains("InvocationType: FIRE_AND_FORGET"));
    assert!(template.contains("BatchSize: 1"));
}

/// The longest a Task can take over all its attempts: every retrier exhausted (they count
/// separately), each attempt running to the function's timeout, every backoff at its longest.
/// A TransferFile attempt that finds every connection lease held ends after its few lease writes
/// (with the SDK's own retries), long before the function's timeout.
const BUSY_ATTEMPT_SECONDS: f64 = 30.0;

fn worst_case_seconds(state: &Value, attempt_seconds: f64) -> f64 {
    let mut attempts = 1.0;
    let mut waits = 0.0;
    for retrier in state["Retry"].as_array().into_iter().flatten() {
        // Admission waits for a Lambda slot up to the execution's timeout by design (see
        // `admission_waits_as_long_as_the_execution_may_run`): no fault budget to cover.
        if retrier["ErrorEquals"] == serde_json::json!(["Lambda.TooManyRequestsException"]) {
            continue;
        }
        // Every PartialProgress attempt moved the upload on, and a LandingKeyBusy one waits for
        // another job's transfer, however long: retried for as long as the execution may run, by
        // design (ARCHITECTURE.md, "Retry accounting for large files", "Jobs at one key").
        if retrier["ErrorEquals"] == serde_json::json!(["PartialProgress"])
            || retrier["ErrorEquals"] == serde_json::json!(["LandingKeyBusy"])
        {
            continue;
        }
        if retrier["ErrorEquals"] == serde_json::json!(["ConnectionLimitReached"]) {
            let (max, interval, rate, cap) = (
                retrier["MaxAttempts"].as_f64().unwrap(),
                retrier["IntervalSeconds"].as_f64().unwrap(),
                retrier["BackoffRate"].as_f64().unwrap(),
                retrier["MaxDelaySeconds"].as_f64().unwrap(),
            );
            waits += (0..max as i32).map(|k| (interval * rate.powi(k)).min(cap)).sum::<f64>();
            waits += max * BUSY_ATTEMPT_SECONDS;
            continue;
        }
        let max = retrier["MaxAttempts"].as_f64().unwrap_or(3.0);
        let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
        let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX);
        attempts += max;
        waits += (0..max as i32).map(|k| (interval * rate.powi(k)).min(cap)).sum::<f64>();
    }
    attempts * attempt_seconds + waits
}

/// A retrier's mean total wait with full jitter: half of each backoff, over every attempt.
fn mean_wait_with_full_jitter(retrier: &Value) -> f64 {
    let (max, interval, rate, cap) = (
        retrier["MaxAttempts"].as_f64().unwrap(),
        retrier["IntervalSeconds"].as_f64().unwrap(),
        retrier["BackoffRate"].as_f64().unwrap(),
        retrier["MaxDelaySeconds"].as_f64().unwrap(),
    );
    (0..max as i32).map(|k| (interval * rate.powi(k)).min(cap) / 2.0).sum()
}

/// Admission control (template.yaml, next to TransferFileConcurrency): every Task's first
/// retrier takes `Lambda.TooManyRequestsException` alone and, on average with its full jitter,
/// waits at least as long as the execution may run, so a throttled job ends by the execution's
/// timeout, never because its throttle retries ran out while others held the slots.
#[test]
fn admission_waits_as_long_as_the_execution_may_run() {
    let asl = asl();
    let timeout = asl["TimeoutSeconds"].as_f64().unwrap();
    let template = infra("template.yaml");
    assert!(
        template.contains("# Admission control for bursts."),
        "the template explains the choice"
    );
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let first = &state["Retry"][0];
        assert_eq!(
            first["ErrorEquals"],
            serde_json::json!(["Lambda.TooManyRequestsException"]),
            "{name}: the admission retrier comes first"
        );
        assert_eq!(first["JitterStrategy"], "FULL", "{name}");
        let mean = mean_wait_with_full_jitter(first);
        assert!(
            mean >= timeout,
            "{name}: admission waits {mean} s on average, less than TimeoutSeconds {timeout}"
        );
        let others = state["Retry"].as_array().unwrap()[1..].iter();
        for retrier in others {
            let names = retrier["ErrorEquals"].as_array().unwrap();
            assert!(
                !names.iter().any(|n| n == "Lambda.TooManyRequestsException"),
                "{name}: only the admission retrier takes throttles"
            );
        }
    }
}

/// A job waiting for its landing key waits as long as the other job's transfer may take: the
/// LandingKeyBusy retrier's mean wait (full jitter) is at least the execution's TimeoutSeconds,
/// so the waiter ends by its own timeout, never because its retries ran out while a large file
/// at the same key went on (its PartialProgress retries are bounded by that timeout too).
#[test]
fn a_job_waits_for_its_landing_key_as_long_as_the_execution_may_run() {
    let asl = asl();
    let timeout = asl["TimeoutSeconds"].as_f64().unwrap();
    let (name, state) = ("TransferFile", &asl["States"]["TransferFile"]);
    let retriers = state["Retry"].as_array().unwrap();
    let busy = retriers
        .iter()
        .find(|r| r["ErrorEquals"] == serde_json::json!(["LandingKeyBusy"]))
        .unwrap_or_else(|| panic!("{name}: a retrier of its own for LandingKeyBusy"));
    assert_eq!(busy["JitterStrategy"], "FULL");
    let mean = mean_wait_with_full_jitter(busy);
    assert!(
        mean >= timeout,
        "{name}: LandingKeyBusy waits {mean} s on average, less than {timeout}"
    );
}

#[test]
fn the_execution_timeout_covers_the_worst_case_retry_budget() {
    let asl = asl();
    let template = infra("template.yaml");
    // The Lambda timeouts: a function's own, else the Globals'.
    let template: serde_yaml::Value = serde_yaml::from_str(&template).unwrap();
    let global = template["Globals"]["Function"]["Timeout"].as_f64().unwrap();
    let timeout_of = |resource: &str| -> f64 {
        template["Resources"][resource]["Properties"]["Timeout"]
            .as_f64()
            .unwrap_or(global)
    };
    let transfer = timeout_of("TransferFileFunction");
    assert_eq!(transfer, 900.0);
    let states = &asl["States"];
    let worst = worst_case_seconds(&states["SetRunning"], timeout_of("SetRunningFunction"))
        + worst_case_seconds(&states["TransferFile"], transfer)
        + worst_case_seconds(&states["FinalizeJobOnCatch"], timeout_of("FinalizeJobFunction"));
    let timeout = asl["TimeoutSeconds"].as_f64().unwrap();
    assert!(
        timeout >= worst,
        "TimeoutSeconds {timeout} is shorter than the worst case {worst} s: an execution could time out while its own retries would still succeed"
    );
}

/// A Task's own timeout is above its function's: Lambda ends a slow invocation (our
/// DeadlineExceeded or PartialProgress first, else Sandbox.Timedout, seen as Lambda.Unknown) and
/// the Task's Retry takes it. A Task timer at or below the function's timeout fires first with
/// States.Timeout, which no Retry takes, while the Lambda still runs and writes.
#[test]
fn every_task_outlasts_its_function() {
    let asl = asl();
    let template: serde_yaml::Value = serde_yaml::from_str(&infra("template.yaml")).unwrap();
    let global = template["Globals"]["Function"]["Timeout"].as_f64().unwrap();
    for (name, state) in asl["States"].as_object().unwrap() {
        if state["Type"] != "Task" {
            continue;
        }
        let resource = state["Resource"].as_str().unwrap();
        let function = resource.trim_start_matches("${").trim_end_matches("Arn}");
        let lambda = template["Resources"][function]["Properties"]["Timeout"]
            .as_f64()
            .unwrap_or(global);
        if let Some(task) = state["TimeoutSeconds"].as_f64() {
            assert!(
                task >= lambda + 30.0,
                "{name}: TimeoutSeconds {task} does not outlast {function}'s Timeout {lambda} (by 30 s at least)"
            );
        }
        let retried = error_names(&state["Retry"]);
        assert!(!retried.contains("States.Timeout"), "{name}");
    }
}

/// The Pipe starts at the stream's oldest record: a Pipe created or replaced after jobs were
/// triggered still delivers them (LATEST would drop every trigger written while it was being
/// replaced). Records it reads again are harmless: SetRunning takes only a TRIGGERED job, so a
/// re-read of a job already taken ends DuplicateDelivery.
#[test]
fn the_pipe_reads_the_stream_from_its_oldest_record() {
    let template: serde_yaml::Value = serde_yaml::from_str(&infra("template.yaml")).unwrap();
    let pipes: Vec<&serde_yaml::Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Pipes::Pipe")
        .collect();
    assert_eq!(pipes.len(), 1);
    let stream = &pipes[0]["Properties"]["SourceParameters"]["DynamoDBStreamParameters"];
    assert_eq!(stream["StartingPosition"], "TRIM_HORIZON");
}

/// The actions a function's inline policies allow (statements as written, resources aside).
fn allowed_actions(template: &serde_yaml::Value, function: &str) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    for policy in template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            match &statement["Action"] {
                serde_yaml::Value::String(a) => {
                    actions.insert(a.clone());
                }
                serde_yaml::Value::Sequence(list) => {
                    actions.extend(list.iter().filter_map(|a| a.as_str().map(str::to_string)));
                }
                _ => {}
            }
        }
    }
    actions
}

/// Issue 22: every taken job has a deadline timer past the execution's timeout; the functions
/// that arm, disarm and answer it may, and nothing more; HealJob's asynchronous invocations are
/// configured on purpose, and the healing rule's dead-letter queue has an alarm of its own.
#[test]
fn the_deadline_timer_fires_past_the_execution_timeout_with_least_privilege() {
    let template: serde_yaml::Value = serde_yaml::from_str(&infra("template.yaml")).unwrap();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    let after = variables["HEAL_TIMER_AFTER_SECS"]
        .as_u64()
        .expect("HEAL_TIMER_AFTER_SECS");
    let timeout = asl()["TimeoutSeconds"].as_u64().unwrap();
    assert!(
        after > timeout,
        "the timer ({after} s) must fire after the execution's timeout ({timeout} s)"
    );
    assert_eq!(
        after,
        pipeline::timer::DEFAULT_AFTER.as_secs(),
        "the pipeline's default agrees"
    );
    for name in ["HEAL_TIMER_GROUP", "HEAL_TIMER_TARGET_ARN", "HEAL_TIMER_ROLE_ARN"] {
        assert!(!variables[name].is_null(), "{name} is set for the functions");
    }
    let resources = &template["Resources"];
    assert_eq!(resources["HealTimerGroup"]["Type"], "AWS::Scheduler::ScheduleGroup");
    let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        allowed_actions(&template, "SetRunningFunction"),
        set(&[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "scheduler:CreateSchedule",
            "scheduler:DeleteSchedule",
            "iam:PassRole"
        ])
    );
    assert_eq!(
        allowed_actions(&template, "FinalizeJobFunction"),
        set(&["dynamodb:UpdateItem", "scheduler:DeleteSchedule"])
    );
    assert_eq!(
        allowed_actions(&template, "HealJobFunction"),
        set(&[
            "dynamodb:GetItem",
            "dynamodb:UpdateItem",
            "sqs:SendMessage",
            "states:DescribeExecution",
            "scheduler:DeleteSchedule"
        ])
    );
    // The role Scheduler assumes invokes HealJob and nothing else.
    let role = &resources["HealTimerRole"]["Properties"];
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "scheduler.amazonaws.com"
    );
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let actions: Vec<_> = statements.iter().map(|s| s["Action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["lambda:InvokeFunction", "sqs:SendMessage"]);
    assert!(
        format!("{:?}", statements[1]["Resource"]).contains("HealRuleDeadLetterQueue"),
        "a firing Scheduler could not deliver goes to the healing DLQ"
    );
    assert!(!variables["HEAL_TIMER_DLQ_ARN"].is_null());
    // HealJob's asynchronous invocation config, and the rule target's DLQ with its alarm.
    let heal = &resources["HealJobFunction"]["Properties"];
    assert_eq!(heal["EventInvokeConfig"]["MaximumRetryAttempts"], 2);
    assert!(heal["EventInvokeConfig"]["MaximumEventAgeInSeconds"].as_u64().is_some());
    let rule_dlq = format!(
        "{:?}",
        heal["Events"]["ExecutionEnded"]["Properties"]["DeadLetterConfig"]["Arn"]
    );
    assert!(rule_dlq.contains("HealRuleDeadLetterQueue"), "{rule_dlq}");
    let alarm = format!("{:?}", resources["HealRuleDeadLetterAlarm"]["Properties"]["Dimensions"]);
    assert!(alarm.contains("HealRuleDeadLetterQueue"), "{alarm}");
}

// ================================================================================================
// TransferFile's IAM policy (issue 21, item 8 "open defaults"): object permissions only under
// the landing projects' prefixes, KMS only on a key the deployment names, and the bucket's
// versioning readable. The template's policies are resolved as CloudFormation resolves them
// (conditions, !If, !Sub, !Join, !Split, !Select), for a few sets of parameter values.
// ================================================================================================

mod transfer_file_iam {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{Value as Json, json};
    use serde_yaml::Value;

    const PARTITION: &str = "aws";
    const REGION: &str = "us-east-1";
    const ACCOUNT: &str = "123456789012";
    /// The physical name CloudFormation gives the bucket the stack creates (`!Ref LandingBucket`).
    const CREATED_BUCKET: &str = "filechecks-landingbucket-1a2b3c4d5e6f";
    const EXISTING_BUCKET: &str = "punkdev-fpacfsa-landing-zone";
    const CUSTOMER_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    /// The object-level actions TransferFile needs (S3 authorizes them against object ARNs).
    const OBJECT_ACTIONS: [&str; 7] = [
        "s3:PutObject",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    ];
    /// How many projects one deployment's policy holds (the template's slots).
    const SLOTS: usize = 10;

    /// The template with parameter values in place of some defaults.
    struct Stack {
        doc: Value,
        overrides: BTreeMap<&'static str, String>,
    }

    /// An intrinsic function, short (`!Sub`) or long (`Fn::Sub:`) form: its name and argument.
    fn function(value: &Value) -> Option<(String, &Value)> {
        match value {
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                let tag = tag.trim_start_matches('!');
                let name = match tag {
                    "Ref" | "Condition" => tag.to_string(),
                    _ => format!("Fn::{tag}"),
                };
                Some((name, &tagged.value))
            }
            Value::Mapping(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next()?;
                let key = key.as_str()?;
                (key == "Ref" || key.starts_with("Fn::")).then(|| (key.to_string(), arg))
            }
            _ => None,
        }
    }

    fn strings(value: &Json) -> Vec<String> {
        match value {
            Json::String(s) => vec![s.clone()],
            Json::Array(items) => items.iter().flat_map(strings).collect(),
            Json::Null => Vec::new(),
            other => panic!("{other} is neither a string nor a list"),
        }
    }

    impl Stack {
        fn new(overrides: &[(&'static str, &str)]) -> Self {
            let doc: Value = serde_yaml::from_str(&super::infra("template.yaml")).unwrap();
            let overrides = overrides.iter().map(|(k, v)| (*k, v.to_string())).collect();
            Stack { doc, overrides }
        }

        /// A parameter's value (its override, else its Default); `None` when it is not declared.
        fn parameter(&self, name: &str) -> Option<Json> {
            let declared = self.doc["Parameters"].get(name)?;
            let text = match (self.overrides.get(name), &declared["Default"]) {
                (Some(value), _) => value.clone(),
                (None, Value::String(s)) => s.clone(),
                (None, Value::Number(n)) => n.to_string(),
                (None, other) => panic!("the parameter {name} has no override and no usable Default: {other:?}"),
            };
            Some(if declared["Type"] == "CommaDelimitedList" {
                json!(text.split(',').collect::<Vec<_>>())
            } else {
                json!(text)
            })
        }

        /// `!Ref name`; `None` is `AWS::NoValue`.
        fn reference(&self, name: &str) -> Option<Json> {
            match name {
                "AWS::NoValue" => None,
                "AWS::Partition" => Some(json!(PARTITION)),
                "AWS::Region" => Some(json!(REGION)),
                "AWS::AccountId" => Some(json!(ACCOUNT)),
                "LandingBucket" => Some(json!(CREATED_BUCKET)),
                _ => self.parameter(name).or_else(|| {
                    assert!(!self.doc["Resources"][name].is_null(), "!Ref of the unknown {name}");
                    Some(json!(format!("{name}-physical-id")))
                }),
            }
        }

        fn get_att(&self, resource: &str, attribute: &str) -> Json {
            // SAM generates `<Function><Event>` for a function's EventBridgeRule event.
            let generated_rule = self.doc["Resources"]
                .as_mapping()
                .into_iter()
                .flatten()
                .filter_map(|(id, r)| Some((id.as_str()?, r)))
                .any(|(id, r)| {
                    r["Properties"]["Events"]
                        .as_mapping()
                        .into_iter()
                        .flatten()
                        .any(|(event, e)| {
                            e["Type"] == "EventBridgeRule"
                                && event.as_str().is_some_and(|ev| format!("{id}{ev}") == resource)
                        })
                });
            assert!(
                !self.doc["Resources"][resource].is_null() || generated_rule,
                "!GetAtt of the unknown {resource}"
            );
            match (resource, attribute) {
                ("LandingBucket", "Arn") => json!(format!("arn:{PARTITION}:s3:::{CREATED_BUCKET}")),
                _ => json!(format!(
                    "arn:{PARTITION}:test:{REGION}:{ACCOUNT}:{resource}/{attribute}"
                )),
            }
        }

        fn condition(&self, name: &str) -> bool {
            let declared = &self.doc["Conditions"][name];
            assert!(!declared.is_null(), "no condition {name}");
            self.holds(declared)
        }

        /// A condition function (Conditions, a Rule's RuleCondition and Assert).
        fn holds(&self, value: &Value) -> bool {
            let (name, arg) = match value {
                Value::Mapping(map) if map.len() == 1 && map.contains_key("Condition") => {
                    ("Condition".to_string(), &map["Condition"])
                }
                _ => function(value).unwrap_or_else(|| panic!("{value:?} is not a condition function")),
            };
            let args = || arg.as_sequence().unwrap_or_else(|| panic!("{name} takes a list"));
            match name.as_str() {
                "Fn::Equals" => self.eval(&args()[0]) == self.eval(&args()[1]),
                "Fn::Not" => !self.holds(&args()[0]),
                "Fn::And" => args().iter().all(|c| self.holds(c)),
                "Fn::Or" => args().iter().any(|c| self.holds(c)),
                "Condition" => self.condition(arg.as_str().unwrap()),
                other => panic!("{other} is not a condition function"),
            }
        }

        /// `value` resolved; `None` is `AWS::NoValue`, dropped from the lists and maps around it.
        fn eval(&self, value: &Value) -> Option<Json> {
            if let Some((name, arg)) = function(value) {
                return self.call(&name, arg);
            }
            Some(match value {
                Value::Null => Json::Null,
                Value::Bool(b) => json!(b),
                Value::Number(n) => serde_json::to_value(n).unwrap(),
                Value::String(s) => json!(s),
                Value::Sequence(items) => Json::Array(items.iter().filter_map(|v| self.eval(v)).collect()),
                Value::Mapping(map) => Json::Object(
                    map.iter()
                        .filter_map(|(k, v)| Some((k.as_str().unwrap().to_string(), self.eval(v)?)))
                        .collect(),
                ),
                Value::Tagged(tagged) => panic!("!{} is not a function", tagged.tag),
            })
        }

        fn text(&self, value: &Value) -> String {
            match self.eval(value) {
                Some(Json::String(s)) => s,
                other => panic!("{value:?} resolves to {other:?}, not a string"),
            }
        }

        fn list(&self, value: &Value) -> Vec<Json> {
            match self.eval(value) {
                Some(Json::Array(items)) => items,
                other => panic!("{value:?} resolves to {other:?}, not a list"),
            }
        }

        fn call(&self, name: &str, arg: &Value) -> Option<Json> {
            let args = || arg.as_sequence().unwrap_or_else(|| panic!("{name} takes a list"));
            match name {
                "Ref" => self.reference(arg.as_str().unwrap()),
                "Fn::GetAtt" => {
                    let (resource, attribute) = match arg {
                        Value::String(s) => s.split_once('.').unwrap(),
                        _ => (args()[0].as_str().unwrap(), args()[1].as_str().unwrap()),
                    };
                    Some(self.get_att(resource, attribute))
                }
                "Fn::If" => {
                    let branch = if self.condition(args()[0].as_str().unwrap()) {
                        1
                    } else {
                        2
                    };
                    self.eval(&args()[branch])
                }
                "Fn::Join" => {
                    let delimiter = args()[0].as_str().expect("a literal Fn::Join delimiter");
                    let items: Vec<String> = self.list(&args()[1]).iter().flat_map(strings).collect();
                    Some(json!(items.join(delimiter)))
                }
                "Fn::Split" => {
                    let delimiter = args()[0].as_str().expect("a literal Fn::Split delimiter");
                    Some(json!(self.text(&args()[1]).split(delimiter).collect::<Vec<_>>()))
                }
                "Fn::Select" => {
                    let index = match self.eval(&args()[0]) {
                        Some(Json::Number(n)) => n.as_u64().unwrap() as usize,
                        Some(Json::String(s)) => s.parse().unwrap(),
                        other => panic!("Fn::Select index {other:?}"),
                    };
                    let items = self.list(&args()[1]);
                    // CloudFormation fails the stack operation on an index past the end.
                    let item = items.get(index);
                    Some(
                        item.unwrap_or_else(|| panic!("Fn::Select: no index {index} in {items:?}"))
                            .clone(),
                    )
                }
                "Fn::Sub" => Some(json!(match arg {
                    Value::String(template) => self.sub(template, None),
                    _ => self.sub(args()[0].as_str().expect("a literal Fn::Sub string"), Some(&args()[1])),
                })),
                other => panic!("the test does not resolve {other}"),
            }
        }

        fn sub(&self, template: &str, variables: Option<&Value>) -> String {
            let mut out = String::new();
            let mut rest = template;
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let end = start + rest[start..].find('}').unwrap();
                let name = &rest[start + 2..end];
                if let Some(literal) = name.strip_prefix('!') {
                    out.push_str(&format!("${{{literal}}}"));
                } else {
                    let value = match variables.and_then(|v| v.get(name)) {
                        Some(value) => self.eval(value),
                        None => match name.split_once('.') {
                            Some((resource, attribute)) => Some(self.get_att(resource, attribute)),
                            None => self.reference(name),
                        },
                    };
                    match value {
                        Some(Json::String(s)) => out.push_str(&s),
                        other => panic!("${{{name}}} in {template:?} resolves to {other:?}"),
                    }
                }
                rest = &rest[end + 1..];
            }
            out + rest
        }

        /// The statements of a function's `Policies`, resolved.
        fn statements(&self, function: &str) -> Vec<Json> {
            let policies = &self.doc["Resources"][function]["Properties"]["Policies"];
            assert!(!policies.is_null(), "{function} has no Policies");
            self.list(policies)
                .iter()
                .flat_map(|policy| policy["Statement"].as_array().cloned().unwrap_or_default())
                .collect()
        }

        /// Every statement of every policy in the stack, resolved.
        fn every_statement(&self) -> Vec<Json> {
            fn collect(value: &Json, out: &mut Vec<Json>) {
                match value {
                    Json::Object(map) => {
                        for (key, value) in map {
                            match (key.as_str(), value) {
                                ("Statement", Json::Array(items)) => out.extend(items.iter().cloned()),
                                _ => collect(value, out),
                            }
                        }
                    }
                    Json::Array(items) => items.iter().for_each(|v| collect(v, out)),
                    _ => {}
                }
            }
            let mut out = Vec::new();
            collect(&self.eval(&self.doc["Resources"]).unwrap(), &mut out);
            out
        }

        /// The Rules whose RuleCondition holds and whose assertions fail (CloudFormation refuses
        /// the parameters with their AssertDescription).
        fn refused(&self) -> Vec<String> {
            let Some(rules) = self.doc.get("Rules").and_then(Value::as_mapping) else {
                return Vec::new();
            };
            let mut refused = Vec::new();
            for rule in rules.values() {
                if rule.get("RuleCondition").is_some_and(|c| !self.holds(c)) {
                    continue;
                }
                for assertion in rule["Assertions"].as_sequence().into_iter().flatten() {
                    if !self.holds(&assertion["Assert"]) {
                        refused.push(assertion["AssertDescription"].as_str().unwrap_or_default().to_string());
                    }
                }
            }
            refused
        }
    }

    fn has_action(statement: &Json, wanted: impl Fn(&str) -> bool) -> bool {
        strings(&statement["Action"]).iter().any(|a| wanted(a))
    }

    struct Case {
        name: &'static str,
        stack: Stack,
        bucket: &'static str,
        projects: BTreeSet<String>,
        key: Option<&'static str>,
    }

    fn cases() -> Vec<Case> {
        let ten: Vec<String> = (1..=SLOTS).map(|i| format!("PROJECT-{i:02}")).collect();
        let defaults = Stack::new(&[]);
        let default_projects = defaults
            .parameter("LandingProjects")
            .map(|p| strings(&p).into_iter().collect())
            .unwrap_or_default();
        vec![
            Case {
                name: "the defaults (the stack creates the bucket)",
                stack: defaults,
                bucket: CREATED_BUCKET,
                projects: default_projects,
                key: None,
            },
            Case {
                name: "an existing bucket, one project",
                stack: Stack::new(&[
                    ("ExistingBucketName", EXISTING_BUCKET),
                    ("LandingProjects", "FLPIDS-NATS"),
                ]),
                bucket: EXISTING_BUCKET,
                projects: ["FLPIDS-NATS".to_string()].into(),
                key: None,
            },
            Case {
                name: "an existing bucket under a customer-managed key, as many projects as the policy holds",
                stack: Stack::new(&[
                    ("ExistingBucketName", EXISTING_BUCKET),
                    ("LandingProjects", &ten.join(",")),
                    ("LandingBucketKmsKeyArn", CUSTOMER_KEY),
                ]),
                bucket: EXISTING_BUCKET,
                projects: ten.iter().cloned().collect(),
                key: Some(CUSTOMER_KEY),
            },
        ]
    }

    /// (a) TransferFile's object permissions are each under one landing project's prefix
    /// (`arn:…:s3:::<bucket>/<project>/*`), never the whole bucket, and every project listed is
    /// granted every object action the Lambda needs.
    #[test]
    fn transfer_file_objects_are_under_the_landing_projects_only() {
        for case in cases() {
            for project in &case.projects {
                assert!(
                    !project.contains(['*', '?', '/', '$']),
                    "{}: the project {project:?} is a wildcard or a path",
                    case.name
                );
            }
            let prefix = format!("arn:{PARTITION}:s3:::{}/", case.bucket);
            let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for statement in case.stack.statements("TransferFileFunction") {
                let actions = strings(&statement["Action"]);
                let on_objects: Vec<&String> = actions
                    .iter()
                    .filter(|a| OBJECT_ACTIONS.contains(&a.as_str()) || a.ends_with('*'))
                    .collect();
                if on_objects.is_empty() {
                    continue;
                }
                assert!(statement.get("NotResource").is_none(), "{}: NotResource", case.name);
                for resource in strings(&statement["Resource"]) {
                    let project = resource.strip_prefix(&prefix).and_then(|r| r.strip_suffix("/*"));
                    assert!(
                        project.is_some_and(|p| case.projects.contains(p)),
                        "{}: TransferFile's {on_objects:?} on {resource}: not under a landing project's prefix {prefix}<project>/ (projects {:?})",
                        case.name,
                        case.projects
                    );
                    for action in &on_objects {
                        granted
                            .entry(action.to_string())
                            .or_default()
                            .insert(project.unwrap().to_string());
                    }
                }
            }
            assert!(
                !case.projects.is_empty(),
                "{}: the template declares LandingProjects",
                case.name
            );
            for action in OBJECT_ACTIONS {
                assert_eq!(
                    granted.get(action),
                    Some(&case.projects),
                    "{}: {action} is granted under every landing project",
                    case.name
                );
            }
        }
    }

    /// More projects than the policy holds fail the deployment (IAM refuses a Resource outside
    /// the account's partition, naming it) instead of leaving the extra ones to fail at their
    /// first landing.
    #[test]
    fn more_landing_projects_than_the_policy_holds_fail_the_deployment() {
        let eleven: Vec<String> = (1..=SLOTS + 1).map(|i| format!("PROJECT-{i:02}")).collect();
        let stack = Stack::new(&[
            ("ExistingBucketName", EXISTING_BUCKET),
            ("LandingProjects", &eleven.join(",")),
        ]);
        let resources: Vec<String> = stack
            .statements("TransferFileFunction")
            .iter()
            .flat_map(|s| strings(&s["Resource"]))
            .collect();
        assert!(
            resources
                .iter()
                .any(|r| r.split(':').nth(1) != Some(PARTITION) && r.contains("LandingProjects")),
            "{resources:?}"
        );
    }

    /// (b) No policy grants KMS on every key of the account (`key/*`) or on `*`. TransferFile
    /// holds kms:GenerateDataKey/kms:Decrypt only when the deployment names the existing bucket's
    /// customer-managed key, on that key and through S3 only; the bucket the stack creates uses
    /// the AWS-managed aws/s3 key, whose key policy already lets the account use it through S3.
    #[test]
    fn kms_is_granted_only_on_the_key_the_deployment_names() {
        for case in cases() {
            for statement in case.stack.every_statement() {
                if !has_action(&statement, |a| a.starts_with("kms:") || a == "*") {
                    continue;
                }
                for resource in strings(&statement["Resource"]) {
                    assert!(
                        resource != "*" && !resource.ends_with("key/*"),
                        "{}: KMS on {resource}",
                        case.name
                    );
                }
            }
            let kms: Vec<Json> = case
                .stack
                .statements("TransferFileFunction")
                .into_iter()
                .filter(|s| has_action(s, |a| a.starts_with("kms:")))
                .collect();
            match case.key {
                None => assert!(kms.is_empty(), "{}: TransferFile holds {kms:?}", case.name),
                Some(key) => {
                    assert_eq!(kms.len(), 1, "{}: {kms:?}", case.name);
                    let statement = &kms[0];
                    assert_eq!(statement["Effect"], "Allow");
                    assert_eq!(strings(&statement["Resource"]), [key], "{}", case.name);
                    let actions: BTreeSet<String> = strings(&statement["Action"]).into_iter().collect();
                    assert_eq!(
                        actions,
                        ["kms:Decrypt".to_string(), "kms:GenerateDataKey".to_string()].into()
                    );
                    assert_eq!(
                        statement["Condition"]["StringEquals"]["kms:ViaService"],
                        format!("s3.{REGION}.amazonaws.com"),
                        "{}: only through S3",
                        case.name
                    );
                }
            }
            assert!(
                case.stack.refused().is_empty(),
                "{}: {:?}",
                case.name,
                case.stack.refused()
            );
        }
        // Nor in a branch the cases above do not take.
        let text = super::infra("template.yaml");
        assert!(
            !text.contains("key/*"),
            "the template names key/* (every KMS key of the account)"
        );
        // A key named for the bucket the stack creates (which uses aws/s3) is refused, not ignored.
        let stack = Stack::new(&[("LandingBucketKmsKeyArn", CUSTOMER_KEY)]);
        assert!(
            !stack.refused().is_empty(),
            "LandingBucketKmsKeyArn without ExistingBucketName is accepted"
        );
    }

    /// (c) TransferFile may read the bucket's versioning (it refuses to land in a bucket whose
    /// versioning is not Enabled), on the bucket itself, and ExistingBucketName says so.
    #[test]
    fn transfer_file_reads_the_bucket_versioning() {
        for case in cases() {
            let resources: Vec<String> = case
                .stack
                .statements("TransferFileFunction")
                .iter()
                .filter(|s| s["Effect"] == "Allow" && has_action(s, |a| a == "s3:GetBucketVersioning"))
                .flat_map(|s| strings(&s["Resource"]))
                .collect();
            assert_eq!(
                resources,
                [format!("arn:{PARTITION}:s3:::{}", case.bucket)],
                "{}: s3:GetBucketVersioning on the landing bucket",
                case.name
            );
        }
        let doc: Value = serde_yaml::from_str(&super::infra("template.yaml")).unwrap();
        let description = doc["Parameters"]["ExistingBucketName"]["Description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            description.contains("versioning") && description.contains("Enabled") && description.contains("refuses"),
            "ExistingBucketName's description says the bucket's versioning must be Enabled: {description:?}"
        );
    }
}
