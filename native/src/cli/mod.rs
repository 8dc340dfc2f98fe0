//! The subcommands, one module each: its clap `Args` struct and its `run`.
//!
//! They write to stdout with `out!` and `outln!` (below) rather than `print!`,
//! so that a closed pipe (`spate topic list | head -1`) is an error that
//! `main` recognises and ends the program on quietly, instead of a panic.

/// `print!` to stdout that returns the write's `io::Result` instead of
/// panicking when stdout is closed.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*)
    }};
}

/// `println!` to stdout that returns the write's `io::Result` instead of
/// panicking when stdout is closed.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

pub(crate) mod acl;
pub(crate) mod broker_config;
pub(crate) mod cluster;
pub(crate) mod configs;
pub(crate) mod consume;
pub(crate) mod decode;
pub(crate) mod elect;
pub(crate) mod group;
pub(crate) mod produce;
pub(crate) mod reassign;
pub(crate) mod table;
pub(crate) mod top;
pub(crate) mod topic;
pub(crate) mod transactions;
pub(crate) mod user;

/// Whether an error is a write to a closed pipe (the reader went away):
/// the program then ends quietly, as Unix tools do.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
    })
}

/// A flag raised by the first Ctrl-C or SIGTERM, so that a long-running
/// client (`spate consume --group`, `spate connect`) can commit and leave
/// cleanly; a second one exits at once.
pub(crate) fn stop_on_signal() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let flag = Arc::new(AtomicBool::new(false));
    let raised = Arc::clone(&flag);
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            crate::serve::shutdown_signal().await;
            raised.store(true, Ordering::Relaxed);
            crate::serve::shutdown_signal().await;
            std::process::exit(130);
        });
    });
    flag
}
