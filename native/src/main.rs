//! The `spate` binary: the broker and its command-line tools, all in the
//! library (`spate::cli_main`).

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    spate::cli_main()
}
