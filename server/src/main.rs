//! `slipway`: a thin bootstrap. Parses the command line and hands over to
//! [`slipway_server::cli`]; everything testable lives in the library.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    slipway_server::telemetry::init();
    match slipway_server::cli::run(std::env::args_os()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
