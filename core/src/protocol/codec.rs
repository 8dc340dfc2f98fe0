//! The traits every generated message implements, and the names the
//! generated code uses (one glob import keeps the generated files short).

pub use bytes::{BufMut, Bytes, BytesMut};
pub use bytestring::ByteString;

pub use super::error::{DecodeError, EncodeError};
pub use super::schema::{
    FieldSpec, FieldType, MessageKind, MessageSpec, Prim, StructSpec, Versions,
};
pub use super::types::{Fixed, PrimArray, RawTaggedField, Records, Uuid};
pub use super::wire::*;

/// A struct that can be read from and written to the wire at a version.
pub trait Wire: Sized {
    /// Decodes one value at `version` from `r`.
    fn decode(r: &mut Reader<'_>, version: i16) -> Result<Self, DecodeError>;
    /// Appends the value at `version` to `w`.
    fn encode(&self, w: &mut Writer, version: i16) -> Result<(), EncodeError>;
}

/// A top-level message: a request or response body, a header, or a
/// structure stored in a log.
pub trait Message: Wire + Default {
    /// The message's schema.
    fn spec() -> &'static MessageSpec;

    /// Decodes a whole buffer; bytes left over are an error.
    fn decode_bytes(buf: &Bytes, version: i16) -> Result<Self, DecodeError> {
        let mut r = Reader::new(buf);
        let m = Self::decode(&mut r, version)?;
        r.finish()?;
        Ok(m)
    }

    /// Encodes into a new buffer.
    fn encode_to_bytes(&self, version: i16) -> Result<Bytes, EncodeError> {
        let mut w = Writer::new();
        self.encode(&mut w, version)?;
        Ok(w.freeze())
    }
}

/// A nullable struct: an int8 marker (-1 null, 1 present), then the struct.
pub fn decode_nullable_struct<T>(
    r: &mut Reader<'_>,
    f: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    let at = r.pos();
    match r.i8()? {
        -1 => Ok(None),
        1 => f(r).map(Some),
        _ => Err(DecodeError::Invalid {
            at,
            what: "nullable struct marker must be -1 (null) or 1 (present)",
        }),
    }
}

/// Writes a nullable struct: the marker, then the struct when present.
pub fn encode_nullable_struct<T>(
    w: &mut Writer,
    v: Option<&T>,
    f: impl FnOnce(&mut Writer, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    match v {
        Some(x) => {
            w.put_i8(1);
            f(w, x)
        }
        None => {
            w.put_i8(-1);
            Ok(())
        }
    }
}
