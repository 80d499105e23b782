//! `basalt`: one binary for every role.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "basalt",
    version,
    about = "A MySQL-compatible, horizontally scalable SQL database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run PD, a store and the SQL layer in one process on a local data directory.
    Playground {
        /// Where the data lives.
        #[arg(long, default_value = "./basalt-data")]
        data_dir: PathBuf,
        /// MySQL protocol port.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Status HTTP port.
        #[arg(long, default_value_t = 10080)]
        status_port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Playground {
            data_dir,
            port,
            status_port,
            host,
        } => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let cluster = basalt::embedded::Embedded::open(&data_dir)?;
                let ts = cluster.client(kv_client::Config::default()).current_ts().await?;
                println!("basalt: transactional store open in {} (timestamp {ts})", data_dir.display());
                println!(
                    "basalt: the SQL server ({host}:{port}, status {host}:{status_port}) is not yet built; it arrives with the SQL issue"
                );
                anyhow::Ok(())
            })
        }
    }
}
