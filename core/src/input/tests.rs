//! One test per input shape, on the same 34-byte Metadata v1 request, plus
//! the ways each shape can go wrong.

use super::*;

/// Size 30, Metadata v1, correlation id 7, client id "spate-test", topic "demo".
const FRAME: &[u8] = b"\x00\x00\x00\x1e\x00\x03\x00\x01\x00\x00\x00\x07\x00\x0aspate-test\x00\x00\x00\x01\x00\x04demo";

fn ok(text: &str, shape: Shape) {
    let got = parse(text).unwrap_or_else(|e| panic!("{e}\n--- input ---\n{text}"));
    assert_eq!(got.shape, shape, "shape of\n{text}");
    assert_eq!(got.bytes, FRAME, "bytes of\n{text}");
}

#[test]
fn plain_hex() {
    ok(
        "0000001e0003000100000007000a73706174652d746573740000000100046465 6d6f"
            .replace(' ', "")
            .as_str(),
        Shape::PlainHex,
    );
    ok(
        "  0000001E0003000100000007000A73706174652D7465737400000001000464656D6F\n",
        Shape::PlainHex,
    );
}

#[test]
fn plain_hex_odd() {
    assert_eq!(parse("000"), Err(InputError::OddDigits { digits: 3 }));
}

#[test]
fn spaced_hex() {
    let pairs: Vec<String> = FRAME.iter().map(|b| format!("{b:02x}")).collect();
    ok(&pairs.join(" "), Shape::SpacedHex);
    ok(&pairs.join("\n"), Shape::SpacedHex);
    ok(
        &pairs
            .chunks(4)
            .map(|c| c.concat())
            .collect::<Vec<_>>()
            .join("\t"),
        Shape::SpacedHex,
    );
    // xxd -p: plain hex wrapped over lines.
    ok(
        "0000001e0003000100000007000a73706174652d74657374000000010004\n64656d6f\n",
        Shape::SpacedHex,
    );
}

#[test]
fn spaced_hex_odd_token() {
    let err = parse("00 0 01").unwrap_err();
    assert!(
        matches!(err, InputError::BadToken { shape: Shape::SpacedHex, line: 1, ref token, .. } if token == "0")
    );
}

#[test]
fn prefixed_hex() {
    let each: Vec<String> = FRAME.iter().map(|b| format!("0x{b:02x}")).collect();
    ok(&each.join(" "), Shape::PrefixedHex);
    ok(
        "0x0000001e0003000100000007000a73706174652d74657374000000010004\n0X64656D6F",
        Shape::PrefixedHex,
    );
    assert_eq!(parse("0x0 0xf").unwrap().bytes, vec![0, 15]);
    assert!(matches!(
        parse("0x000 0x01"),
        Err(InputError::BadToken {
            shape: Shape::PrefixedHex,
            ..
        })
    ));
}

#[test]
fn c_array() {
    let each: Vec<String> = FRAME.iter().map(|b| format!("0x{b:02x}")).collect();
    ok(&format!("{{{}}}", each.join(", ")), Shape::Array);
    ok(&format!("{{ {}, }};", each.join(",")), Shape::Array);
    ok(&format!("[{}]", each.join(", ")), Shape::Array);
    let decimal: Vec<String> = FRAME.iter().map(|b| format!("{b}")).collect();
    ok(&format!("[{}]", decimal.join(", ")), Shape::Array);
    let rust: Vec<String> = FRAME.iter().map(|b| format!("0x{b:02X}u8")).collect();
    ok(
        &format!("let frame: [u8; 34] = [{}];", rust.join(", ")),
        Shape::Array,
    );
}

#[test]
fn xxd_include() {
    ok(
        "unsigned char f_bin[] = {
  0x00, 0x00, 0x00, 0x1e, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07,
  0x00, 0x0a, 0x73, 0x70, 0x61, 0x74, 0x65, 0x2d, 0x74, 0x65, 0x73, 0x74,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x64, 0x65, 0x6d, 0x6f
};
unsigned int f_bin_len = 34;
",
        Shape::Array,
    );
}

#[test]
fn array_bad_element_names_its_line() {
    let err = parse("{\n  0x00, 0x01,\n  0x100, 0x02\n}").unwrap_err();
    assert_eq!(
        err,
        InputError::BadToken {
            shape: Shape::Array,
            line: 3,
            token: "0x100".into(),
            expected: "a byte (`0x00` to `0xff`, or 0 to 255)",
        }
    );
    assert!(matches!(
        parse("[1, 256]"),
        Err(InputError::BadToken { .. })
    ));
}

#[test]
fn xxd() {
    ok(
        "00000000: 0000 001e 0003 0001 0000 0007 000a 7370  ..............sp
00000010: 6174 652d 7465 7374 0000 0001 0004 6465  ate-test......de
00000020: 6d6f                                     mo
",
        Shape::Xxd,
    );
}

#[test]
fn xxd_ascii_column_that_looks_like_hex_is_ignored() {
    // The bytes spell "beef"; the ASCII column repeats it.
    let got = parse("00000000: 6265 6566                                beef").unwrap();
    assert_eq!(got.bytes, b"beef");
}

#[test]
fn xxd_one_byte_groups() {
    ok(
        "00000000: 00 00 00 1e 00 03 00 01 00 00 00 07 00 0a 73 70  ..............sp
00000010: 61 74 65 2d 74 65 73 74 00 00 00 01 00 04 64 65  ate-test......de
00000020: 6d 6f                                            mo",
        Shape::Xxd,
    );
}

#[test]
fn xxd_starting_elsewhere() {
    let got = parse("00000040: 0102 0304  ....\n00000044: 05    .").unwrap();
    assert_eq!(got.bytes, [1, 2, 3, 4, 5]);
}

#[test]
fn xxd_autoskip_star() {
    let got = parse(
        "00000000: 0102 0000 0000 0000 0000 0000 0000 0000  ................
00000010: 0000 0000 0000 0000 0000 0000 0000 0000  ................
*
00000040: 0304                                     ..",
    )
    .unwrap();
    assert_eq!(got.bytes.len(), 0x42);
    assert_eq!(&got.bytes[..2], [1, 2]);
    assert_eq!(&got.bytes[0x40..], [3, 4]);
}

#[test]
fn xxd_missing_line_is_an_offset_error() {
    let err = parse(
        "00000000: 0000 001e 0003 0001 0000 0007 000a 7370  ..............sp
00000020: 6d6f                                     mo",
    )
    .unwrap_err();
    assert_eq!(
        err,
        InputError::Offset {
            shape: Shape::Xxd,
            line: 2,
            found: 0x20,
            expected: 0x10
        }
    );
}

#[test]
fn xxd_bad_group() {
    let err = parse("00000000: 0000 00g1 0003  ....").unwrap_err();
    assert!(
        matches!(err, InputError::BadToken { shape: Shape::Xxd, line: 1, ref token, .. } if token == "00g1")
    );
}

#[test]
fn hexdump_c() {
    ok(
        "00000000  00 00 00 1e 00 03 00 01  00 00 00 07 00 0a 73 70  |..............sp|
00000010  61 74 65 2d 74 65 73 74  00 00 00 01 00 04 64 65  |ate-test......de|
00000020  6d 6f                                             |mo|
00000022
",
        Shape::HexdumpC,
    );
}

#[test]
fn hexdump_c_star_repeats_the_line_before() {
    let got = parse(
        "00000000  00 00 00 1e 00 03 00 01  00 00 00 07 00 0a 73 70  |..............sp|
00000010  61 74 65 2d 74 65 73 74  00 00 00 01 00 04 64 65  |ate-test......de|
00000020  6d 6f 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |mo..............|
00000030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|
*
00000060  00 00                                             |..|
00000062",
    )
    .unwrap();
    assert_eq!(got.shape, Shape::HexdumpC);
    assert_eq!(&got.bytes[..FRAME.len()], FRAME);
    assert_eq!(got.bytes.len(), 0x62);
    assert!(got.bytes[FRAME.len()..].iter().all(|&b| b == 0));
}

#[test]
fn hexdump_c_wrong_final_length() {
    let err = parse("00000000  00 01  |..|\n00000003\n").unwrap_err();
    assert!(matches!(
        err,
        InputError::Offset {
            line: 2,
            found: 3,
            expected: 2,
            ..
        }
    ));
}

#[test]
fn plain_hexdump_words_are_refused() {
    let text = "0000000 0000 1e00 0300 0100 0000 0700 0a00 7073\n0000022\n";
    assert_eq!(parse(text), Err(InputError::WordDump));
}

#[test]
fn tshark() {
    ok(
        "0000  00 00 00 1e 00 03 00 01 00 00 00 07 00 0a 73 70   ..............sp
0010  61 74 65 2d 74 65 73 74 00 00 00 01 00 04 64 65   ate-test......de
0020  6d 6f                                             mo
",
        Shape::Tshark,
    );
}

#[test]
fn wireshark_copy_as_hex_dump() {
    // Three spaces after the offset, and an ASCII column that looks like bytes.
    let got = parse(
        "0000   61 62 63 64 65 66 00 01 02 03 04 05 06 07 08 09   abcdef..........
0010   61 62                                             ab",
    )
    .unwrap();
    assert_eq!(got.shape, Shape::Tshark);
    assert_eq!(
        got.bytes,
        b"abcdef\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09ab"
    );
}

#[test]
fn tshark_indented_with_blank_lines() {
    ok(
        "
    0000  00 00 00 1e 00 03 00 01 00 00 00 07 00 0a 73 70   ..............sp

    0010  61 74 65 2d 74 65 73 74 00 00 00 01 00 04 64 65   ate-test......de
    0020  6d 6f                                             mo
",
        Shape::Tshark,
    );
}

#[test]
fn dump_with_a_stray_line() {
    let err = parse("0000  00 01 02   ...\nFrame (3 bytes):\n").unwrap_err();
    assert_eq!(
        err,
        InputError::NotDumpLine {
            shape: Shape::Tshark,
            line: 2
        }
    );
}

#[test]
fn base64_standard() {
    ok(
        "AAAAHgADAAEAAAAHAApzcGF0ZS10ZXN0AAAAAQAEZGVtbw==",
        Shape::Base64,
    );
    ok(
        "AAAAHgADAAEAAAAHAApzcGF0ZS10ZXN0AAAAAQAEZGVtbw",
        Shape::Base64,
    );
    ok(
        "AAAAHgADAAEAAAAHAApzcGF0\nZS10ZXN0AAAAAQAEZGVtbw==\n",
        Shape::Base64,
    );
}

#[test]
fn base64_url_safe() {
    // 0xfb 0xff 0xbf encodes as "+/+/" in standard, "-_-_" in URL-safe.
    let got = parse("-_-_").unwrap();
    assert_eq!(got.shape, Shape::Base64Url);
    assert_eq!(got.bytes, [0xfb, 0xff, 0xbf]);
    assert_eq!(parse("+/+/").unwrap().bytes, [0xfb, 0xff, 0xbf]);
    assert!(matches!(parse("+/-_"), Err(InputError::Base64(_))));
}

#[test]
fn base64_that_looks_like_hex_needs_forcing() {
    // "AAAA" is valid hex and valid base64; auto-detection says hex.
    assert_eq!(parse("AAAA").unwrap().bytes, [0xaa, 0xaa]);
    let forced = parse_base64("AAAA").unwrap();
    assert_eq!((forced.shape, forced.bytes), (Shape::Base64, vec![0, 0, 0]));
}

#[test]
fn invalid_base64() {
    assert!(matches!(parse("AAAAH"), Err(InputError::Base64(_))));
}

#[test]
fn hex_with_a_typo_is_not_taken_for_base64() {
    let err = parse("00 01\n02 0g 03").unwrap_err();
    assert_eq!(
        err,
        InputError::Unexpected {
            line: 2,
            column: 5,
            ch: 'g'
        }
    );
}

#[test]
fn garbage() {
    let err = parse("hello, world!").unwrap_err();
    assert!(
        matches!(
            err,
            InputError::BadToken {
                shape: Shape::Array,
                ..
            }
        ),
        "{err:?}"
    );
    let err = parse("héllo").unwrap_err();
    assert_eq!(
        err,
        InputError::Unexpected {
            line: 1,
            column: 1,
            ch: 'h'
        }
    );
}

#[test]
fn empty() {
    assert_eq!(parse(""), Err(InputError::Empty));
    assert_eq!(parse(" \n\t"), Err(InputError::Empty));
    assert_eq!(parse_base64("\n"), Err(InputError::Empty));
}

#[test]
fn messages_name_the_place() {
    let e = parse("00000000: 0000 0001  ....\n00000010: 02  .").unwrap_err();
    assert_eq!(
        e.to_string(),
        "xxd dump: line 2 starts at offset 0x10, but the lines before it end at 0x4"
    );
    let e = parse("00 zz").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("unexpected 'z' at line 1, column 4"),
        "{e}"
    );
}
