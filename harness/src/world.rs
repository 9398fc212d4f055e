//! One call boots the whole local world: an emulated AWS (embedded moto_server, or any
//! endpoint in `AWS_ENDPOINT_URL`), the stack's resources from `infra/template.yaml` under
//! names unique to this world, an in-process FTPS server, the real pipeline, the Step Functions
//! emulator running `infra/statemachine.asl.json`, and a Pipe from the table's stream to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::ftps::Timeouts;
use pipeline::upload::UploadSettings;
use pipeline::{Pipeline, Settings};
use serde_json::Value;

use crate::ftps_server::FtpsServer;
use crate::moto::Moto;
use crate::pipe::{Pipe, Target};
use crate::sfn::mock::TestCase;
use crate::sfn::{Execution, Executor, RunOptions};
use crate::template::StackSpec;

/// Where the emulated AWS comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// moto_server, provisioned and started by the harness (one per process).
    Embedded,
    /// Any AWS-compatible endpoint (LocalStack from docker-compose.yml, a moto you run yourself).
    Endpoint(String),
    /// LocalStack in a container started through testcontainers (needs a Docker daemon).
    #[cfg(feature = "localstack")]
    LocalStack,
}

impl Backend {
    /// `AWS_ENDPOINT_URL` if set, else the embedded moto_server.
    pub fn from_env() -> Self {
        match std::env::var("AWS_ENDPOINT_URL") {
            Ok(url) if !url.is_empty() => Backend::Endpoint(url),
            _ => Backend::Embedded,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error(transparent)]
    Moto(#[from] crate::moto::MotoError),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error(transparent)]
    Resource(#[from] crate::aws::ResourceError),
    #[error(transparent)]
    Ftps(#[from] crate::ftps_server::FtpsServerError),
    #[error(transparent)]
    Pipe(#[from] crate::pipe::PipeError),
    #[error("the state machine definition: {0}")]
    Definition(String),
    #[error("LocalStack (testcontainers): {0}")]
    Container(String),
}

static EMBEDDED: OnceLock<Result<Moto, String>> = OnceLock::new();

/// The process's moto_server endpoint, started on first use.
pub fn embedded_endpoint() -> Result<String, WorldError> {
    let moto = EMBEDDED.get_or_init(|| Moto::start().map_err(|e| e.to_string()));
    match moto {
        Ok(moto) => Ok(moto.endpoint().to_string()),
        Err(e) => Err(WorldError::Moto(crate::moto::MotoError::Start(e.clone()))),
    }
}

/// Names of this world's resources.
#[derive(Debug, Clone)]
pub struct Names {
    pub id: String,
    pub table: String,
    pub bucket: String,
    /// The `FTPS_SECRET_ID` template; `{pipeline}` is the job's pipeline.
    pub secret_id: String,
}

pub struct WorldOptions {
    pub backend: Backend,
    pub ftps_user: String,
    pub ftps_password: String,
    /// Task mocks (MockConfigFile test case) applied to every execution.
    pub mocks: Option<TestCase>,
    pub timeouts: Timeouts,
    /// Serve this directory through the FTPS server (default: a fresh temp directory).
    pub ftps_root: Option<std::path::PathBuf>,
    /// One FTPS secret for every pipeline (the `up` command), instead of one per pipeline.
    pub shared_secret: bool,
    /// Print each finished execution on stderr (the `up` command).
    pub report_executions: bool,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            backend: Backend::from_env(),
            ftps_user: "filechecks".into(),
            ftps_password: format!("pw-{}", uuid::Uuid::new_v4().simple()),
            mocks: None,
            timeouts: Timeouts::default(),
            ftps_root: None,
            shared_secret: false,
            report_executions: false,
        }
    }
}

pub struct World {
    #[cfg(feature = "localstack")]
    _container:
        Option<testcontainers_modules::testcontainers::ContainerAsync<testcontainers_modules::localstack::LocalStack>>,
    pub sdk: SdkConfig,
    pub names: Names,
    pub stack: StackSpec,
    pub ftps: FtpsServer,
    pub pipeline: Arc<Pipeline>,
    pub executor: Arc<Executor>,
    executions: Arc<Mutex<Vec<Execution>>>,
    pipe: Pipe,
    ddb: aws_sdk_dynamodb::Client,
    s3: aws_sdk_s3::Client,
}

impl World {
    pub async fn boot(options: WorldOptions) -> Result<World, WorldError> {
        #[cfg(feature = "localstack")]
        let mut container = None;
        let endpoint = match &options.backend {
            Backend::Embedded => embedded_endpoint()?,
            Backend::Endpoint(url) => url.clone(),
            #[cfg(feature = "localstack")]
            Backend::LocalStack => {
                use testcontainers_modules::testcontainers::runners::AsyncRunner;
                let started = testcontainers_modules::localstack::LocalStack::default()
                    .start()
                    .await
                    .map_err(|e| WorldError::Container(e.to_string()))?;
                let host = started
                    .get_host()
                    .await
                    .map_err(|e| WorldError::Container(e.to_string()))?;
                let port = started
                    .get_host_port_ipv4(4566)
                    .await
                    .map_err(|e| WorldError::Container(e.to_string()))?;
                container = Some(started);
                format!("http://{host}:{port}")
            }
        };
        let sdk = crate::aws::sdk_config(&endpoint).await;
        let stack = StackSpec::load(&crate::template::default_path())?;
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let names = Names {
            table: format!("FSA-FileChecks-{id}"),
            bucket: format!("landing-{id}"),
            secret_id: if options.shared_secret {
                format!("filechecks/{id}/ftps")
            } else {
                format!("filechecks/{id}/ftps/{{pipeline}}")
            },
            id,
        };
        crate::aws::create_job_table(&sdk, &names.table, &stack.table).await?;
        crate::aws::create_landing_bucket(&sdk, &names.bucket, stack.bucket_versioned).await?;
        let ftps =
            FtpsServer::start_serving(&options.ftps_user, &options.ftps_password, options.ftps_root.as_deref()).await?;
        let settings = Settings {
            table: names.table.clone(),
            landing_bucket: names.bucket.clone(),
            secret_id: names.secret_id.clone(),
            upload: UploadSettings::default(),
            timeouts: options.timeouts,
        };
        let pipeline = Arc::new(Pipeline::new(&sdk, settings));
        let definition = std::fs::read_to_string(crate::workflow::definition_path())
            .map_err(|e| WorldError::Definition(e.to_string()))?;
        let machine = crate::workflow::load(&definition).map_err(|e| WorldError::Definition(e.to_string()))?;
        let executor = Arc::new(Executor::new(machine, crate::workflow::bindings(pipeline.clone())));
        let executions = Arc::new(Mutex::new(Vec::new()));
        let target: Target = {
            let (executor, executions, mocks) = (executor.clone(), executions.clone(), options.mocks.clone());
            let report = options.report_executions;
            Arc::new(move |batch: Value| {
                let (executor, executions, mocks) = (executor.clone(), executions.clone(), mocks.clone());
                Box::pin(async move {
                    let job = batch[0]["dynamodb"]["Keys"]["jobId"]["S"]
                        .as_str()
                        .unwrap_or("?")
                        .to_string();
                    let options = RunOptions {
                        state_machine_name: "FileChecks".into(),
                        mocks,
                        ..Default::default()
                    };
                    let execution = executor.run(batch, options).await;
                    if report {
                        let status = serde_json::to_value(execution.status).unwrap_or_default();
                        eprintln!(
                            "harness: execution for job {job} {} {}",
                            status.as_str().unwrap_or("?"),
                            execution.error.as_deref().unwrap_or("")
                        );
                    }
                    executions.lock().expect("executions").push(execution);
                })
            })
        };
        let pipe = Pipe::start(&sdk, &names.table, stack.pipe.clone(), target).await?;
        Ok(World {
            #[cfg(feature = "localstack")]
            _container: container,
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            s3: crate::aws::s3_client(&sdk),
            sdk,
            names,
            stack,
            ftps,
            pipeline,
            executor,
            executions,
            pipe,
        })
    }

    /// Environment that points the AWS CLI, the SDKs and `harness submit`/`status` at this world.
    pub fn environment(&self) -> Vec<(String, String)> {
        let endpoint = self.sdk.endpoint_url().unwrap_or_default().to_string();
        [
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("JOBS_TABLE", self.names.table.clone()),
            ("LANDING_BUCKET", self.names.bucket.clone()),
            ("FTPS_SECRET_ID", self.names.secret_id.clone()),
            ("FILECHECKS_FTPS_ROOT", self.ftps.root().display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Stores the FTPS secret for `pipeline` (the in-process server's unless overridden).
    pub async fn put_secret(&self, pipeline: &str, secret: &Value) -> Result<(), WorldError> {
        let name = self.names.secret_id.replace("{pipeline}", pipeline);
        crate::aws::put_secret(&self.sdk, &name, secret).await?;
        Ok(())
    }

    /// Writes an item as is (plain JSON, converted to DynamoDB attribute values).
    pub async fn put_item(&self, item: &Value) -> Result<(), WorldError> {
        let attrs: HashMap<String, AttributeValue> = serde_dynamo::to_item(item)
            .map_err(|e| WorldError::Definition(format!("the item is not a DynamoDB item: {e}")))?;
        self.ddb
            .put_item()
            .table_name(&self.names.table)
            .set_item(Some(attrs))
            .send()
            .await
            .map_err(|e| crate::aws::ResourceError::new("a job item", &e))?;
        Ok(())
    }

    /// Every item of the table, as plain JSON, sorted by `jobId`.
    pub async fn items(&self) -> Result<Vec<Value>, WorldError> {
        let out = self
            .ddb
            .scan()
            .table_name(&self.names.table)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| crate::aws::ResourceError::new("scanning the job table", &e))?;
        let mut items: Vec<Value> = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| serde_dynamo::from_item(item).ok())
            .collect();
        items.sort_by(|a: &Value, b: &Value| a["jobId"].as_str().cmp(&b["jobId"].as_str()));
        Ok(items)
    }

    /// Waits until every stream record so far has been delivered and its execution finished.
    pub async fn settle(&self) {
        self.pipe.settled().await;
    }

    /// Delivers `batch` straight to the state machine, as a Pipe re-delivery would.
    pub async fn deliver(&self, batch: Value) -> Execution {
        let options = RunOptions {
            state_machine_name: "FileChecks".into(),
            ..Default::default()
        };
        let execution = self.executor.run(batch, options).await;
        self.executions.lock().expect("executions").push(execution.clone());
        execution
    }

    /// Touches a job that is still TRIGGERED (its `updatedAt`); false if it had moved on.
    pub async fn touch_triggered(&self, job_id: &str, project: &str) -> Result<bool, WorldError> {
        let result = self
            .ddb
            .update_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(job_id.to_string()))
            .key("project", AttributeValue::S(project.to_string()))
            .update_expression("SET updatedAt = :now")
            .condition_expression("#s = :t")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":t", AttributeValue::S("TRIGGERED".into()))
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
            Err(e) => Err(crate::aws::ResourceError::new("touching a job", &e).into()),
        }
    }

    /// Sets a job back to TRIGGERED (an operator's re-drive of an ERROR job).
    pub async fn redrive(&self, job_id: &str) -> Result<(), WorldError> {
        let items = self.items().await?;
        let item = items
            .iter()
            .find(|i| i["jobId"] == job_id)
            .ok_or_else(|| WorldError::Definition(format!("no job {job_id} to re-drive")))?;
        let project = item["project"].as_str().unwrap_or_default().to_string();
        self.ddb
            .update_item()
            .table_name(&self.names.table)
            .key("jobId", AttributeValue::S(job_id.to_string()))
            .key("project", AttributeValue::S(project))
            .update_expression("SET #s = :t, updatedAt = :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":t", AttributeValue::S("TRIGGERED".into()))
            .expression_attribute_values(":now", AttributeValue::S(pipeline::timestamp::now()))
            .send()
            .await
            .map_err(|e| crate::aws::ResourceError::new("re-driving a job", &e))?;
        Ok(())
    }

    pub fn executions(&self) -> Vec<Execution> {
        self.executions.lock().expect("executions").clone()
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    pub fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        &self.ddb
    }
}
