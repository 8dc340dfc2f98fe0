//! Request and response headers, and which header version each API version
//! uses.
//!
//! # Format
//!
//! ```text
//! request header v0: api_key int16, api_version int16, correlation_id int32
//! request header v1: v0 + client_id nullable string (int16 length)
//! request header v2: v1 + tagged fields (client_id stays a classic string)
//! response header v0: correlation_id int32
//! response header v1: v0 + tagged fields
//! ```
//!
//! # Versions
//!
//! A request uses header v2 when its API version is flexible and v1
//! otherwise; ControlledShutdown v0 alone uses header v0. A response uses
//! header v1 when flexible and v0 otherwise, except ApiVersions, whose
//! response header is always v0 so that a client can read the error in a
//! response to a version the broker does not know.

use bytes::Bytes;

use super::codec::{Message, Wire};
use super::error::{DecodeError, EncodeError};
use super::messages::request_header::RequestHeader;
use super::messages::response_header::ResponseHeader;
use super::messages::{ApiKey, RequestBody, ResponseBody};
use super::wire::{Reader, Writer};

/// The request header version for `key` at `version`.
pub fn request_header_version(key: ApiKey, version: i16) -> i16 {
    if key.request_spec().flexible.contains(version) {
        2
    } else if key == ApiKey::ControlledShutdown && version == 0 {
        0
    } else {
        1
    }
}

/// The response header version for `key` at `version`.
pub fn response_header_version(key: ApiKey, version: i16) -> i16 {
    if key == ApiKey::ApiVersions {
        0
    } else if key.response_spec().flexible.contains(version) {
        1
    } else {
        0
    }
}

/// The API key and version at the start of a request frame (without its
/// size prefix), read without decoding anything else.
pub fn peek_request(frame: &[u8]) -> Option<(i16, i16)> {
    let key = i16::from_be_bytes([*frame.first()?, *frame.get(1)?]);
    let version = i16::from_be_bytes([*frame.get(2)?, *frame.get(3)?]);
    Some((key, version))
}

/// Decodes a request header from `r`. The header's own version depends on
/// the API and version it names, so this reads those first.
pub fn decode_request_header(r: &mut Reader<'_>) -> Result<(ApiKey, RequestHeader), DecodeError> {
    let at = r.pos();
    let mut probe = r.clone();
    let key_raw = probe.i16()?;
    let version = probe.i16()?;
    let key = ApiKey::from_i16(key_raw).ok_or(DecodeError::UnknownApiKey { at, key: key_raw })?;
    if !key.request_spec().valid.contains(version) {
        return Err(DecodeError::UnsupportedVersion {
            at: at + 2,
            key: key_raw,
            version,
        });
    }
    let header = RequestHeader::decode(r, request_header_version(key, version))?;
    Ok((key, header))
}

/// A whole request decoded from a frame without its size prefix.
pub fn decode_request(frame: &Bytes) -> Result<(RequestHeader, RequestBody), DecodeError> {
    let mut r = Reader::new(frame);
    let (key, header) = decode_request_header(&mut r)?;
    let body = RequestBody::decode(key, &mut r, header.request_api_version)?;
    r.finish()?;
    Ok((header, body))
}

/// Encodes a request (header and body) into a frame with its size prefix.
pub fn encode_request(header: &RequestHeader, body: &RequestBody) -> Result<Bytes, EncodeError> {
    encode_request_chunks(header, body).map(Writer::freeze)
}

/// Encodes a request into a frame whose record data stays in its own chunks
/// (see [`Writer::into_chunks`]).
pub fn encode_request_chunks(
    header: &RequestHeader,
    body: &RequestBody,
) -> Result<Writer, EncodeError> {
    request_frame(body.api_key(), header, |w, v| body.encode(w, v))
}

/// Encodes a request of `key` whose body is the message `M`: the frame
/// [`encode_request`] makes for the matching [`RequestBody`]. A caller that
/// sends only a few APIs (the replica fetcher, the transaction marker
/// writer) links only their encoders this way, not every request's (which
/// [`RequestBody::encode`]'s `match` carries).
pub fn encode_request_of<M: Wire>(
    key: ApiKey,
    header: &RequestHeader,
    body: &M,
) -> Result<Bytes, EncodeError> {
    request_frame(key, header, |w, v| body.encode(w, v)).map(Writer::freeze)
}

fn request_frame(
    key: ApiKey,
    header: &RequestHeader,
    body: impl FnOnce(&mut Writer, i16) -> Result<(), EncodeError>,
) -> Result<Writer, EncodeError> {
    let version = header.request_api_version;
    let mut w = Writer::with_capacity(64);
    w.extend_from_slice(&[0; 4]);
    header.encode(&mut w, request_header_version(key, version))?;
    body(&mut w, version)?;
    Ok(finish_frame(w))
}

/// Decodes a response frame (without its size prefix) to a request of
/// `key` at `version`.
pub fn decode_response(
    frame: &Bytes,
    key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    response_parts(frame, key, version, |r| {
        ResponseBody::decode(key, r, version)
    })
}

/// Decodes a response frame of `key` at `version` whose body is the
/// message `M`; as [`decode_response`], linking only `M`'s decoder (see
/// [`encode_request_of`]).
pub fn decode_response_of<M: Wire>(
    frame: &Bytes,
    key: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, M), DecodeError> {
    response_parts(frame, key, version, |r| M::decode(r, version))
}

fn response_parts<B>(
    frame: &Bytes,
    key: ApiKey,
    version: i16,
    body: impl FnOnce(&mut Reader<'_>) -> Result<B, DecodeError>,
) -> Result<(ResponseHeader, B), DecodeError> {
    let mut r = Reader::new(frame);
    let header = ResponseHeader::decode(&mut r, response_header_version(key, version))?;
    let body = body(&mut r)?;
    r.finish()?;
    Ok((header, body))
}

/// Encodes a response into a frame with its size prefix.
pub fn encode_response(
    correlation_id: i32,
    body: &ResponseBody,
    version: i16,
) -> Result<Bytes, EncodeError> {
    encode_response_chunks(correlation_id, body, version).map(Writer::freeze)
}

/// Encodes a response into a frame whose record data stays in the chunks
/// it came in (see [`Writer::into_chunks`]): what a Fetch response is sent as.
pub fn encode_response_chunks(
    correlation_id: i32,
    body: &ResponseBody,
    version: i16,
) -> Result<Writer, EncodeError> {
    response_frame(correlation_id, body.api_key(), version, |w, v| {
        body.encode(w, v)
    })
}

/// Encodes a response of `key` into a frame as [`encode_response_chunks`]
/// does, its body written by `body` (given the writer and `version`): for
/// a caller that encodes the body by its own type, so as not to link every
/// response's encoder (see [`encode_request_of`]).
pub fn response_frame(
    correlation_id: i32,
    key: ApiKey,
    version: i16,
    body: impl FnOnce(&mut Writer, i16) -> Result<(), EncodeError>,
) -> Result<Writer, EncodeError> {
    let mut w = Writer::with_capacity(64);
    w.extend_from_slice(&[0; 4]);
    let header = ResponseHeader {
        correlation_id,
        ..Default::default()
    };
    header.encode(&mut w, response_header_version(key, version))?;
    body(&mut w, version)?;
    Ok(finish_frame(w))
}

/// Fills in the 4-byte size prefix reserved at the start of `w`.
fn finish_frame(mut w: Writer) -> Writer {
    let len = (w.total_len() - 4) as u32;
    w.patch(0, &len.to_be_bytes());
    w
}

/// Encodes any message to bytes at `version` (a convenience for tests and tools).
pub fn to_bytes<M: Message>(m: &M, version: i16) -> Result<Bytes, EncodeError> {
    m.encode_to_bytes(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};

    #[test]
    fn header_versions_follow_kafka_rules() {
        assert_eq!(request_header_version(ApiKey::Metadata, 8), 1);
        assert_eq!(request_header_version(ApiKey::Metadata, 9), 2);
        assert_eq!(request_header_version(ApiKey::ControlledShutdown, 0), 0);
        assert_eq!(response_header_version(ApiKey::ApiVersions, 3), 0);
        assert_eq!(response_header_version(ApiKey::Fetch, 12), 1);
        assert_eq!(response_header_version(ApiKey::Fetch, 11), 0);
    }

    #[test]
    fn client_id_stays_classic_in_header_v2() {
        let header = RequestHeader {
            request_api_key: 3,
            request_api_version: 12,
            correlation_id: 7,
            client_id: Some("abc".into()),
            ..Default::default()
        };
        let body = RequestBody::Metadata(MetadataRequest {
            topics: Some(vec![MetadataRequestTopic {
                name: Some("t".into()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        let frame = encode_request(&header, &body).unwrap();
        // size(4) key(2) version(2) correlation(4) then int16 length 3 + "abc"
        assert_eq!(&frame[12..17], &[0, 3, b'a', b'b', b'c']);
        assert_eq!(frame[17], 0, "header tagged field count");
        let (h, b) = decode_request(&frame.slice(4..)).unwrap();
        assert_eq!(h, header);
        assert_eq!(b, body);
    }

    #[test]
    fn unknown_key_and_version_are_named() {
        let frame = Bytes::from_static(&[0x7f, 0x00, 0, 1, 0, 0, 0, 1]);
        assert_eq!(
            decode_request(&frame),
            Err(DecodeError::UnknownApiKey { at: 0, key: 0x7f00 })
        );
        let frame = Bytes::from_static(&[0, 3, 0x7f, 0, 0, 0, 0, 1]);
        assert!(matches!(
            decode_request(&frame),
            Err(DecodeError::UnsupportedVersion { at: 2, key: 3, .. })
        ));
    }
}
