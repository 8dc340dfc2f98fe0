//! The Kafka wire protocol: primitives, headers, every message schema, and
//! the annotator that explains every byte of a frame.
//!
//! Every message is declared once, as a Kafka JSON spec fed to
//! `codegen/generate.py`; the generated [`messages`] modules hold the typed
//! structs, their encode/decode for every version, and the static
//! [`schema`] tables that the annotator and the playground read.

pub mod api;
pub mod codec;
pub mod docs;
pub mod error;
pub mod error_code;
pub mod first_error;
pub mod header;
#[allow(missing_docs)]
pub mod messages;
pub mod schema;
pub mod types;
pub mod wire;

pub use codec::{Message, Wire};
pub use error::{DecodeError, EncodeError};
pub use error_code::ErrorCode;
pub use first_error::first_error;
pub use messages::{ApiKey, RequestBody, ResponseBody};
pub use types::{PrimArray, RawTaggedField, Records, Uuid};
pub use wire::{Reader, Writer};
