//! The local world: an emulated AWS (`backend`: embedded moto_server, any endpoint, LocalStack),
//! the stack's resources read from the project's template (`template`, `aws`) under names unique
//! to the world, an in-process FTPS server with a generated CA (`pki`), the real handlers, the Step
//! Functions emulator running the project's ASL with them (`workflow`), and a Pipe from the table's
//! stream to it. `project` finds the files; `moto` provisions and runs moto_server.

pub mod aws;
pub mod backend;
pub mod integrations;
pub mod moto;
pub mod placeholders;
pub mod project;
pub mod template;
pub mod workflow;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::ftps::Timeouts;
use pipeline::job::{Job, JobKey, JobStatus, key_from_execution_input};
use pipeline::secret::FtpsSettings;

use crate::emulate::disk_s3::DiskS3;
use pipeline::handlers::{ExecutionStatusChange, HealEvent, HealOutput};
use pipeline::upload::UploadSettings;
use pipeline::{Handlers, Settings};
use serde_json::Value;
use sfn::mock::TestCase;
use sfn::{EventKind, Execution, Executor, Handle, Service, ServiceOptions, TimeMode};
use tokio::sync::broadcast;

pub use backend::{Backend, BackendError};
pub use project::{Project, ProjectError, ProjectFile};

use crate::emulate::aws_fault::AwsFaults;
use crate::emulate::deliveries::{Deliveries, EventFaultKind, PipeFaultKind, SchedulerFaultKind, late};
use crate::emulate::edge::{Edge, EdgeError};
use crate::emulate::lambda::Lambdas;
use crate::emulate::pipe::{Board, DeadLetterQueue, Pipe, PipeError, Read, Refused, Target};
use crate::emulate::scheduler::{Timer, Timers};
use crate::fault::Fault;
use crate::ftps::{FtpsServer, FtpsServerError};
use template::StackSpec;

/// The name scenario mocks use for the project's state machine (their MockConfigFile's
/// `StateMachines` key), whatever its deployed name.
pub const STATE_MACHINE_NAME: &str = "FileChecks";

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Template(#[from] template::TemplateError),
    #[error(transparent)]
    Resource(#[from] aws::ResourceError),
    #[error(transparent)]
    Ftps(#[from] FtpsServerError),
    #[error(transparent)]
    Pipe(#[from] PipeError),
    #[error(transparent)]
    Edge(#[from] EdgeError),
    #[error("the Step Functions service: {0}")]
    Service(sfn::ApiError),
    #[error("{file}: {errors}")]
    Definition {
        file: String,
        errors: sfn::ValidationErrors,
    },
    #[error("job {0:?}: not in the table")]
    NoSuchJob(String),
    #[error("job table item {index}: not a job item: {source}")]
    NotAJob {
        index: usize,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("the FTPS secret's id: {0}")]
    SecretId(pipeline::PipelineError),
    #[error("the template's healing rule: {0}")]
    Healing(#[source] crate::emulate::pattern::PatternError),
    #[error(transparent)]
    DiskS3(#[from] crate::emulate::disk_s3::DiskS3Error),
    #[error("Lambda: {0}")]
    Concurrency(#[from] crate::emulate::lambda::ConcurrencyError),
}

/// Where the world's S3 lives (`s3: disk` in a scenario file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum S3Store {
    /// The AWS backend's (moto keeps objects in RAM: ≲ 256 MiB each).
    #[default]
    Backend,
    /// The disk-backed S3 (`emulate::disk_s3`) at an endpoint of its own (`AWS_ENDPOINT_URL_S3`),
    /// for files of any size; AWS faults at the edge and request counts do not reach it.
    Disk,
}

/// A job item as the table holds it: typed for checks when it is a job item (a malformed one is
/// not), and as stored (every attribute) for snapshots and `status --json`.
#[derive(Debug, Clone)]
pub struct StoredJob {
    pub job: Option<Job>,
    pub item: Value,
}

impl StoredJob {
    pub fn job_id(&self) -> &str {
        self.item["jobId"].as_str().unwrap_or_default()
    }

    /// A string attribute, read from the item itself (a malformed item has them too).
    pub fn text(&self, pointer: &str) -> Option<&str> {
        self.item.pointer(pointer).and_then(Value::as_str)
    }
}

/// The job an execution was started for (its input is a Pipe batch), if it names one.
pub fn execution_job(execution: &Execution) -> Option<JobKey> {
    match &execution.history.first()?.kind {
        EventKind::ExecutionStarted { details } => key_from_execution_input(&details.input),
        _ => None,
    }
}

/// The job a Pipe batch's first record names.
fn batch_job(batch: &Value) -> Option<JobKey> {
    pipeline::job::key_from_stream_record(batch.get(0)?).ok()
}

/// HealJob on one status-change event, as EventBridge invokes it: asynchronously (it waits for
/// a free slot of the function's concurrency), and Lambda retries a failed invocation twice. A
/// recorded error is announced with its job.
async fn heal(
    lambdas: &Lambdas,
    function: &str,
    handlers: &Handlers,
    change: ExecutionStatusChange,
    healed: &broadcast::Sender<(JobKey, String)>,
) {
    let handled = lambdas
        .invoke_event(function, || handlers.heal_job(HealEvent::StatusChange(change.clone())))
        .await;
    match handled {
        Ok(HealOutput { recorded }) => {
            tracing::info!(execution = %change.detail.execution_arn, ?recorded, "HealJob");
            let job = change.detail.input.as_deref().and_then(key_from_execution_input);
            if let (Some(job), Some(name)) = (job, recorded) {
                let _ = healed.send((job, name));
            }
        }
        Err(e) => tracing::warn!(error = %e, "HealJob failed its event"),
    }
}

/// EventBridge Scheduler as the world runs it: moto keeps the schedules, `Timers` learns of them
/// at the edge, and this fires them on the world's clock.
struct Scheduler {
    timers: Arc<Timers>,
    lambdas: Arc<Lambdas>,
    handlers: Arc<Handlers>,
    deliveries: Arc<Deliveries>,
    time: TimeMode,
    /// The backend's Scheduler (moto), where a fired schedule is deleted.
    backend: aws_sdk_scheduler::Client,
}

impl Scheduler {
    /// Fires each timer at its time on a real or accelerated clock.
    async fn run(self: Arc<Self>) {
        loop {
            let mut changes = self.timers.changes();
            changes.borrow_and_update();
            let Some(timer) = self.timers.next() else {
                if changes.changed().await.is_err() {
                    return;
                }
                continue;
            };
            let due = timer.armed + self.time.real_wait(timer.after);
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {
                    let scheduler = self.clone();
                    tokio::spawn(async move { scheduler.fire(timer).await });
                    // The next one once this one is taken out.
                    let _ = changes.changed().await;
                }
                _ = changes.changed() => {}
            }
        }
    }

    /// Fires `timer` (unless it was deleted meanwhile): its target invoked asynchronously with
    /// its input (twice under a `twice` fault, late under a `late` one), then the schedule
    /// deleted, as `ActionAfterCompletion: DELETE` does.
    async fn fire(&self, timer: Timer) {
        if !self.timers.take(&timer) {
            return;
        }
        let job = serde_json::from_str::<pipeline::timer::DeadlineFired>(&timer.input)
            .ok()
            .map(|fired| fired.deadline.job);
        let fault = self.deliveries.timer(job.as_ref());
        let mut invocations = 1;
        if let Some(fault) = &fault {
            tracing::warn!(timer = %timer.name, fault = ?fault.fault, "scheduler fault");
            match fault.fault {
                SchedulerFaultKind::Late => {
                    // On the world's clock: a virtual one jumps over it (the timer already
                    // fires once nothing else is left), the others wait 1/N of it.
                    tokio::time::sleep(self.time.real_wait(Duration::from_millis(fault.delay_ms))).await;
                }
                SchedulerFaultKind::Twice => invocations = 2,
            }
        }
        let function = timer.target_arn.rsplit(':').next().unwrap_or_default().to_string();
        match serde_json::from_str::<Value>(&timer.input) {
            Ok(input) => {
                for _ in 0..invocations {
                    let handled = self
                        .lambdas
                        .invoke_event(&function, || {
                            self.handlers.handle(pipeline::Step::HealJob, input.clone())
                        })
                        .await;
                    match handled {
                        Ok(output) => tracing::info!(timer = %timer.name, %output, "timer fired"),
                        Err(e) => tracing::warn!(timer = %timer.name, error = %e, "timer's target failed its event"),
                    }
                }
            }
            Err(e) => tracing::error!(timer = %timer.name, error = %e, "a timer's input is not JSON"),
        }
        let _ = self
            .backend
            .delete_schedule()
            .group_name(&timer.group)
            .name(&timer.name)
            .send()
            .await;
        self.timers.fired();
    }
}

/// Stops a background task when its owner is dropped (a world's timer loop, a run's progress
/// bars), however it ends.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How `World::end_execution` ends an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Stop,
    TimeOut,
}

fn handle_job(handle: &Handle) -> Option<JobKey> {
    batch_job(&handle.input)
}

/// Names of this world's resources.
#[derive(Debug, Clone)]
pub struct Names {
    pub id: String,
    pub table: String,
    /// The connection lease table.
    pub leases: String,
    pub bucket: String,
    /// The `FTPS_SECRET_ID` template; `{pipeline}` is the job's pipeline.
    pub secret_id: String,
    /// The schedule group of the deadline timers.
    pub timers: String,
}

/// Whether the Pipe delivers the table's stream to the state machine, as a Pipe's desired state
/// (`RUNNING`, or `STOPPED` to drive the handlers by hand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeState {
    Running,
    Stopped,
}

pub struct WorldOptions {
    pub backend: Backend,
    /// Where the template and the state machine come from.
    pub project: Project,
    /// A definition run in place of the project's state machine (a scenario's `state_machine`).
    pub state_machine: Option<ProjectFile>,
    pub ftps_user: String,
    pub ftps_password: String,
    /// Task mocks (MockConfigFile test case) applied to every execution.
    pub mocks: Option<TestCase>,
    pub timeouts: Timeouts,
    pub upload: UploadSettings,
    /// Serve this directory through the FTPS server (default: a fresh temp directory).
    pub ftps_root: Option<PathBuf>,
    /// One FTPS secret for every pipeline (the `up` command), instead of one per pipeline.
    pub shared_secret: bool,
    pub pipe: PipeState,
    /// Waits and retry intervals: virtual (scenarios: the clock jumps) or real (`up`, as on AWS).
    pub time: TimeMode,
    pub s3: S3Store,
    /// The template's parameters, in place of their defaults (`sam deploy --parameter-overrides`).
    pub parameters: template::ParameterOverrides,
    /// Step Functions' StartExecution rate quota (AWS's by default).
    pub start_quota: sfn::RateQuota,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            backend: Backend::from_env(),
            project: Project::default(),
            state_machine: None,
            ftps_user: "filechecks".into(),
            ftps_password: format!("pw-{}", uuid::Uuid::new_v4().simple()),
            mocks: None,
            timeouts: Timeouts::default(),
            upload: UploadSettings::default(),
            ftps_root: None,
            shared_secret: false,
            pipe: PipeState::Running,
            time: TimeMode::Virtual,
            s3: S3Store::Backend,
            parameters: Default::default(),
            start_quota: sfn::RateQuota::START_EXECUTION,
        }
    }
}

/// The healing rule of the template, emulated: every status-change event of the service goes
/// through the rule's pattern (the Pipe's matcher) to HealJob, as EventBridge delivers it.
struct Healing {
    /// End events read so far, in order, and the heals they started that have not finished.
    handled: tokio::sync::watch::Receiver<(usize, usize)>,
    /// Jobs healed: the job and the error name recorded.
    healed: broadcast::Sender<(JobKey, String)>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Healing {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl Healing {
    fn start(
        stack: &StackSpec,
        service: &Arc<Service>,
        machine_arn: &str,
        handlers: Arc<Handlers>,
        lambdas: Arc<Lambdas>,
        deliveries: Arc<Deliveries>,
        time: TimeMode,
    ) -> Result<Healing, WorldError> {
        let (tx, handled) = tokio::sync::watch::channel((0usize, 0usize));
        let (healed, _) = broadcast::channel(1024);
        let Some(spec) = &stack.healing else {
            return Ok(Healing {
                handled,
                healed,
                task: None,
            });
        };
        let healed_tx = healed.clone();
        let pattern = spec.pattern(machine_arn).map_err(WorldError::Healing)?;
        let function = Arc::new(spec.function.trim_end_matches("Function").to_string());
        let mut events = service.events();
        let tx = Arc::new(tx);
        let task = tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::error!(missed = n, "healing fell behind the status-change events");
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                // The event is EventBridge's JSON (the rule's pattern matches JSON); HealJob reads
                // it as its typed input.
                // Counted as read, in order; a heal it starts is pending until it is done, so a
                // later event can never stand in for an earlier one still being healed.
                let ended = event["detail"]["status"] != "RUNNING";
                let matched = pattern.matches(&event);
                // EventBridge delivers these events best-effort: the scenario's `events` faults.
                let job = event["detail"]["input"].as_str().and_then(key_from_execution_input);
                let (copies, delay) = match matched.then(|| deliveries.event(job.as_ref())).flatten() {
                    None => (usize::from(matched), Duration::ZERO),
                    Some(fault) => {
                        tracing::warn!(?job, fault = ?fault.fault, "status-change event fault");
                        match fault.fault {
                            EventFaultKind::Drop => (0, Duration::ZERO),
                            EventFaultKind::Duplicate => (2, Duration::ZERO),
                            EventFaultKind::Delay => (1, late(time, fault.delay_ms)),
                        }
                    }
                };
                tx.send_modify(|(read, pending)| {
                    *read += usize::from(ended);
                    *pending += copies;
                });
                for _ in 0..copies {
                    // Each event is its own asynchronous invocation: a burst of them waits for
                    // HealJob's concurrency, never for each other, and the rule keeps reading.
                    let (lambdas, function, handlers, healed, tx, event) = (
                        lambdas.clone(),
                        function.clone(),
                        handlers.clone(),
                        healed_tx.clone(),
                        tx.clone(),
                        event.clone(),
                    );
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        match serde_json::from_value::<ExecutionStatusChange>(event) {
                            Ok(change) => heal(&lambdas, &function, &handlers, change, &healed).await,
                            Err(e) => tracing::error!(error = %e, "HealJob cannot read a status-change event"),
                        }
                        tx.send_modify(|(_, pending)| *pending -= 1);
                    });
                }
            }
        });
        Ok(Healing {
            handled,
            healed,
            task: Some(task),
        })
    }

    /// Waits until every execution that has ended by now has had its end event handled.
    async fn settled(&self, service: &Service) {
        if self.task.is_none() {
            return;
        }
        let ended = service.ended();
        let mut handled = self.handled.clone();
        let _ = handled
            .wait_for(|(read, pending)| *read >= ended && *pending == 0)
            .await;
    }
}

pub struct World {
    _backend: backend::Started,
    /// The backend itself, bypassing the edge and its faults (set-up and checks).
    pub sdk: SdkConfig,
    pub names: Names,
    pub stack: StackSpec,
    pub ftps: FtpsServer,
    pub handlers: Arc<Handlers>,
    /// The project's state machine bound to the handlers, for running it outside the service.
    pub executor: Arc<Executor>,
    /// The Step Functions service: the project's state machine under its deployed name, every
    /// execution the Pipe starts, and whatever API users create.
    pub service: Arc<Service>,
    pub state_machine_arn: String,
    /// The state machine definition the world runs, placeholders replaced (as deployed).
    pub definition: String,
    edge: Edge,
    executions: Arc<Mutex<Vec<Execution>>>,
    finished: broadcast::Sender<Execution>,
    pipe: Option<Pipe>,
    aws_faults: Arc<AwsFaults>,
    /// Faults of AWS's deliveries: status-change events, timers, the Pipe's.
    deliveries: Arc<Deliveries>,
    /// EventBridge Scheduler's timers, fired on the world's clock.
    scheduler: Arc<Scheduler>,
    _firing: Option<AbortOnDrop>,
    healing: Healing,
    /// Lambda invocations in flight, including those an ended execution abandoned.
    lambdas: Arc<Lambdas>,
    /// Every execution the Pipe or `deliver` started.
    running: Arc<tokio::sync::watch::Sender<Vec<Handle>>>,
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
    disk_s3: Option<DiskS3>,
    pipe_dlq_url: Option<String>,
}

impl World {
    pub async fn boot(options: WorldOptions) -> Result<World, WorldError> {
        let backend = options.backend.start().await?;
        // The pipeline, the service integrations and the Pipe call AWS through the edge, where
        // AWS faults are injected; the harness's own set-up and checks go to the backend
        // directly, so an injected fault never blinds what judges a run.
        let bound = Edge::bind(0).await?;
        let sdk = aws::sdk_config(&bound.endpoint()).await;
        let direct = aws::sdk_config(&backend.endpoint).await;
        // DynamoDB and its stream may be another backend's (DynamoDB Local).
        let direct_dynamodb = match &backend.dynamodb_endpoint {
            Some(endpoint) => aws::sdk_config(endpoint).await,
            None => direct.clone(),
        };
        let stack = StackSpec::parse(&options.project.template()?, &options.parameters)?;
        let definition = match &options.state_machine {
            Some(definition) => definition.clone(),
            None => options.project.state_machine()?,
        };
        let deployed = workflow::substitute_function_arns(&definition.text);
        let machine = sfn::StateMachine::from_json(&deployed).map_err(|errors| WorldError::Definition {
            file: definition.name.clone(),
            errors,
        })?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let names = Names {
            table: format!("FSA-FileChecks-{id}"),
            leases: format!("FSA-FileChecks-{id}-Leases"),
            bucket: format!("landing-{id}"),
            timers: format!("FileChecks-{id}-timers"),
            secret_id: if options.shared_secret {
                format!("filechecks/{id}/ftps")
            } else {
                format!("filechecks/{id}/ftps/{{pipeline}}")
            },
            id,
        };
        aws::create_job_table(&direct_dynamodb, &names.table, &stack.table).await?;
        aws::create_schedule_group(&direct, &names.timers).await?;
        aws::create_lease_table(&direct_dynamodb, &names.leases, &stack.leases).await?;
        let disk_s3 = match options.s3 {
            S3Store::Disk => Some(DiskS3::start(None, aws::TEST_CREDENTIALS, aws::TEST_CREDENTIALS).await?),
            S3Store::Backend => None,
        };
        let s3_direct = match &disk_s3 {
            Some(disk) => aws::sdk_config(disk.endpoint()).await,
            None => direct.clone(),
        };
        aws::create_landing_bucket(&s3_direct, &names.bucket, stack.bucket_versioned).await?;
        let ftps = FtpsServer::start(&options.ftps_user, &options.ftps_password, options.ftps_root.as_deref()).await?;
        let settings = Settings {
            table: names.table.clone(),
            leases_table: names.leases.clone(),
            s3_endpoint: disk_s3.as_ref().map(|disk| disk.endpoint().to_string()),
            landing_bucket: names.bucket.clone(),
            secret_id: names.secret_id.clone(),
            upload: options.upload,
            timeouts: options.timeouts,
            timers: pipeline::timer::TimerSettings {
                group: names.timers.clone(),
                target_arn: format!(
                    "arn:aws:lambda:{}:{}:function:HealJob",
                    sfn::arn::REGION,
                    sfn::arn::ACCOUNT
                ),
                role_arn: format!("arn:aws:iam::{}:role/{}-timers", sfn::arn::ACCOUNT, names.table),
                dead_letter_arn: format!(
                    "arn:aws:sqs:{}:{}:{}-timers-dlq",
                    sfn::arn::REGION,
                    sfn::arn::ACCOUNT,
                    names.table
                ),
                after: stack.timer_after,
            },
        };
        let handlers = Arc::new(Handlers::new(&sdk, settings));
        let aws_faults = Arc::new(AwsFaults::default());
        let lambdas = Arc::new(Lambdas::new(
            handlers.clone(),
            stack.function_timeouts.clone(),
            &stack.reserved_concurrency,
            aws_faults.clone(),
            ftps.bytes_sent(),
        )?);
        let mut bindings = workflow::bindings(lambdas.clone());
        bindings.extend(integrations::bindings(&sdk, &bound.endpoint()));
        let executor = Arc::new(Executor::new(machine, bindings.clone()));
        let service = Arc::new(Service::new(ServiceOptions {
            bindings,
            mocks: None,
            time: options.time,
            start_quota: Some(options.start_quota),
        }));
        let role = sfn::arn::role(&format!("{}-role", stack.state_machine_name));
        let state_machine_arn = service
            .register(&stack.state_machine_name, &deployed, &role)
            .map_err(WorldError::Service)?;
        let deliveries = Arc::new(Deliveries::default());
        let healing = Healing::start(
            &stack,
            &service,
            &state_machine_arn,
            handlers.clone(),
            lambdas.clone(),
            deliveries.clone(),
            options.time,
        )?;
        let timers = Arc::new(Timers::default());
        let edge = bound.serve_split(
            service.clone(),
            Some(&backend.endpoint),
            backend.dynamodb_endpoint.as_deref(),
            aws_faults.clone(),
            timers.clone(),
        )?;
        let scheduler = Arc::new(Scheduler {
            timers: timers.clone(),
            lambdas: lambdas.clone(),
            handlers: handlers.clone(),
            deliveries: deliveries.clone(),
            time: options.time,
            backend: aws_sdk_scheduler::Client::new(&direct),
        });
        let firing = match options.time {
            // On a virtual clock a timer fires once nothing else is left (`settle`).
            TimeMode::Virtual => None,
            _ => Some(AbortOnDrop(tokio::spawn(scheduler.clone().run()))),
        };
        // The Pipe's dead-letter queue, where the template gives it one.
        let pipe_dlq_url = match stack.pipe.dead_letter {
            true => Some(aws::create_queue(&backend.endpoint, &format!("FSA-FileChecks-{}-dlq", names.id)).await?),
            false => None,
        };
        let executions = Arc::new(Mutex::new(Vec::new()));
        let (finished, _) = broadcast::channel(1024);
        let running = Arc::new(tokio::sync::watch::channel(Vec::<Handle>::new()).0);
        let pipe = match options.pipe {
            PipeState::Stopped => None,
            PipeState::Running => {
                let dropped_into = pipe_dlq_url
                    .as_ref()
                    .map(|url| dead_letter_queue(&backend.endpoint, url));
                let target: Target = {
                    let (service, machine_arn, executions, finished, mocks, running, deliveries, time) = (
                        service.clone(),
                        state_machine_arn.clone(),
                        executions.clone(),
                        finished.clone(),
                        options.mocks.clone(),
                        running.clone(),
                        deliveries.clone(),
                        options.time,
                    );
                    Arc::new(move |batch: Value| {
                        let (executions, finished) = (executions.clone(), finished.clone());
                        // The scenario's `pipe` faults: a delivery given up on, or a late one.
                        match deliveries.delivery(batch_job(&batch).as_ref()) {
                            Some(fault) if fault.fault == PipeFaultKind::Drop => {
                                tracing::warn!(batch = %batch, "pipe fault: delivery dropped into the dead-letter queue");
                                let dlq = dropped_into.clone();
                                return Ok(Box::pin(async move {
                                    if let Some(dlq) = dlq {
                                        let _ = dlq(serde_json::json!({"dropped": batch})).await;
                                    }
                                }));
                            }
                            Some(fault) => {
                                let (service, machine_arn, mocks, running) =
                                    (service.clone(), machine_arn.clone(), mocks.clone(), running.clone());
                                let delay = late(time, fault.delay_ms);
                                return Ok(Box::pin(async move {
                                    tokio::time::sleep(delay).await;
                                    match service.start(&machine_arn, batch, mocks) {
                                        Ok(handle) => {
                                            running.send_modify(|handles| handles.push(handle.clone()));
                                            record(&executions, &finished, handle.wait().await);
                                        }
                                        Err(e) => tracing::warn!(error = %e.message, "a late delivery was refused"),
                                    }
                                }));
                            }
                            None => {}
                        }
                        // The Pipe's StartExecution: refused when Step Functions throttles it;
                        // once started, the future resolves when the execution ends (the settle
                        // signal counts on that).
                        let handle = service.start(&machine_arn, batch, mocks.clone()).map_err(|e| Refused {
                            code: e.kind.to_string(),
                            message: e.message,
                        })?;
                        running.send_modify(|handles| handles.push(handle.clone()));
                        Ok(Box::pin(
                            async move { record(&executions, &finished, handle.wait().await) },
                        ))
                    })
                };
                let dead_letters = match &pipe_dlq_url {
                    Some(url) => Some(dead_letter_queue(&backend.endpoint, url)),
                    None => None,
                };
                Some(
                    Pipe::start(
                        &sdk,
                        &names.table,
                        stack.pipe.clone(),
                        target,
                        dead_letters,
                        options.time,
                    )
                    .await?,
                )
            }
        };
        Ok(World {
            pipe_dlq_url,
            _backend: backend,
            ddb: aws_sdk_dynamodb::Client::new(&direct_dynamodb),
            s3: aws::s3_client(&s3_direct),
            disk_s3,
            sdk: direct,
            aws_faults,
            deliveries,
            scheduler,
            _firing: firing,
            healing,
            lambdas,
            running,
            names,
            stack,
            ftps,
            handlers,
            executor,
            service,
            state_machine_arn,
            definition: deployed,
            edge,
            executions,
            finished,
            pipe,
        })
    }

    /// Arms faults: the FTPS server's in the server, AWS's at the edge, Lambda's in Lambda.
    pub fn inject(&self, faults: &[Fault]) {
        let mut ftps = Vec::new();
        for fault in faults {
            match fault {
                Fault::Ftps(fault) => ftps.push(fault.clone()),
                Fault::Aws(aws) => self.aws_faults.arm(aws),
                Fault::Lambda(lambda) => self.lambdas.arm(lambda),
                Fault::Events(events) => self.deliveries.arm_events(events),
                Fault::Scheduler(timers) => self.deliveries.arm_scheduler(timers),
                Fault::Pipe(pipe) => self.deliveries.arm_pipe(pipe),
            }
        }
        self.ftps.inject(&ftps);
    }

    /// The world's one endpoint: Step Functions here, every other service proxied to the backend.
    pub fn endpoint(&self) -> String {
        self.edge.endpoint()
    }

    /// Environment that points the AWS CLI, the SDKs and `harness submit`/`status` at this world.
    pub fn environment(&self) -> Vec<(String, String)> {
        aws::client_environment(&self.endpoint())
            .into_iter()
            .chain([
                ("JOBS_TABLE", self.names.table.clone()),
                ("LEASES_TABLE", self.names.leases.clone()),
                ("LANDING_BUCKET", self.names.bucket.clone()),
                ("FTPS_SECRET_ID", self.names.secret_id.clone()),
                ("STATE_MACHINE_ARN", self.state_machine_arn.clone()),
                ("FILECHECKS_FTPS_ROOT", self.ftps.root().display().to_string()),
            ])
            .chain(
                self.disk_s3
                    .as_ref()
                    .map(|disk| ("AWS_ENDPOINT_URL_S3", disk.endpoint().to_string())),
            )
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// Stores the FTPS secret for `pipeline` (any pipeline when the world shares one secret).
    pub async fn put_secret(&self, pipeline: &str, secret: &FtpsSettings) -> Result<(), WorldError> {
        self.put_secret_with(pipeline, secret, &serde_json::Map::new()).await
    }

    /// `put_secret` with some fields replaced by raw JSON values, wrong types included (a secret
    /// a person typed by hand).
    pub async fn put_secret_with(
        &self,
        pipeline: &str,
        secret: &FtpsSettings,
        raw_fields: &serde_json::Map<String, Value>,
    ) -> Result<(), WorldError> {
        let name = pipeline::secret::secret_id(&self.names.secret_id, pipeline).map_err(WorldError::SecretId)?;
        let mut value = serde_json::to_value(secret).expect("FtpsSettings serialize");
        if let Value::Object(fields) = &mut value {
            fields.extend(raw_fields.clone());
        }
        aws::put_secret_text(&self.sdk, &name, &value.to_string()).await?;
        Ok(())
    }

    /// Writes a job item as it is.
    pub async fn put_job(&self, job: &Job) -> Result<(), WorldError> {
        aws::put_job(&self.ddb, &self.names.table, job).await?;
        Ok(())
    }

    /// Every item of the table, sorted by `jobId`: typed, and as stored.
    pub async fn items(&self) -> Result<Vec<StoredJob>, WorldError> {
        let out = self
            .ddb
            .scan()
            .table_name(&self.names.table)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws::ResourceError::new("scanning the job table", &e))?;
        let mut items = Vec::new();
        for (index, item) in out.items.unwrap_or_default().into_iter().enumerate() {
            let stored: Value =
                serde_dynamo::from_item(item.clone()).map_err(|source| WorldError::NotAJob { index, source })?;
            let job: Option<Job> = serde_dynamo::from_item(item).ok();
            items.push(StoredJob { job, item: stored });
        }
        items.sort_by(|a, b| a.job_id().cmp(b.job_id()));
        Ok(items)
    }

    /// Every job item of the table that is one (malformed items left out), sorted by `jobId`.
    pub async fn jobs(&self) -> Result<Vec<Job>, WorldError> {
        Ok(self.items().await?.into_iter().filter_map(|s| s.job).collect())
    }

    /// Writes an item as it is, whatever it holds (a malformed job, as a producer's bug writes it).
    pub async fn put_raw_item(&self, item: &Value) -> Result<(), WorldError> {
        let attrs = serde_dynamo::to_item(item).map_err(|source| WorldError::NotAJob { index: 0, source })?;
        self.ddb
            .put_item()
            .table_name(&self.names.table)
            .set_item(Some(attrs))
            .send()
            .await
            .map_err(|e| aws::ResourceError::new("writing an item", &e))?;
        Ok(())
    }

    /// One job, read consistently.
    pub async fn job(&self, key: &JobKey) -> Result<Job, WorldError> {
        self.handlers
            .store()
            .get(key)
            .await
            .map_err(|e| aws::ResourceError::new("reading a job", &e))?
            .ok_or_else(|| WorldError::NoSuchJob(key.job_id.clone()))
    }

    /// Waits until every stream record so far has been delivered and its execution finished
    /// (at once when the Pipe is stopped).
    pub async fn settle(&self) {
        loop {
            if let Some(pipe) = &self.pipe {
                pipe.settled().await;
            }
            self.lambdas.idle().await;
            self.healing.settled(&self.service).await;
            // Timers left armed (an execution whose end no one recorded) come last: on a
            // virtual clock the next one fires now; on the others, each at its time.
            let timers = &self.scheduler.timers;
            match self.scheduler.time {
                TimeMode::Virtual => match timers.next() {
                    Some(timer) => self.scheduler.fire(timer).await,
                    None => return,
                },
                _ if timers.is_idle() => return,
                _ => timers.idle().await,
            }
        }
    }

    /// Ends the job's execution once it has entered `state` (`None`: once the FTPS server has
    /// begun a download): `StopExecution` (ABORTED) through the Step Functions API, or its
    /// TimeoutSeconds reached (TIMED_OUT).
    pub async fn end_execution(&self, job: &JobKey, state: Option<&str>, how: Ending) -> Result<(), WorldError> {
        let handle = self.reached(job, state).await?;
        let when = match state {
            Some(state) => format!("it entered {state}"),
            None => "a download began".to_string(),
        };
        match how {
            Ending::Stop => {
                let body = serde_json::json!({"executionArn": handle.arn, "error": "Stopped",
                    "cause": format!("stopped once {when}")});
                self.service
                    .call("StopExecution", &body)
                    .await
                    .map_err(WorldError::Service)?;
            }
            Ending::TimeOut => {
                handle.time_out();
            }
        }
        Ok(())
    }

    /// Waits until an execution of the job has entered `state` (`None`: until the FTPS server
    /// has begun a download, answering the job's first execution), and answers that execution.
    pub async fn reached(&self, job: &JobKey, state: Option<&str>) -> Result<Handle, WorldError> {
        let mut running = self.running.subscribe();
        let Some(state) = state else {
            let handle = running
                .wait_for(|handles| handles.iter().any(|h| handle_job(h).as_ref() == Some(job)))
                .await
                .map_err(|_| WorldError::NoSuchJob(job.job_id.clone()))?
                .iter()
                .find(|h| handle_job(h).as_ref() == Some(job))
                .cloned()
                .expect("waited for it");
            self.ftps.download_started().await;
            return Ok(handle);
        };
        loop {
            // Any of the job's executions so far (a re-trigger's may be the one that gets there).
            let handles: Vec<Handle> = running
                .borrow_and_update()
                .iter()
                .filter(|h| handle_job(h).as_ref() == Some(job))
                .cloned()
                .collect();
            if handles.is_empty() {
                running
                    .changed()
                    .await
                    .map_err(|_| WorldError::NoSuchJob(job.job_id.clone()))?;
                continue;
            }
            let entered = handles.iter().map(|handle| {
                Box::pin(async move {
                    handle.wait_for_event(|e| e.entered_state() == Some(state)).await;
                    handle.clone()
                })
            });
            tokio::select! {
                (handle, _, _) = futures::future::select_all(entered) => return Ok(handle),
                changed = running.changed() => {
                    changed.map_err(|_| WorldError::NoSuchJob(job.job_id.clone()))?;
                }
            }
        }
    }

    /// Waits until a `slow` AWS fault holds one more request than it held at the call.
    pub async fn request_held(&self) {
        let mut held = self.aws_faults.held();
        let before = *held.borrow_and_update();
        let _ = held.wait_for(|n| *n > before).await;
    }

    /// The item's `updatedAt` as the table holds it now (None without one, or without the item).
    pub async fn updated_at(&self, key: &JobKey) -> Result<Option<String>, WorldError> {
        Ok(self
            .raw_item(key)
            .await?
            .and_then(|item| item.get("updatedAt").cloned())
            .and_then(|v| v.as_s().ok().cloned()))
    }

    /// The job's item as stored, read consistently (None if there is none).
    pub async fn raw_item(
        &self,
        key: &JobKey,
    ) -> Result<Option<std::collections::HashMap<String, AttributeValue>>, WorldError> {
        Ok(self
            .ddb
            .get_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(key.job_id.clone()))
            .key("project", AttributeValue::S(key.project.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws::ResourceError::new("reading a job", &e))?
            .item)
    }

    /// The batch a Pipe delivers for the job's INSERT record: the record as the Pipe read it,
    /// or (not read yet) one of the item as it is now, which is then still the inserted version.
    pub async fn insert_record(&self, key: &JobKey) -> Result<Value, WorldError> {
        let read = self
            .reads_of(key)
            .into_iter()
            .find(|read| read.record["eventName"] == "INSERT");
        Ok(match read {
            Some(read) => Value::Array(vec![read.record]),
            None => crate::emulate::pipe::insert_batch(key, self.updated_at(key).await?.as_deref()),
        })
    }

    /// Delivers `batch` straight to the state machine, as a Pipe re-delivery would.
    pub async fn deliver(&self, batch: Value) -> Result<Execution, WorldError> {
        let handle = self
            .service
            .start(&self.state_machine_arn, batch, None)
            .map_err(WorldError::Service)?;
        self.running.send_modify(|handles| handles.push(handle.clone()));
        let execution = handle.wait().await;
        record(&self.executions, &self.finished, execution.clone());
        self.healing.settled(&self.service).await;
        Ok(execution)
    }

    /// Touches a job that is still TRIGGERED (its `updatedAt`); false if it had moved on.
    pub async fn touch_triggered(&self, key: &JobKey) -> Result<bool, WorldError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(key.job_id.clone()))
            .key("project", AttributeValue::S(key.project.clone()))
            .update_expression("SET updatedAt = :now")
            .condition_expression("#s = :t")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":t", AttributeValue::S(JobStatus::Triggered.as_str().into()))
            .expression_attribute_values(":now", AttributeValue::S(pipeline::timestamp::now()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(aws::ResourceError::new("touching a job", &e).into()),
        }
    }

    /// Sets a job TRIGGERED (an operator's re-drive of an ERROR job, or a producer's write).
    pub async fn trigger(&self, key: &JobKey) -> Result<(), WorldError> {
        if self.raw_item(key).await?.is_none() {
            return Err(WorldError::NoSuchJob(key.job_id.clone()));
        }
        self.ddb
            .update_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(key.job_id.clone()))
            .key("project", AttributeValue::S(key.project.clone()))
            .update_expression("SET #s = :t, updatedAt = :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":t", AttributeValue::S(JobStatus::Triggered.as_str().into()))
            .expression_attribute_values(":now", AttributeValue::S(pipeline::timestamp::now()))
            .send()
            .await
            .map_err(|e| aws::ResourceError::new("re-driving a job", &e))?;
        Ok(())
    }

    /// A producer's edit of a job's item: each attribute set as given (plain JSON, a wrong type
    /// included); `updatedAt` only if given (not every producer keeps it).
    pub async fn edit(&self, key: &JobKey, set: &serde_json::Map<String, Value>) -> Result<(), WorldError> {
        let mut update = self
            .ddb
            .update_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(key.job_id.clone()))
            .key("project", AttributeValue::S(key.project.clone()));
        let mut clauses = Vec::new();
        for (i, (name, value)) in set.iter().enumerate() {
            let value: AttributeValue =
                serde_dynamo::to_attribute_value(value).map_err(|source| WorldError::NotAJob { index: 0, source })?;
            clauses.push(format!("#a{i} = :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        update
            .update_expression(format!("SET {}", clauses.join(", ")))
            .send()
            .await
            .map_err(|e| aws::ResourceError::new("editing a job", &e))?;
        Ok(())
    }

    /// The lease table's items (connection and landing-key leases): slot, holder, jobId.
    pub async fn leases(&self) -> Result<Vec<(String, String, String)>, WorldError> {
        let out = self
            .ddb
            .scan()
            .table_name(&self.names.leases)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws::ResourceError::new("scanning the lease table", &e))?;
        let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
        };
        Ok(out
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| (text(item, "lease"), text(item, "holder"), text(item, "jobId")))
            .collect())
    }

    /// Every execution started (by the Pipe or `deliver`): its ARN and the job its input names.
    pub fn started_executions(&self) -> std::collections::BTreeMap<String, Option<JobKey>> {
        self.running
            .borrow()
            .iter()
            .map(|handle| (handle.arn.clone(), handle_job(handle)))
            .collect()
    }

    /// Executions an invocation of which Lambda killed (a crash, a time-out).
    pub fn killed_executions(&self) -> std::collections::BTreeSet<String> {
        self.lambdas.killed()
    }

    /// Every execution finished so far.
    pub fn executions(&self) -> Vec<Execution> {
        self.executions.lock().expect("executions").clone()
    }

    /// The landing bucket's objects (key, size), as far as they can be listed.
    pub async fn objects(&self) -> Vec<(String, i64)> {
        let listed = self.s3.list_objects_v2().bucket(&self.names.bucket).send().await;
        listed
            .map(|out| {
                out.contents()
                    .iter()
                    .map(|o| (o.key().unwrap_or_default().to_string(), o.size().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Multipart uploads started in the landing bucket and never completed nor aborted.
    pub async fn unfinished_uploads(&self) -> Vec<(String, String)> {
        let listed = self.s3.list_multipart_uploads().bucket(&self.names.bucket).send().await;
        listed
            .map(|out| {
                out.uploads()
                    .iter()
                    .map(|u| {
                        (
                            u.key().unwrap_or_default().to_string(),
                            u.upload_id().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every stream record the Pipe read, and whether its filter delivered it.
    pub fn pipe_log(&self) -> Vec<Read> {
        self.pipe.as_ref().map(Pipe::log).unwrap_or_default()
    }

    /// The stream records the Pipe read about job `key` (that job's only, whatever the table holds).
    pub fn reads_of(&self, key: &JobKey) -> Vec<Read> {
        self.pipe.as_ref().map(|pipe| pipe.reads_of(key)).unwrap_or_default()
    }

    /// Waits until every execution that has ended by now has been through the healing rule, its
    /// HealJob (if the rule matched) finished.
    pub async fn heals_settled(&self) {
        self.healing.settled(&self.service).await;
    }

    /// How far the Pipe has read the stream (0 with the Pipe stopped).
    pub fn stream_position(&self) -> u64 {
        self.pipe.as_ref().map_or(0, Pipe::polls)
    }

    /// Waits until the Pipe has read every record written before `stream_position` said
    /// `position` (at once with the Pipe stopped).
    pub async fn read_past(&self, position: u64) {
        if let Some(pipe) = &self.pipe {
            pipe.read_past(position).await;
        }
    }

    /// The jobs' statuses as the stream last showed them, and what the Pipe's target refused.
    pub fn board(&self) -> Board {
        self.pipe.as_ref().map(Pipe::board).unwrap_or_default()
    }

    /// Lambda invocations refused for want of concurrency so far.
    pub fn lambda_throttles(&self) -> u64 {
        self.lambdas.throttles()
    }

    /// The jobs' path's requests to the backend so far, by action (`dynamodb:UpdateItem`).
    pub fn backend_requests_by_action(&self) -> std::collections::BTreeMap<String, usize> {
        self.aws_faults.seen_by_action()
    }

    /// Jobs one Pipe delivery of which a `pipe: drop` fault gave up on (into the dead-letter
    /// queue): no execution started for that record.
    pub fn dropped_deliveries(&self) -> Vec<JobKey> {
        self.deliveries.dropped()
    }

    /// The Pipe's dead-letter queue, where the template declares one.
    pub fn pipe_dead_letter_queue(&self) -> Option<&str> {
        self.pipe_dlq_url.as_deref()
    }

    /// Each execution as it finishes (the `up` command reports them).
    pub fn subscribe(&self) -> broadcast::Receiver<Execution> {
        self.finished.subscribe()
    }

    /// How many requests of `action` (`s3:UploadPart`) came through the endpoint.
    pub fn requests(&self, action: &str) -> usize {
        self.aws_faults.seen(action)
    }

    /// Jobs the healing rule recorded ERROR on, with the error name.
    pub fn subscribe_healed(&self) -> broadcast::Receiver<(JobKey, String)> {
        self.healing.healed.subscribe()
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    pub fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        &self.ddb
    }
}

/// The Pipe's dead-letter queue at `url`: SQS's SendMessage on the backend.
fn dead_letter_queue(endpoint: &str, url: &str) -> DeadLetterQueue {
    let (client, endpoint, url) = (integrations::json_client(), endpoint.to_string(), url.to_string());
    Arc::new(move |message: Value| {
        let (client, endpoint, url) = (client.clone(), endpoint.clone(), url.clone());
        Box::pin(async move {
            let body = serde_json::json!({"QueueUrl": url, "MessageBody": message.to_string()});
            let sqs = &integrations::SQS;
            integrations::aws_json(
                &client,
                &endpoint,
                &format!("{}.SendMessage", sqs.target),
                sqs.content_type,
                sqs.signing_name,
                &body,
            )
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        })
    })
}

fn record(executions: &Mutex<Vec<Execution>>, finished: &broadcast::Sender<Execution>, execution: Execution) {
    executions.lock().expect("executions").push(execution.clone());
    // Nobody listening is fine: the list above is the record.
    let _ = finished.send(execution);
}
