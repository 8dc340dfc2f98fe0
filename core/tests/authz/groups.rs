//! The group APIs under the authorizer.
