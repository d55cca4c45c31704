//! The `extws-wasm` binary: parse the command line, set up logging, run the subcommand.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use extws_wasm::cli::{Cli, Command, LogFormat};
use extws_wasm::{Config, Prepared, componentize, tools};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building the tokio runtime");
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = Config::from_serve_args(&args)?;
            let prepared = Prepared::new(config).await?;
            let shutdown = shutdown_signal()?;
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            extws_wasm::run(listener, prepared, shutdown).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Call(args) => {
            let (envelope, ok) = tools::call(&args).await?;
            println!("{envelope}");
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::New(args) => {
            let dir = extws_wasm::scaffold::run(&args)?;
            println!(
                "created {}: run `make -C {}` to build it",
                dir.display(),
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => Ok(if tools::check(&args).await {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Command::SignInitData(args) => {
            println!("{}", tools::sign_init_data(&args)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Describe(args) => {
            print!("{}", tools::describe(&args).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Telegram(args) => {
            println!("{}", tools::telegram::run(&args.command).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Componentize(args) => {
            componentize::run(&args)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init_tracing(format: LogFormat) {
    let mut filter = EnvFilter::try_from_env("EXTWS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    // The WebSocket library logs whole frames and request heads at debug and trace: an `Auth`
    // message's initData, a handshake's `Authorization`. Never below info, whatever EXTWS_LOG
    // says: no log may carry initData, hashes or tokens.
    for quiet in ["tungstenite=info", "tokio_tungstenite=info"] {
        filter = filter.add_directive(quiet.parse().expect("a valid directive"));
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Completes on SIGINT or SIGTERM. The handlers are installed here, before the server prints
/// its listening line: a signal sent as soon as that line appears is a graceful shutdown, never
/// the default action (killed by the signal).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
