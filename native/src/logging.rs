//! Logs of the long-running commands (`spate serve`, `spate connect`):
//! tracing events on stderr, filtered by `SPATE_LOG` (an `EnvFilter`:
//! `info`, `debug`, `info,spate::request=debug`, ...).
//!
//! `--log-format text` (the default) writes tracing's human-readable
//! lines, coloured on a terminal; `--log-format json` writes one JSON
//! object per line for log shippers, the event's fields at the top level
//! beside `timestamp`, `level`, `target` and `message`:
//!
//! ```text
//! {"timestamp":"2026-12-07T06:10:00.123456Z","level":"DEBUG","message":"completed request","api":"Produce","api_version":9,"client_id":"rdkafka",...,"target":"spate::request"}
//! ```

/// How log events are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the process's subscriber: `SPATE_LOG`, else `default`, in
/// `format`, on stderr. A subscriber already installed (an embedding
/// test's) stays.
pub(crate) fn init(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // Colours only on a terminal: a log redirected to a file stays plain.
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}
