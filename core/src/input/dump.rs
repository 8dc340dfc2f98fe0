//! Hex dumps with an offset column: `xxd`, `hexdump -C`, tshark/Wireshark.
//!
//! # Format
//!
//! ```text
//! xxd:         00000000: 0000 001e 0003 0001  ........
//! hexdump -C:  00000000  00 00 00 1e 00 03 00 01  00 00 |..........|
//!              *
//!              0000002a
//! tshark:      0000  00 00 00 1e 00 03 00 01 00 00   ..........
//! ```
//!
//! The offset column is checked: each line must start where the bytes
//! before it end (relative to the first line, so `xxd -s 64` works), so a
//! line lost or mangled in the paste is an error rather than a silent
//! shift. A `*` line (repeated lines elided by `hexdump` or `xxd -a`)
//! repeats the line before it up to the next offset. The ASCII column is
//! ignored: in `xxd` it follows the first double space, in `hexdump -C`
//! it starts at `|`, in tshark it follows a gap of three or more spaces.

use super::{hex_run, Decoded, InputError, Shape};

/// The most bytes a `*` line may stand for.
const MAX_ELIDED: u64 = 16 << 20;

/// The dump shape of `text`, from its first non-blank line, if it is a dump.
pub(crate) fn detect(text: &str) -> Result<Option<Shape>, InputError> {
    let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if let Some((offset, _)) = first.split_once(':') {
        if offset.len() >= 4 && parse_offset(offset).is_some() {
            return Ok(Some(Shape::Xxd));
        }
        return Ok(None);
    }
    let Some((offset, rest)) = first.split_once(char::is_whitespace) else {
        return Ok(None);
    };
    if offset.len() < 4 || parse_offset(offset).is_none() {
        return Ok(None);
    }
    let next = rest.trim_start();
    let gap = rest.len() - next.len() + 1;
    let next_token = next.split_whitespace().next().unwrap_or("");
    let is_hex = |t: &str| t.bytes().all(|b| b.is_ascii_hexdigit());
    if gap == 1 && offset.len() == 7 && next_token.len() == 4 && is_hex(next_token) {
        return Err(InputError::WordDump);
    }
    if gap >= 2 && next_token.len() == 2 && is_hex(next_token) {
        let shape = if first.ends_with('|') && first.contains("  |") {
            Shape::HexdumpC
        } else {
            Shape::Tshark
        };
        return Ok(Some(shape));
    }
    Ok(None)
}

/// Reads a dump of the given shape.
pub(crate) fn parse(text: &str, shape: Shape) -> Result<Decoded, InputError> {
    let mut bytes: Vec<u8> = Vec::new();
    let mut base = None;
    let mut previous: Vec<u8> = Vec::new();
    let mut elided = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let number = i + 1;
        if line.is_empty() {
            continue;
        }
        if line == "*" {
            elided = true;
            continue;
        }
        let (offset, row) = match shape {
            Shape::Xxd => xxd_line(line, number)?,
            _ => column_line(line, number, shape)?,
        };
        let base = *base.get_or_insert(offset);
        let mut expected = base + bytes.len() as u64;
        if elided && offset > expected && !previous.is_empty() {
            let gap = offset - expected;
            let width = previous.len() as u64;
            if gap % width == 0 && gap <= MAX_ELIDED {
                for _ in 0..gap / width {
                    bytes.extend_from_slice(&previous);
                }
                expected = offset;
            }
        }
        elided = false;
        if offset != expected {
            return Err(InputError::Offset {
                shape,
                line: number,
                found: offset,
                expected,
            });
        }
        if !row.is_empty() {
            previous.clone_from(&row);
        }
        bytes.extend(row);
    }
    Ok(Decoded { bytes, shape })
}

/// `00000000: 0000 001e 0003  ......`: the offset, then groups of digit
/// pairs up to the double space before the ASCII column.
fn xxd_line(line: &str, number: usize) -> Result<(u64, Vec<u8>), InputError> {
    let not_dump = || InputError::NotDumpLine {
        shape: Shape::Xxd,
        line: number,
    };
    let (offset, rest) = line.split_once(':').ok_or_else(not_dump)?;
    let offset = parse_offset(offset).ok_or_else(not_dump)?;
    let rest = rest.trim_start();
    let area = rest.find("  ").map_or(rest, |end| &rest[..end]);
    let mut bytes = Vec::new();
    for token in area.split_whitespace() {
        bytes.extend(hex_run(token).ok_or_else(|| InputError::BadToken {
            shape: Shape::Xxd,
            line: number,
            token: token.into(),
            expected: "a group of hex digit pairs",
        })?);
    }
    Ok((offset, bytes))
}

/// `hexdump -C` and tshark lines: the offset, then two-digit bytes until
/// a `|`, a gap of three or more spaces, or a token that is not a byte.
fn column_line(line: &str, number: usize, shape: Shape) -> Result<(u64, Vec<u8>), InputError> {
    let end = line.find(char::is_whitespace).unwrap_or(line.len());
    let (offset, mut rest) = line.split_at(end);
    let offset = parse_offset(offset).ok_or(InputError::NotDumpLine {
        shape,
        line: number,
    })?;
    let mut bytes = Vec::new();
    loop {
        let token_start = rest.trim_start();
        let gap = rest.len() - token_start.len();
        if token_start.is_empty() || token_start.starts_with('|') || (!bytes.is_empty() && gap >= 3)
        {
            break;
        }
        let len = token_start
            .find(|c: char| c.is_whitespace() || c == '|')
            .unwrap_or(token_start.len());
        match hex_run(&token_start[..len]) {
            Some(b) if len == 2 => bytes.extend(b),
            _ => break,
        }
        rest = &token_start[len..];
    }
    Ok((offset, bytes))
}

/// A hex offset column, at most 16 digits.
fn parse_offset(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}
