//! `lasthop cluster scheduler|executor`: the processes of a lasthop cluster.

use std::net::SocketAddr;

use clap::{Args, Subcommand};
use lasthop_cluster::{ExecutorOptions, SchedulerOptions};

use crate::commands::usage;
use crate::{Exit, Failure, OrExit};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Run a scheduler: it takes plans from `hunt --cluster` and hands tasks to executors.
    Scheduler(SchedulerArgs),
    /// Run an executor: it registers with a scheduler and runs the tasks it is given.
    Executor(ExecutorArgs),
}

#[derive(Args, Debug)]
pub struct SchedulerArgs {
    /// Address to listen on. Only this machine can reach the default; a cluster across
    /// machines needs an address they can reach (and a firewall that admits only them).
    #[arg(long, default_value = "127.0.0.1:50050")]
    bind: SocketAddr,
    /// The host name executors and clients reach the scheduler by (default: the bind address).
    #[arg(long)]
    external_host: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExecutorArgs {
    /// The scheduler, as HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:50050")]
    scheduler: String,
    /// Address to listen on (shuffle data and tasks).
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Port serving shuffle data to other executors and to clients (Arrow Flight).
    #[arg(long, default_value_t = 50051)]
    port: u16,
    /// Port taking tasks from the scheduler.
    #[arg(long, default_value_t = 50052)]
    grpc_port: u16,
    /// The host name others fetch this executor's results from (default: the bind address).
    #[arg(long)]
    external_host: Option<String>,
    /// Tasks run at once (default: the machine's cores).
    #[arg(long)]
    concurrent_tasks: Option<usize>,
    /// Where shuffle files go (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<String>,
    /// Memory the executor may use in all (e.g. 4G); its tasks spill past the query engine's
    /// share of it (as for `hunt --memory-limit`).
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
}

pub fn run(command: ClusterCommand) -> Result<Exit, Failure> {
    // Ballista's planner recurses deeply over large plans: its own binaries use 32 MiB stacks.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .or_exit(Exit::StoreError)?;
    match command {
        ClusterCommand::Scheduler(args) => {
            let external_host = args.external_host.unwrap_or_else(|| args.bind.ip().to_string());
            eprintln!("lasthop scheduler listening on {}", args.bind);
            runtime
                .block_on(lasthop_cluster::run_scheduler(SchedulerOptions {
                    bind: args.bind,
                    external_host,
                }))
                .or_exit(Exit::StoreError)?;
        }
        ClusterCommand::Executor(args) => {
            let (host, port) = args
                .scheduler
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| {
                    usage(format!("--scheduler {:?}: expected HOST:PORT", args.scheduler))
                })?;
            let memory_limit = match &args.memory_limit {
                Some(text) => crate::settings::parse_size(text)
                    .map_err(|e| usage(format!("--memory-limit: {e}")))?
                    .map(|b| crate::settings::query_pool(b) as u64),
                None => None,
            };
            let concurrent_tasks = args.concurrent_tasks.unwrap_or_else(|| {
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
            });
            eprintln!(
                "lasthop executor on {}:{} (tasks {}), scheduler {host}:{port}",
                args.bind, args.grpc_port, concurrent_tasks
            );
            runtime
                .block_on(lasthop_cluster::run_executor(ExecutorOptions {
                    scheduler_host: host,
                    scheduler_port: port,
                    external_host: args.external_host.or_else(|| Some(args.bind.clone())),
                    bind_host: args.bind,
                    port: args.port,
                    grpc_port: args.grpc_port,
                    concurrent_tasks,
                    work_dir: args.work_dir,
                    memory_limit,
                }))
                .or_exit(Exit::StoreError)?;
        }
    }
    Ok(Exit::Success)
}
