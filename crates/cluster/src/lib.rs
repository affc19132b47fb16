//! Cluster: lasthop's detector plans on an Apache DataFusion Ballista cluster.
//!
//! The stock Ballista scheduler and executor binaries cannot run lasthop's plans: they do not
//! know its SQL functions, and those carry state (the site's internal ranges, classification
//! overrides, indicator sets, compiled Sigma rules). Here the scheduler and executors are built
//! with lasthop's codecs ([`lasthop_query::codec`]), which write that state into each plan and
//! rebuild the functions from it, and with lasthop's stateless functions in their registries.
//!
//! The plans are the very ones the embedded hunt runs: [`remote_context`] gives a session whose
//! queries go to the scheduler, and the detectors run over it unchanged. Tables travel in the
//! plans as file paths, so every executor must see the store at the same path (a shared
//! filesystem).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::JobId;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::{
    RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport,
};
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SessionStateBuilder, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::{SessionConfig, SessionContext};
use lasthop_query::codec::{LogicalCodec, PhysicalCodec, register_functions};

/// Plans carry the indicator sets and rule texts of lasthop's functions: allow messages far
/// larger than gRPC's usual 16 MiB.
const MAX_MESSAGE_BYTES: u32 = 256 * 1024 * 1024;

fn logical_codec() -> Arc<LogicalCodec> {
    Arc::new(LogicalCodec::new(Arc::new(BallistaLogicalExtensionCodec::default())))
}

fn physical_codec() -> Arc<PhysicalCodec> {
    Arc::new(PhysicalCodec::new(Arc::new(BallistaPhysicalExtensionCodec::default())))
}

fn ballista_error(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::External(e.to_string().into())
}

/// Where a scheduler listens.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub bind: SocketAddr,
    /// The host name executors and clients are told to reach the scheduler by.
    pub external_host: String,
}

/// Runs a scheduler until the process is stopped.
pub async fn run_scheduler(options: SchedulerOptions) -> Result<()> {
    let mut config = SchedulerConfig::default()
        .with_hostname(options.external_host)
        .with_port(options.bind.port())
        .with_grpc_server_max_decoding_message_size(MAX_MESSAGE_BYTES)
        .with_grpc_server_max_encoding_message_size(MAX_MESSAGE_BYTES)
        .with_grpc_client_max_message_size(MAX_MESSAGE_BYTES)
        .with_override_session_builder(Arc::new(|config: SessionConfig| {
            // Ballista's own session, plus lasthop's functions for plans that name them.
            let state = ballista_core::utils::default_session_builder(config)?;
            let ctx = SessionContext::new_with_state(state);
            register_functions(&ctx);
            Ok(ctx.state())
        }));
    config.bind_host = options.bind.ip().to_string();
    config.override_logical_codec = Some(logical_codec());
    config.override_physical_codec = Some(physical_codec());
    let cluster = BallistaCluster::new_from_config(&config).await.map_err(ballista_error)?;
    start_server(cluster, options.bind, Arc::new(config)).await.map_err(ballista_error)
}

/// Ballista's default engine, except that tasks report no per-operator metrics. Ballista 55's
/// scheduler requires every task of a stage to report as many operator metric sets as the
/// first; when they differ it drops the task's status, and the job waits for ever. lasthop's
/// stages sometimes differ (the plan a task runs is rebuilt from its encoding), so the metrics,
/// which only feed the scheduler's display, are left out.
struct WithoutOperatorMetrics(DefaultExecutionEngine);

impl ExecutionEngine for WithoutOperatorMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>> {
        let inner = self.0.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(StageWithoutMetrics(inner)))
    }
}

#[derive(Debug)]
struct StageWithoutMetrics(Arc<dyn QueryStageExecutor>);

impl std::fmt::Display for StageWithoutMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for StageWithoutMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> Result<Vec<WindowStateReport>> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}

/// How an executor runs.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// Address of the scheduler (`host:port`).
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Where this executor listens: `port` serves shuffle data (Arrow Flight), `grpc_port`
    /// takes tasks.
    pub bind_host: String,
    pub port: u16,
    pub grpc_port: u16,
    /// The host name other executors and clients fetch results from.
    pub external_host: Option<String>,
    /// Tasks run at once (defaults to the machine's cores).
    pub concurrent_tasks: usize,
    /// Shuffle files go here (a temporary directory when not given).
    pub work_dir: Option<String>,
    /// Bytes the executor's tasks may hold before they spill.
    pub memory_limit: Option<u64>,
}

/// Runs an executor until the scheduler stops it or the process is stopped.
pub async fn run_executor(options: ExecutorOptions) -> Result<()> {
    let ctx = SessionContext::new();
    register_functions(&ctx);
    let mut registry = BallistaFunctionRegistry::default();
    registry.scalar_functions.extend(ctx.state().scalar_functions().clone());
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host,
        external_host: options.external_host,
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrent_tasks.max(1),
        work_dir: options.work_dir,
        print_thread_info: false,
        memory_pool_size: options.memory_limit,
        grpc_max_decoding_message_size: MAX_MESSAGE_BYTES,
        grpc_max_encoding_message_size: MAX_MESSAGE_BYTES,
        // Executors report every few seconds, so a stopped one is noticed quickly.
        executor_heartbeat_interval_seconds: 5,
        override_function_registry: Some(Arc::new(registry)),
        override_execution_engine: Some(Arc::new(WithoutOperatorMetrics(
            DefaultExecutionEngine::new(),
        ))),
        override_logical_codec: Some(logical_codec()),
        override_physical_codec: Some(physical_codec()),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await.map_err(ballista_error)
}

/// A session like `local` (its functions, tables and settings) whose queries run on the cluster
/// behind `url` (`df://host:port`).
pub async fn remote_context(url: &str, local: &SessionContext) -> Result<SessionContext> {
    let state = local.state();
    let mut config = state.config().clone();
    // Ballista 55's adaptive planner re-runs join selection on stages whose hash joins already
    // carry dynamic filters, which DataFusion refuses (the task's status is then lost and the
    // job never ends): plan once, without dynamic filters.
    config.options_mut().optimizer.enable_dynamic_filter_pushdown = false;
    let config = config
        .with_ballista_adaptive_query_planner(false)
        .with_ballista_logical_extension_codec(logical_codec())
        .with_ballista_physical_extension_codec(physical_codec())
        .with_ballista_grpc_client_max_message_size(MAX_MESSAGE_BYTES as usize)
        // The local session's catalog already holds the store's tables: keep it.
        .with_create_default_catalog_and_schema(false);
    let functions = state.scalar_functions().clone();
    let state = SessionStateBuilder::new_from_existing(state).with_config(config).build();
    let remote = SessionContext::remote_with_state(url, state).await?;
    // Ballista replaces the session's function list with its own: lasthop's go back in.
    let known = remote.state().scalar_functions().clone();
    for (name, udf) in functions {
        if !known.contains_key(&name) {
            remote.register_udf(udf.as_ref().clone());
        }
    }
    Ok(remote)
}
