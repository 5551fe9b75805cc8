//! The `mpc-node` command line.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use net::{Identity, NetOptions};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;
use wire::control::{ErrorKind, Request, RequestBody, Response};

/// A node of the secure segmentation cluster.
#[derive(Debug, Parser)]
#[command(name = "mpc-node", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Run the daemon with this configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon (the same as `mpc-node --config FILE`).
    Run {
        /// Configuration file.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Generate a private key and a self-signed certificate; print its fingerprint.
    Keygen {
        /// Directory to write `cert.pem` and `key.pem` into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Name written in the certificate.
        #[arg(long, default_value = "mpc-node")]
        name: String,
    },
    /// Share this node's CSV of a dataset with every node (the node must be running).
    Ingest {
        /// Configuration file of the node.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Dataset name, as in the configuration.
        #[arg(long)]
        dataset: String,
        /// Replace the records this node already shared in the dataset (they stay restorable
        /// with --restore for `keep_replaced_days`, or until a job uses the new ones).
        #[arg(long)]
        replace: bool,
        /// Share nothing: put back, on every node, the records the last --replace replaced,
        /// and drop the ones that replaced them.
        #[arg(long, conflicts_with = "replace")]
        restore: bool,
    },
    /// Check that the node answers (exit code 0 if it does).
    Health {
        /// Configuration file of the node.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

/// Parses the process's command line and runs it.
pub fn main() -> std::process::ExitCode {
    main_from(std::env::args_os())
}

/// Parses `args` (the first being the program name) and runs them.
pub fn main_from<I, T>(args: I) -> std::process::ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    init_logging(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", net::error_chain(e.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(cli: Cli) -> Result<()> {
    match (cli.command, cli.config) {
        (Some(Command::Run { config }), _) | (None, Some(config)) => {
            let config = Config::load(&config)?;
            crate::server::run(config).await?;
            Ok(())
        }
        (None, None) => bail!("give --config FILE to run a node, or a subcommand (see --help)"),
        (Some(Command::Keygen { out, name }), _) => {
            let identity = Identity::generate(&name).context("generating a key")?;
            let (cert, key) = identity.write(&out)?;
            eprintln!("wrote {} and {}", cert.display(), key.display());
            println!("{}", identity.fingerprint());
            Ok(())
        }
        (Some(Command::Ingest { config: path, dataset, replace, restore }), _) => {
            let config = Config::load(&path)?;
            let body = if restore {
                RequestBody::Restore { dataset: dataset.clone() }
            } else {
                RequestBody::Ingest { dataset: dataset.clone(), replace }
            };
            match ask_own_node(&config, body, Duration::from_secs(3600)).await? {
                Response::Ingested(r) => {
                    let replaced = r.replaced.map_or_else(String::new, |p| {
                        format!(
                            ", replacing its {} records (contribution {}), restorable with --restore \
                             until {} unless a job uses the new ones before",
                            p.rows,
                            p.contribution,
                            crate::store::utc(p.keep_until_ms)
                        )
                    });
                    println!(
                        "dataset {}: shared {} records with {} nodes (contribution {}){replaced}; skipped {} \
                         without consent",
                        r.dataset, r.rows, r.nodes, r.contribution, r.skipped_no_consent
                    );
                    Ok(())
                }
                Response::Restored(r) => {
                    println!(
                        "dataset {}: restored {} records (contribution {}) on {} nodes; dropped the {} \
                         records of contribution {}",
                        r.dataset, r.restored_rows, r.restored, r.nodes, r.dropped_rows, r.dropped
                    );
                    Ok(())
                }
                Response::Error { kind: ErrorKind::Conflict, message } => bail!(
                    "{message}\nto replace them, run: mpc-node ingest --config {} --dataset {dataset} \
                     --replace",
                    path.display()
                ),
                Response::Error { message, .. } => bail!("{message}"),
                other => bail!("unexpected answer {other:?}"),
            }
        }
        (Some(Command::Health { config }), _) => {
            let config = Config::load(&config)?;
            match ask_own_node(&config, RequestBody::Ping, Duration::from_secs(5)).await? {
                Response::Pong(info) => {
                    println!(
                        "ok: node {} (party {} of {}) version {}",
                        info.node_id, info.party, info.parties, info.version
                    );
                    Ok(())
                }
                other => bail!("unexpected answer {other:?}"),
            }
        }
    }
}

/// Sends one control request to the running node of `config`, authenticated as that node.
pub async fn ask_own_node(config: &Config, body: RequestBody, timeout: Duration) -> Result<Response> {
    let identity = Identity::load(&config.identity.cert, &config.identity.key)?;
    let mut addr: SocketAddr = config
        .listen
        .parse()
        .with_context(|| format!("listen address `{}` is not ip:port", config.listen))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let endpoint = net::client_endpoint((Ipv4Addr::UNSPECIFIED, 0).into())?;
    let conn = net::connect(&endpoint, &identity, addr, identity.fingerprint(), &NetOptions::default())
        .await
        .with_context(|| format!("node {} at {addr} does not answer", config.node_id))?;
    let request = Request::new(body);
    let call = net::call(&conn, &request, wire::MAX_CONTROL_FRAME);
    let answer = tokio::time::timeout(timeout, call)
        .await
        .with_context(|| format!("node {} did not answer within {} s", config.node_id, timeout.as_secs()))?
        .with_context(|| format!("node {} at {addr}", config.node_id))?;
    conn.close(0u32.into(), b"done");
    // Let the node learn the connection is closed, rather than keep it until it times out
    // (frequent health checks would otherwise pile up connections of this certificate).
    let _ = tokio::time::timeout(Duration::from_secs(1), endpoint.wait_idle()).await;
    Ok(answer)
}
