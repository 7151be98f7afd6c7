//! `luna`: the Luna daemon (`luna serve`) and its command-line client.

mod api;
mod bench;
mod bench_devices;
mod bench_plans;
mod boot;
mod cli;
mod config;
mod discovery;
mod dist;
mod model;
mod serve;
mod service;
mod simulators;
mod store;

use clap::{CommandFactory, Parser};
use cli::args::{BenchCmd, Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(7);
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => {
                let result = config::FileConfig::load(args.config.as_deref()).and_then(|file| {
                    config::resolve(
                        file,
                        args.listen,
                        cli.data_dir.clone(),
                        args.store,
                        args.log_format,
                    )
                });
                let cfg = match result {
                    Ok(c) => c,
                    Err(e) => return fail(7, &format!("{e:#}")),
                };
                init_logging(cfg.log_json);
                match serve::run(cfg).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(7, &format!("{e:#}")),
                }
            }
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "luna", &mut std::io::stdout());
                ExitCode::SUCCESS
            }
            Command::Bench(BenchCmd::Store { nodes, store }) => {
                match bench::store(nodes, store).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(7, &format!("{e:#}")),
                }
            }
            Command::Bench(BenchCmd::Swarm {
                nodes,
                image_mb,
                link_mbit,
                modes,
                json,
            }) => {
                let args = dist::bench::SwarmArgs {
                    nodes,
                    image_mb,
                    link_mbit,
                    modes,
                    json,
                };
                match dist::bench::swarm(args).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(7, &format!("{e:#}")),
                }
            }
            Command::Bench(BenchCmd::Plans {
                nodes,
                partition,
                post_install,
            }) => match bench_plans::run(nodes, &partition, &post_install).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(7, &format!("{e:#}")),
            },
            Command::Bench(BenchCmd::Power {
                bmcs,
                plugins,
                json,
            }) => match bench_devices::power(bmcs, &plugins, json).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(7, &format!("{e:#}")),
            },
            Command::Bench(BenchCmd::Switches {
                switches,
                cycles,
                plugins,
                json,
            }) => match bench_devices::switches(switches, cycles, &plugins, json).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(7, &format!("{e:#}")),
            },
            Command::Bench(BenchCmd::Boot {
                nodes,
                concurrency,
                only,
                client,
                duration,
            }) => match boot::bench::run(
                nodes,
                concurrency,
                &only,
                client,
                std::time::Duration::from_secs(duration),
            )
            .await
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(7, &format!("{e:#}")),
            },
            _ => match cli::run(cli).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e.code, &e.message),
            },
        }
    })
}

fn fail(code: i32, message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(code as u8)
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LUNA_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,surrealdb=warn,surrealkv=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
