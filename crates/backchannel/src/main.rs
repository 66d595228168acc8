//! `backchannel`: the command-line face of the client, the hub and the demo.

mod admission_cmd;
mod cli;
mod demo;
mod formula_cmd;
mod output;
mod procedure_cmd;
mod session;
mod ui;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let json = args.json;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BACKCHANNEL_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if args.verbose { "info" } else { "warn" })
            }),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a log file or a journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::error(
                json,
                "runtime",
                &format!("cannot start the async runtime: {e}"),
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::already_done(json, &e) => ExitCode::SUCCESS,
        Err(e) => {
            let (code, message) = output::describe(&e);
            output::error(json, &code, &message);
            ExitCode::FAILURE
        }
    }
}
