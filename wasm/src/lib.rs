//! spate-wasm: Spate's core for the browser. Thin for now: the playground
//! (wasm-bindgen exports, IndexedDB storage) lands with its own issue.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use spate_core;
