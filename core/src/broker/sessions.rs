//! KIP-227 incremental fetch sessions.
