//! `slipway`: a thin bootstrap. Parses the command line and hands over to
//! [`slipway_server::cli`]; everything testable lives in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    // Before the runtime starts its threads.
    return_large_allocations_to_the_system();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match slipway_server::cli::run(std::env::args_os()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Makes glibc serve allocations of 1 MiB and more with their own mappings, returned to
/// the system when freed. By default glibc raises that threshold after the first large
/// free, then keeps freed blocks in its heaps: every login's 19 MiB argon2 buffer stayed
/// resident, and twenty guesses left a server at 427 MiB (36 MiB with this setting;
/// `tests/tests/it/connections.rs` measures it).
fn return_large_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter (it takes the allocator's own
    // locks); it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
