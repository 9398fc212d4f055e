//! The local account and region, and the ARNs minted in them. Every ARN the emulator and the
//! harness's world create comes from here, so they agree (Step Functions Local used the same
//! defaults).

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn state_machine(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

pub fn execution(state_machine: &str, name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{state_machine}:{name}")
}

pub fn lambda_function(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

pub fn role(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

pub fn map_run(state_machine: &str, map_state: &str, id: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:mapRun:{state_machine}/{map_state}:{id}")
}
