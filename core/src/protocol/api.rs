//! The API table: every key with its name, versions and flexible-from
//! version, read from the generated schemas.

use super::messages::ApiKey;
use super::schema::Versions;

impl ApiKey {
    /// Kafka's name for the API (`Produce`, `ApiVersions`).
    pub fn name(self) -> &'static str {
        let n = self.request_spec().name;
        n.strip_suffix("Request").unwrap_or(n)
    }

    /// The versions Spate's codec supports, v0 (or the oldest Kafka ever
    /// shipped) to Kafka 4.1's newest.
    pub fn versions(self) -> Versions {
        self.request_spec().valid
    }

    /// The first version using the flexible encoding (compact strings and
    /// arrays, tagged fields), if any.
    pub fn flexible_from(self) -> Option<i16> {
        let f = self.request_spec().flexible;
        (!f.is_empty()).then_some(f.min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_kafka_facts() {
        assert_eq!(ApiKey::Produce.name(), "Produce");
        assert_eq!(ApiKey::Produce.versions(), Versions::new(0, 13));
        assert_eq!(ApiKey::Produce.flexible_from(), Some(9));
        assert_eq!(ApiKey::Fetch.versions(), Versions::new(0, 18));
        assert_eq!(ApiKey::Metadata.versions(), Versions::new(0, 13));
        assert_eq!(ApiKey::ApiVersions.flexible_from(), Some(3));
        assert_eq!(ApiKey::ControlledShutdown.flexible_from(), Some(3));
        assert_eq!(ApiKey::from_i16(18), Some(ApiKey::ApiVersions));
        assert_eq!(ApiKey::from_i16(-1), None);
        // Request and response agree on versions for every API.
        for &k in ApiKey::ALL {
            assert_eq!(k.request_spec().valid, k.response_spec().valid, "{k:?}");
            assert_eq!(
                k.request_spec().flexible,
                k.response_spec().flexible,
                "{k:?}"
            );
        }
    }
}
