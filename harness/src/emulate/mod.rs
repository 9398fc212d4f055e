//! Emulations of the AWS services moto does not run for us: the EventBridge Pipe from the job
//! table's stream to the state machine (`pipe`), and EventBridge event patterns (`pattern`), which
//! the Pipe's FilterCriteria and the healing rule use; the edge endpoint (`edge`) with its AWS-side
//! faults (`aws_fault`); Lambda for the pipeline's functions (`lambda`: deadlines, in-flight
//! invocations, Lambda's faults); faults of AWS's deliveries between the parts (`deliveries`:
//! status-change events, timers, the Pipe's); EventBridge Scheduler's timers fired on the world's
//! clock (`scheduler`); and a disk-backed S3 for files moto cannot hold in RAM (`disk_s3`).

pub mod aws_fault;
pub mod deliveries;
pub mod disk_s3;
pub mod edge;
pub mod lambda;
pub mod pattern;
pub mod pipe;
pub mod scheduler;
