//! Tests of the SASL mechanisms: RFC test vectors, exchanges that must
//! fail, and property tests feeding arbitrary and mutated tokens.

mod plain_props;
mod scram;
mod scram_props;

use std::collections::HashMap;

use super::{scram as sc, Credentials, Mechanism, OAuthConfig, ScramCredential};

/// A listener's PLAIN users and the broker's SCRAM credentials.
#[derive(Default)]
pub(crate) struct Users {
    plain: HashMap<String, String>,
    scram: HashMap<(Mechanism, String), ScramCredential>,
    oauth: OAuthConfig,
    mock_secret: [u8; 32],
}

impl Users {
    pub(crate) fn mock_secret(mut self, secret: [u8; 32]) -> Users {
        self.mock_secret = secret;
        self
    }

    pub(crate) fn plain(mut self, user: &str, password: &str) -> Users {
        self.plain.insert(user.into(), password.into());
        self
    }

    /// `user` with `password` salted `iterations` times.
    pub(crate) fn scram(
        mut self,
        mechanism: Mechanism,
        user: &str,
        password: &str,
        salt: &[u8],
        iterations: i32,
    ) -> Users {
        let salted = sc::salted_password(mechanism, password, salt, iterations);
        let cred = sc::credential(mechanism, &salted, salt, iterations);
        self.scram.insert((mechanism, user.into()), cred);
        self
    }
}

impl Credentials for Users {
    fn plain_password(&self, user: &str) -> Option<&str> {
        self.plain.get(user).map(String::as_str)
    }

    fn scram(&self, mechanism: Mechanism, user: &str) -> Option<ScramCredential> {
        self.scram.get(&(mechanism, user.to_string())).cloned()
    }

    fn oauth(&self) -> &OAuthConfig {
        &self.oauth
    }

    fn mock_secret(&self) -> &[u8; 32] {
        &self.mock_secret
    }
}
