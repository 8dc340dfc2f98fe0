//! The first error a response carries, for a request log.
//!
//! Every generated message derives `Serialize`; [`first_error`] walks a
//! response through a serializer that writes nothing and stops at the
//! first non-zero `error_code` field, in the order the schema declares
//! fields. Kafka's schemas put a response's top-level `ErrorCode` before
//! its topics and partitions, so that one wins when set; otherwise it is
//! the first topic's or partition's. Record data (`Bytes`) is skipped, not
//! looked at.

use serde::ser::{self, Serialize};

use super::ErrorCode;

/// The first non-zero `error_code` in `body`, if any.
pub fn first_error<T: Serialize + ?Sized>(body: &T) -> Option<ErrorCode> {
    match body.serialize(Finder) {
        Err(Stop::Found(code)) => Some(ErrorCode(code)),
        _ => None,
    }
}

/// Why the walk stopped early.
#[derive(Debug)]
enum Stop {
    Found(i16),
    /// serde's `custom` error: not made by the messages, kept for the trait.
    Other,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Found(c) => write!(f, "error code {c}"),
            Stop::Other => f.write_str("stopped"),
        }
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop::Other
    }
}

/// Walks every value; an `error_code` field's value goes to [`Code`].
#[derive(Clone, Copy)]
struct Finder;

/// Reads an `error_code` field's value: a non-zero int16 stops the walk.
#[derive(Clone, Copy)]
struct Code;

macro_rules! ignore {
    ($($f:ident: $t:ty),*) => {
        $(fn $f(self, _: $t) -> Result<(), Stop> { Ok(()) })*
    };
}

macro_rules! compound {
    ($s:ident) => {
        type SerializeSeq = $s;
        type SerializeTuple = $s;
        type SerializeTupleStruct = $s;
        type SerializeTupleVariant = $s;
        type SerializeMap = $s;
        type SerializeStruct = $s;
        type SerializeStructVariant = $s;
        fn serialize_unit(self) -> Result<(), Stop> {
            Ok(())
        }
        fn serialize_none(self) -> Result<(), Stop> {
            Ok(())
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<(), Stop> {
            Ok(())
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
        ) -> Result<(), Stop> {
            Ok(())
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<$s, Stop> {
            Ok($s)
        }
        fn serialize_tuple(self, _: usize) -> Result<$s, Stop> {
            Ok($s)
        }
        fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<$s, Stop> {
            Ok($s)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<$s, Stop> {
            Ok($s)
        }
        fn serialize_map(self, _: Option<usize>) -> Result<$s, Stop> {
            Ok($s)
        }
        fn serialize_struct(self, _: &'static str, _: usize) -> Result<$s, Stop> {
            Ok($s)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<$s, Stop> {
            Ok($s)
        }
    };
}

/// What wraps one value (an option's content, a newtype): the content is
/// searched as the wrapper would be (a newtype variant's, as any value).
macro_rules! wrapped {
    () => {
        fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<(), Stop> {
            v.serialize(self)
        }
        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            v: &T,
        ) -> Result<(), Stop> {
            v.serialize(self)
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            v: &T,
        ) -> Result<(), Stop> {
            v.serialize(Finder)
        }
    };
}

impl ser::Serializer for Finder {
    type Ok = ();
    type Error = Stop;
    compound!(Finder);
    ignore!(serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8]);
    wrapped!();
}

impl ser::Serializer for Code {
    type Ok = ();
    type Error = Stop;
    compound!(Finder);
    ignore!(serialize_bool: bool, serialize_i8: i8, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8]);
    fn serialize_i16(self, v: i16) -> Result<(), Stop> {
        match v {
            0 => Ok(()),
            c => Err(Stop::Found(c)),
        }
    }
    wrapped!();
}

/// The sequence-like parts of a value: each element is searched in turn.
macro_rules! search_each {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Finder {
            type Ok = ();
            type Error = Stop;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
                v.serialize(Finder)
            }
            fn end(self) -> Result<(), Stop> {
                Ok(())
            }
        }
    )*};
}

search_each!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Stop> {
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Stop> {
        v.serialize(Finder)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

/// A field goes to [`Code`] when it is an `error_code`, else is walked.
fn field<T: Serialize + ?Sized>(key: &'static str, v: &T) -> Result<(), Stop> {
    if key == "error_code" {
        v.serialize(Code)
    } else {
        v.serialize(Finder)
    }
}

impl ser::SerializeStruct for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Stop> {
        field(key, v)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

impl ser::SerializeStructVariant for Finder {
    type Ok = ();
    type Error = Stop;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Stop> {
        field(key, v)
    }
    fn end(self) -> Result<(), Stop> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::messages::{fetch_response, metadata_response, produce_response};
    use crate::protocol::ResponseBody;

    #[test]
    fn none_when_every_code_is_zero() {
        let body = ResponseBody::Metadata(metadata_response::MetadataResponse {
            topics: vec![metadata_response::MetadataResponseTopic::default()],
            ..Default::default()
        });
        assert_eq!(first_error(&body), None);
    }

    #[test]
    fn a_topic_error_is_found() {
        let body = ResponseBody::Metadata(metadata_response::MetadataResponse {
            topics: vec![
                metadata_response::MetadataResponseTopic::default(),
                metadata_response::MetadataResponseTopic {
                    error_code: 3,
                    ..Default::default()
                },
            ],
            ..Default::default()
        });
        assert_eq!(
            first_error(&body),
            Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)
        );
    }

    #[test]
    fn a_partition_error_deep_inside_is_found() {
        let partition = produce_response::PartitionProduceResponse {
            error_code: 2,
            ..Default::default()
        };
        let body = ResponseBody::Produce(produce_response::ProduceResponse {
            responses: vec![produce_response::TopicProduceResponse {
                partition_responses: vec![partition],
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(first_error(&body), Some(ErrorCode::CORRUPT_MESSAGE));
    }

    #[test]
    fn the_top_level_error_comes_first() {
        let body = ResponseBody::Fetch(fetch_response::FetchResponse {
            error_code: 70,
            responses: vec![fetch_response::FetchableTopicResponse {
                partitions: vec![fetch_response::PartitionData {
                    error_code: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(first_error(&body), Some(ErrorCode(70)));
    }
}
