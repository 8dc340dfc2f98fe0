//! Pasted text to bytes: hex in the shapes people copy it in, or base64.
//!
//! Pure functions, no I/O. [`parse`] looks at the text and picks one shape:
//!
//! | shape | example |
//! |---|---|
//! | plain hex | `0000001e00030001` |
//! | spaced hex | `00 00 00 1e` (any whitespace, lines allowed) |
//! | `0x`-prefixed hex | `0x00 0x1e`, `0x0000001e` |
//! | array of byte literals | `{0x00, 0x1e}`, `[0, 30]`, `xxd -i` output |
//! | `xxd` dump | `00000000: 0000 001e 0003 0001  ........` |
//! | `hexdump -C` dump | `00000000  00 00 00 1e 00 03  \|......\|` |
//! | tshark / Wireshark dump | `0000  00 00 00 1e 00 03   ......` |
//! | base64 | `AAAAHgADAAE=`, URL-safe `-`/`_` too |
//!
//! Detection order: a line starting with an offset column makes a dump;
//! braces, brackets or commas make an array; tokens that all start with
//! `0x` make prefixed hex; only hex digits and whitespace make (spaced)
//! hex; and text that is none of these but uses only base64 characters,
//! with no spaces inside a line, is base64. Base64 that happens to use
//! only hex digits needs [`parse_base64`] (`--base64`).

mod dump;

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// The shape an input was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Hex digits only: `0000001e0003`.
    PlainHex,
    /// Hex digit pairs (or longer even runs) split by whitespace: `00 00 00 1e`.
    SpacedHex,
    /// Tokens that each start with `0x`: `0x00 0x1e` or `0x0000001e`.
    PrefixedHex,
    /// An array of byte literals: `{0x00, 0x1e}`, `[0, 30]`.
    Array,
    /// An `xxd` dump: `00000000: 0000 001e  ....`.
    Xxd,
    /// A `hexdump -C` dump: `00000000  00 00 00 1e  |....|`.
    HexdumpC,
    /// A `tshark -x` or Wireshark "Copy as Hex Dump": `0000  00 00 00 1e   ....`.
    Tshark,
    /// Base64, standard alphabet (`+`, `/`).
    Base64,
    /// Base64, URL-safe alphabet (`-`, `_`).
    Base64Url,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shape::PlainHex => "plain hex",
            Shape::SpacedHex => "spaced hex",
            Shape::PrefixedHex => "0x-prefixed hex",
            Shape::Array => "array of byte literals",
            Shape::Xxd => "xxd dump",
            Shape::HexdumpC => "hexdump -C dump",
            Shape::Tshark => "tshark/Wireshark hex dump",
            Shape::Base64 => "base64",
            Shape::Base64Url => "URL-safe base64",
        })
    }
}

/// The bytes read from the text, and the shape they were read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// How the text was read.
    pub shape: Shape,
}

/// Why the text could not be read. Lines and columns count from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Nothing but whitespace.
    Empty,
    /// A character that fits no shape.
    Unexpected {
        /// Line of the character.
        line: usize,
        /// Column of the character, in characters.
        column: usize,
        /// The character.
        ch: char,
    },
    /// A token that is not what its shape allows.
    BadToken {
        /// The shape being read.
        shape: Shape,
        /// Line of the token.
        line: usize,
        /// The token.
        token: String,
        /// What was expected instead.
        expected: &'static str,
    },
    /// Plain hex with an odd number of digits.
    OddDigits {
        /// How many digits there were.
        digits: usize,
    },
    /// A dump line whose offset does not follow from the lines before it.
    Offset {
        /// The dump's shape.
        shape: Shape,
        /// Line of the offset.
        line: usize,
        /// The offset written on the line.
        found: u64,
        /// The offset the bytes before it lead to.
        expected: u64,
    },
    /// A line in a dump that has no offset column.
    NotDumpLine {
        /// The dump's shape.
        shape: Shape,
        /// The line.
        line: usize,
    },
    /// Output of plain `hexdump` or `od`, whose 16-bit words are little-endian.
    WordDump,
    /// Base64 that does not decode.
    Base64(String),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Empty => f.write_str("the input is empty"),
            InputError::Unexpected { line, column, ch } => write!(
                f,
                "unexpected {ch:?} at line {line}, column {column}: the input is not hex, \
                 a hex dump, an array of byte literals, or base64"
            ),
            InputError::BadToken {
                shape,
                line,
                token,
                expected,
            } => write!(f, "{shape}: `{token}` on line {line} is not {expected}"),
            InputError::OddDigits { digits } => {
                write!(f, "plain hex: {digits} digits is an odd number; every byte takes two")
            }
            InputError::Offset {
                shape,
                line,
                found,
                expected,
            } => write!(
                f,
                "{shape}: line {line} starts at offset {found:#x}, but the lines before it end at {expected:#x}"
            ),
            InputError::NotDumpLine { shape, line } => {
                write!(f, "{shape}: line {line} does not start with an offset column")
            }
            InputError::WordDump => f.write_str(
                "this looks like plain `hexdump` or `od` output, whose 16-bit words are \
                 little-endian; use `hexdump -C` or `xxd` instead",
            ),
            InputError::Base64(why) => write!(f, "base64: {why}"),
        }
    }
}

impl std::error::Error for InputError {}

/// Reads `text` as whichever shape it is in (see the module docs).
pub fn parse(text: &str) -> Result<Decoded, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    if let Some(shape) = dump::detect(text)? {
        return dump::parse(text, shape);
    }
    if text.contains(['{', '[', ',']) {
        return parse_array(text);
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.iter().all(|t| strip_0x(t).is_some()) {
        return parse_prefixed(text);
    }
    if text
        .chars()
        .all(|c| c.is_ascii_hexdigit() || c.is_whitespace())
    {
        return parse_hex(text);
    }
    let b64_chars = text.chars().all(|c| is_base64_char(c) || c.is_whitespace());
    let spaced_within_line = text.lines().any(|l| l.trim().contains(char::is_whitespace));
    if b64_chars && !spaced_within_line {
        return parse_base64(text);
    }
    Err(first_unexpected(text, |c| {
        c.is_ascii_hexdigit() || c.is_whitespace()
    }))
}

/// Reads `text` as base64, standard or URL-safe, padded or not; whitespace
/// (line wrapping) is ignored.
pub fn parse_base64(text: &str) -> Result<Decoded, InputError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(InputError::Empty);
    }
    let url = compact.contains(['-', '_']);
    if url && compact.contains(['+', '/']) {
        return Err(InputError::Base64(
            "mixes the standard (`+`, `/`) and URL-safe (`-`, `_`) alphabets".into(),
        ));
    }
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let (engine, shape) = if url {
        (
            GeneralPurpose::new(&alphabet::URL_SAFE, config),
            Shape::Base64Url,
        )
    } else {
        (
            GeneralPurpose::new(&alphabet::STANDARD, config),
            Shape::Base64,
        )
    };
    let bytes = engine
        .decode(compact.as_bytes())
        .map_err(|e| InputError::Base64(e.to_string()))?;
    Ok(Decoded { bytes, shape })
}

/// Plain or spaced hex: digits and whitespace only.
fn parse_hex(text: &str) -> Result<Decoded, InputError> {
    let trimmed = text.trim();
    if !trimmed.contains(char::is_whitespace) {
        if trimmed.len() % 2 == 1 {
            return Err(InputError::OddDigits {
                digits: trimmed.len(),
            });
        }
        let bytes = hex_run(trimmed).unwrap_or_default();
        return Ok(Decoded {
            bytes,
            shape: Shape::PlainHex,
        });
    }
    let mut bytes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for token in line.split_whitespace() {
            let run = hex_run(token).ok_or_else(|| InputError::BadToken {
                shape: Shape::SpacedHex,
                line: i + 1,
                token: token.into(),
                expected: "an even number of hex digits",
            })?;
            bytes.extend(run);
        }
    }
    Ok(Decoded {
        bytes,
        shape: Shape::SpacedHex,
    })
}

/// `0x00 0x1e` or `0x0000001e`: each token's digits are bytes; a single
/// digit (`0x0`) is one byte.
fn parse_prefixed(text: &str) -> Result<Decoded, InputError> {
    let mut bytes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for token in line.split_whitespace() {
            let digits = strip_0x(token).unwrap_or(token);
            let run = if digits.len() == 1 {
                u8::from_str_radix(digits, 16).ok().map(|b| vec![b])
            } else {
                hex_run(digits)
            };
            bytes.extend(run.ok_or_else(|| InputError::BadToken {
                shape: Shape::PrefixedHex,
                line: i + 1,
                token: token.into(),
                expected: "`0x` followed by one digit or an even number of hex digits",
            })?);
        }
    }
    Ok(Decoded {
        bytes,
        shape: Shape::PrefixedHex,
    })
}

/// `{0x00, 0x1e}`, `[0, 30]`, `unsigned char f[] = {...};`: the elements
/// of the bracketed list with the most commas (so `let f: [u8; 2] = [0, 1]`
/// reads the second list), each a byte written in hex with `0x` or in
/// decimal, with an optional `u8` suffix.
fn parse_array(text: &str) -> Result<Decoded, InputError> {
    let (body_start, body_end) = widest_list(text).unwrap_or((0, text.len()));
    let body = &text[body_start..body_end];
    let first_line = text[..body_start].matches('\n').count() + 1;
    let mut bytes = Vec::new();
    let mut line = first_line;
    for element in body.split(',') {
        let token = element.trim();
        let line_here = line
            + element[..element.len() - element.trim_start().len()]
                .matches('\n')
                .count();
        line += element.matches('\n').count();
        if token.is_empty() {
            continue; // a trailing comma
        }
        let bare = token.strip_suffix("u8").unwrap_or(token);
        let byte = match strip_0x(bare) {
            Some(d) if d.len() <= 2 => u8::from_str_radix(d, 16).ok(),
            Some(_) => None,
            None if bare.bytes().all(|b| b.is_ascii_digit()) => bare.parse::<u8>().ok(),
            None => None,
        };
        bytes.push(byte.ok_or_else(|| InputError::BadToken {
            shape: Shape::Array,
            line: line_here,
            token: token.into(),
            expected: "a byte (`0x00` to `0xff`, or 0 to 255)",
        })?);
    }
    Ok(Decoded {
        bytes,
        shape: Shape::Array,
    })
}

/// The byte range inside the `{...}` or `[...]` with the most commas.
fn widest_list(text: &str) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    let mut at = 0;
    while let Some(open) = text[at..].find(['{', '[']).map(|i| at + i) {
        let close = if text.as_bytes()[open] == b'{' {
            '}'
        } else {
            ']'
        };
        let end = text[open + 1..]
            .find(close)
            .map_or(text.len(), |i| open + 1 + i);
        let commas = text[open + 1..end].matches(',').count();
        if best.is_none_or(|(_, _, most)| commas > most) {
            best = Some((open + 1, end, commas));
        }
        at = end;
    }
    best.map(|(start, end, _)| (start, end))
}

/// The digits after `0x` or `0X`, when there are some and all are hex.
fn strip_0x(token: &str) -> Option<&str> {
    let digits = token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digits)
}

/// An even-length run of hex digits as bytes.
pub(crate) fn hex_run(digits: &str) -> Option<Vec<u8>> {
    let raw = digits.as_bytes();
    if raw.len() % 2 == 1 || !raw.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    raw.chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=')
}

/// The first character that `ok` rejects, and where it is.
fn first_unexpected(text: &str, ok: impl Fn(char) -> bool) -> InputError {
    for (i, line) in text.lines().enumerate() {
        if let Some((col, ch)) = line.chars().enumerate().find(|(_, c)| !ok(*c)) {
            return InputError::Unexpected {
                line: i + 1,
                column: col + 1,
                ch,
            };
        }
    }
    InputError::Empty
}

#[cfg(test)]
mod tests;
