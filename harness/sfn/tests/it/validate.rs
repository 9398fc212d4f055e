//! ValidateStateMachineDefinition on JSONata definitions: each problem is a diagnostic with AWS's
//! code (SCHEMA_VALIDATION_FAILED, INVALID_JSONATA_EXPRESSION, UNSUPPORTED_JSONATA_EXPRESSION), its
//! message and its location, as the API answers it.

use serde_json::{Value, json};
use sfn::{Service, ServiceOptions, TimeMode};

async fn validate(definition: Value) -> Value {
    let service = Service::new(ServiceOptions {
        bindings: sfn::Bindings::default(),
        mocks: None,
        time: TimeMode::Virtual,
        start_quota: Some(sfn::RateQuota::START_EXECUTION),
    });
    service
        .call(
            "ValidateStateMachineDefinition",
            &json!({"definition": definition.to_string()}),
        )
        .await
        .expect("the API answers")
}

fn diagnostics(answer: &Value) -> Vec<(String, String, String)> {
    answer["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (field("code"), field("message"), field("location"))
        })
        .collect()
}

#[tokio::test]
async fn jsonata_problems_carry_awss_codes_and_locations() {
    let answer = validate(json!({"QueryLanguage": "JSONata", "StartAt": "E", "States": {
        "E": {"Type": "Pass", "Output": {"v": "{% a[1,2) %}", "w": "{% phone %}"}, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:F",
              "InputPath": "$", "Output": "{% $states.errorOutput %}", "End": true}}}))
    .await;
    assert_eq!(answer["result"], "FAIL");
    let found = diagnostics(&answer);
    let expected = [
        (
            "INVALID_JSONATA_EXPRESSION",
            "Expected \"]\", got \",\"",
            "/States/E/Output/v",
        ),
        (
            "UNSUPPORTED_JSONATA_EXPRESSION",
            "Reference to 'phone' at the top level is not supported.",
            "/States/E/Output/w",
        ),
        (
            "SCHEMA_VALIDATION_FAILED",
            "The QueryLanguage is set to 'JSONata', but field 'InputPath' is only supported for the 'JSONPath' QueryLanguage",
            "/States/T",
        ),
        (
            "UNSUPPORTED_JSONATA_EXPRESSION",
            "Field '$states.errorOutput' does not exist.",
            "/States/T/Output",
        ),
    ];
    for (code, message, location) in expected {
        assert!(
            found.iter().any(|(c, m, l)| c == code && m == message && l == location),
            "no {code} {message:?} at {location} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[tokio::test]
async fn a_valid_jsonata_definition_passes() {
    let answer = validate(json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Assign": {"x": "{% $states.input.n %}"}, "Output": "{% $x %}", "End": true}}}))
    .await;
    assert_eq!(answer, json!({"result": "OK", "diagnostics": []}));
}
