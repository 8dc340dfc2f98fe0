//! The transactional APIs under the authorizer.
