//! The annotation tree as text: one line per span.
//!
//! # Format
//!
//! ```text
//!  0..34  request: MetadataRequest v1
//!  0..4     size: int32 = 30  (30 bytes follow)         00 00 00 1e
//!  4..14    header: RequestHeader v1
//!  4..6       request_api_key: int16 = 3  (Metadata)    00 03
//! ```
//!
//! A compressed batch's records follow its `records` leaf, decompressed,
//! under a line naming them; their ranges count from the start of the
//! decompressed bytes:
//!
//! ```text
//! 103..197        records (zstd-compressed): bytes = 0x28b5…  (3 records, compressed; 183 bytes decompressed)
//!                   zstd-decompressed records, 183 bytes (offsets from their start)
//!   0..183            records: [Record]
//! ```
//!
//! The byte range is decimal, `start..end` (end exclusive); the name is
//! indented two spaces per level; leaves end with their bytes in hex,
//! aligned in one column, the first 16 then `…`.

use std::fmt::Write as _;

use spate_core::annotate::{printable, Annotation, Span, Value};

/// Leaves show at most this many bytes.
const MAX_SHOWN: usize = 16;
/// Printable byte values are shown as text too, this many characters at most.
const MAX_TEXT: usize = 80;
/// The bytes column starts no further right than this.
const MAX_LEFT: usize = 72;

/// Renders the tree of `annotation` over `frame`; the error, if any, is not
/// included.
pub(crate) fn render(frame: &[u8], annotation: &Annotation) -> String {
    let mut rows = Vec::new();
    let width = annotation.root.end.max(frame.len()).to_string().len();
    collect(&annotation.root, 0, width, frame, &mut rows);
    let column = rows
        .iter()
        .filter(|(_, bytes)| !bytes.is_empty())
        .map(|(left, _)| left.chars().count())
        .max()
        .unwrap_or(0)
        .min(MAX_LEFT);
    let mut out = String::new();
    for (left, bytes) in rows {
        if bytes.is_empty() {
            out.push_str(&left);
        } else {
            let pad = column.saturating_sub(left.chars().count());
            let _ = write!(out, "{left}{:pad$}  {bytes}", "");
        }
        out.push('\n');
    }
    out
}

/// Pushes `(text, bytes)` rows for `span` and its children, depth first.
fn collect(
    span: &Span,
    depth: usize,
    width: usize,
    frame: &[u8],
    rows: &mut Vec<(String, String)>,
) {
    let mut left = format!(
        "{:>width$}..{:<width$}  {:indent$}{}: {}",
        span.start,
        span.end,
        "",
        span.name,
        span.kind,
        indent = depth * 2
    );
    if let Some(value) = &span.value {
        let _ = write!(left, " = {value}");
    }
    if let Some(Value::Bytes(b)) = &span.value {
        if let Some(text) = printable(b).filter(|t| !t.is_empty()) {
            let shown: String = text.chars().take(MAX_TEXT).collect();
            let more = if shown.len() < text.len() { "…" } else { "" };
            let _ = write!(left, "  ({shown:?}{more})");
        }
    }
    if let Some(note) = &span.note {
        let _ = write!(left, "  ({note})");
    }
    let bytes = if span.children.is_empty() {
        hex(frame
            .get(span.start..span.end.min(frame.len()))
            .unwrap_or_default())
    } else {
        String::new()
    };
    rows.push((left, bytes));
    for child in &span.children {
        collect(child, depth + 1, width, frame, rows);
    }
    if let Some(inner) = &span.inner {
        // Decoded bytes (decompressed records): their own offsets, from 0.
        let mut head = format!(
            "{:>width$}  {:indent$}{}, {} bytes (offsets from their start)",
            "",
            "",
            inner.label,
            inner.bytes.len(),
            width = width * 2 + 2,
            indent = (depth + 1) * 2
        );
        if let Some(e) = &inner.error {
            let _ = write!(head, "; stopped: {e}");
        }
        rows.push((head, String::new()));
        for child in &inner.spans {
            collect(child, depth + 2, width, &inner.bytes, rows);
        }
    }
}

/// `00 00 00 1e`, the first [`MAX_SHOWN`] bytes then `…`.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (i, b) in bytes.iter().take(MAX_SHOWN).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    if bytes.len() > MAX_SHOWN {
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(name: &'static str, kind: &'static str, start: usize, end: usize, v: i64) -> Span {
        Span::leaf(name, kind, start, end, Value::Int(v))
    }

    #[test]
    fn renders_ranges_indent_values_notes_and_bytes() {
        let frame = [0, 0, 0, 2, 0, 3];
        let mut root = Span::open("request", "frame", 0);
        root.end = 6;
        root.children
            .push(leaf("size", "int32", 0, 4, 2).with_note("2 bytes follow"));
        let mut header = Span::open("header", "RequestHeader v1", 4);
        header.end = 6;
        header
            .children
            .push(leaf("request_api_key", "int16", 4, 6, 3));
        root.children.push(header);
        let text = render(&frame, &Annotation { root, error: None });
        let expected = "\
0..6  request: frame
0..4    size: int32 = 2  (2 bytes follow)  00 00 00 02
4..6    header: RequestHeader v1
4..6      request_api_key: int16 = 3       00 03
";
        assert_eq!(text, expected);
    }

    #[test]
    fn long_leaves_are_cut() {
        assert_eq!(hex(&[0xab; 3]), "ab ab ab");
        let long = hex(&[0; 40]);
        assert!(long.ends_with("00 …"));
        assert_eq!(long.matches("00").count(), MAX_SHOWN);
    }

    #[test]
    fn pads_ranges_to_the_frame_length() {
        let frame = vec![0u8; 120];
        let root = Span::leaf("undecoded", "bytes", 0, 120, Value::Null);
        let text = render(&frame, &Annotation { root, error: None });
        assert!(
            text.starts_with("  0..120  undecoded: bytes = null  "),
            "{text}"
        );
    }
}
