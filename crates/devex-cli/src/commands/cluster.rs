//! `devex cluster scheduler|executor`: Ballista's processes, in this binary.

use crate::cli::ClusterCommand;
use crate::exit::{Failure, Outcome};

pub async fn run(command: ClusterCommand) -> anyhow::Result<Outcome> {
    match command {
        ClusterCommand::Scheduler { listen } => {
            if devex_cluster::BUILT {
                eprintln!("devex cluster scheduler: listening on {listen} (clients: --cluster df://{listen})");
            }
            devex_cluster::run_scheduler(listen).await?;
        }
        ClusterCommand::Executor { scheduler, listen, external_host, concurrent_tasks, work_dir } => {
            let address = devex_cluster::scheduler_address(&format!("df://{scheduler}")).map_err(|_| {
                Failure::error(
                    format!("--scheduler {scheduler}: expected HOST:PORT"),
                    "e.g. --scheduler scheduler:50050",
                )
            })?;
            if devex_cluster::BUILT {
                eprintln!("devex cluster executor: serving scheduler {scheduler} from {listen}");
            }
            devex_cluster::run_executor(devex_cluster::ExecutorOptions {
                scheduler: address,
                listen,
                external_host,
                concurrent_tasks,
                work_dir: work_dir.map(|d| d.display().to_string()),
            })
            .await?;
        }
    }
    Ok(Outcome::Success)
}
