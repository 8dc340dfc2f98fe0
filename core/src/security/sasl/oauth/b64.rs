//! base64url, as JWTs and JWKs write it: no padding, though padding is
//! tolerated. Shared by the token parser ([`super::jwt`]) and the key set.

/// The engine.
pub(crate) const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);
