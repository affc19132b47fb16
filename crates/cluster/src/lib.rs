//! Cluster: lasthop's detector plans on an Apache DataFusion Ballista cluster.
//!
//! The stock Ballista scheduler and executor binaries cannot run lasthop's plans: they do not
//! know its SQL functions, and those carry state (the site's internal ranges, classification
//! overrides, indicator sets, compiled Sigma rules). Here the scheduler and executors are built
//! with lasthop's codecs ([`lasthop_detect::codec`]), which write that state into each plan and
//! rebuild the functions from it, and with lasthop's stateless functions in their registries.
//!
//! The plans are the very ones the embedded hunt runs: [`remote_context`] gives a session whose
//! queries go to the scheduler, and the detectors run over it unchanged. Tables travel in the
//! plans as file paths, so every executor must see the store at the same path (a shared
//! filesystem).

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use lasthop_detect::codec::{LogicalCodec, PhysicalCodec, register_functions};

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
    let config = state
        .config()
        .clone()
        .with_ballista_logical_extension_codec(logical_codec())
        .with_ballista_physical_extension_codec(physical_codec())
        .with_ballista_grpc_client_max_message_size(MAX_MESSAGE_BYTES as usize);
    let state = SessionStateBuilder::new_from_existing(state).with_config(config).build();
    SessionContext::remote_with_state(url, state).await
}
