//! `spate decode`: explain every byte of a Kafka request or response.

use std::io::{self, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{bail, Context as _};
use clap::Args;
use spate_core::annotate::{annotate_request, annotate_response};
use spate_core::protocol::ApiKey;

use crate::tree;
use spate_core::input;

/// Decode a Kafka frame and explain every byte of it.
///
/// The input may be hex (plain, spaced, `0x`-prefixed), an array of byte
/// literals (`{0x00, 0x1e}`), an `xxd`, `hexdump -C` or tshark/Wireshark
/// dump, or base64. The frame may carry its 4-byte size prefix or not.
/// Exits with status 1 when the frame is malformed, after printing what
/// was decoded before the problem (and, for a request, a hint on stderr
/// that a response needs `--response`).
#[derive(Debug, Args)]
#[command(
    after_help = "Input shapes: plain or spaced hex, 0x-prefixed hex, arrays of byte literals
({0x00, 0x1e}, xxd -i), xxd and hexdump -C dumps, tshark/Wireshark hex dumps,
base64 (standard or URL-safe). --verbose says which one was seen.

Examples:
  spate decode 0000001e0003000100000007000a73706174652d7465737400000001000464656d6f
  spate decode 00 00 00 1e 00 03 00 01 00 00 00 07 ...
  xxd frame.bin | spate decode
  spate decode --file frame.bin --json
  spate decode --response Metadata:1 --file response.bin"
)]
pub(crate) struct DecodeArgs {
    /// The frame as text (several arguments are joined with spaces, so
    /// `spate decode 00 00 00 1e ...` works); read from stdin when absent or `-`.
    #[arg(value_name = "HEX", conflicts_with = "file")]
    text: Vec<String>,
    /// Read raw binary bytes from this file (`-` for stdin) instead of text.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    /// Read the text as base64 even when it would pass for hex.
    #[arg(long, conflicts_with = "file")]
    base64: bool,
    /// Decode a response to a request of this API and version:
    /// `Metadata:12`, `metadata:12`, `3:12`.
    #[arg(long, value_name = "API_KEY:VERSION")]
    response: Option<ResponseOf>,
    /// Print the annotation as JSON instead of a tree.
    #[arg(long)]
    json: bool,
    /// Say on stderr how the input was read.
    #[arg(short, long)]
    verbose: bool,
}

/// The request a response answers: `--response Metadata:12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResponseOf {
    /// The api key number.
    key: i16,
    /// The api version.
    version: i16,
}

impl FromStr for ResponseOf {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, version) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("`{s}` is not API_KEY:VERSION, e.g. Metadata:12 or 3:12"))?;
        let version = version
            .trim()
            .parse()
            .map_err(|_| format!("`{version}` is not a version number"))?;
        Ok(ResponseOf {
            key: api_key(key.trim())?,
            version,
        })
    }
}

/// An api key from its number or its name, in any case, with or without
/// underscores: `18`, `ApiVersions`, `apiversions`, `api_versions`.
fn api_key(text: &str) -> Result<i16, String> {
    if let Ok(n) = text.parse::<i16>() {
        return Ok(n);
    }
    let squash = |s: &str| s.replace(['_', '-'], "").to_ascii_lowercase();
    let wanted = squash(text);
    ApiKey::ALL
        .iter()
        .find(|k| squash(&format!("{k:?}")) == wanted)
        .map(|&k| k as i16)
        .ok_or_else(|| {
            format!("`{text}` is not a Kafka API name (like Metadata or ApiVersions) or number")
        })
}

/// Runs the command; the exit code is 1 when the frame is malformed.
pub(crate) fn run(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    let frame = read_frame(&args)?;
    let annotation = match args.response {
        Some(r) => annotate_response(&frame, r.key, r.version),
        None => annotate_request(&frame),
    };
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &annotation)?;
        writeln!(out)?;
    } else {
        out.write_all(tree::render(&frame, &annotation).as_bytes())?;
        if let Some(error) = &annotation.error {
            writeln!(out, "error: {error}")?;
        }
    }
    out.flush()?;
    if annotation.error.is_some() && args.response.is_none() {
        // A response's header holds no api key: read as a request, it
        // fails. Say how to decode it as what it is.
        eprintln!(
            "hint: if these bytes are a response, say to which request: --response API:VERSION \
             (e.g. --response ApiVersions:3)"
        );
    }
    Ok(if annotation.error.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The frame's bytes from the file, the argument or stdin.
fn read_frame(args: &DecodeArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(path) = &args.file {
        let bytes = if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            io::stdin().read_to_end(&mut buf).context("reading stdin")?;
            buf
        } else {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        };
        if args.verbose {
            eprintln!("input: {} raw bytes from {}", bytes.len(), path.display());
        }
        return non_empty(bytes);
    }
    let text = match args.text.as_slice() {
        [] => read_stdin()?,
        [dash] if dash == "-" => read_stdin()?,
        parts => parts.join(" "),
    };
    let decoded = if args.base64 {
        input::parse_base64(&text)
    } else {
        input::parse(&text)
    }?;
    if args.verbose {
        eprintln!("input: {}, {} bytes", decoded.shape, decoded.bytes.len());
    }
    non_empty(decoded.bytes)
}

/// All of stdin, as text.
fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .context("reading stdin (binary input needs --file -)")?;
    Ok(text)
}

/// Refuses an empty frame before the annotator sees it.
fn non_empty(bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    if bytes.is_empty() {
        bail!("the input holds no bytes");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_of_by_number_and_name() {
        let m = ResponseOf {
            key: 3,
            version: 12,
        };
        assert_eq!("3:12".parse(), Ok(m));
        assert_eq!("Metadata:12".parse(), Ok(m));
        assert_eq!("METADATA:12".parse(), Ok(m));
        assert_eq!(
            "api_versions:3".parse(),
            Ok(ResponseOf {
                key: 18,
                version: 3
            })
        );
        assert_eq!(
            "ApiVersions:3".parse(),
            Ok(ResponseOf {
                key: 18,
                version: 3
            })
        );
    }

    #[test]
    fn response_of_rejects() {
        assert!("Metadata".parse::<ResponseOf>().is_err());
        assert!("Metadata:x".parse::<ResponseOf>().is_err());
        let e = "Nope:1".parse::<ResponseOf>().unwrap_err();
        assert!(e.contains("`Nope`"), "{e}");
    }
}
