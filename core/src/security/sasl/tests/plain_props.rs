//! Property tests of PLAIN: arbitrary tokens never panic, and only the
//! exact user and password authenticate.

use proptest::prelude::*;

use super::Users;
use crate::security::sasl::plain::authenticate;
use crate::security::sasl::Step;

fn users() -> Users {
    Users::default()
        .plain("alice", "secret")
        .plain("bob", "hunter2")
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(token in proptest::collection::vec(any::<u8>(), 0..100)) {
        let step = authenticate(&token, &users());
        if let Step::Done { user, .. } = step {
            let password = if user == "alice" { "secret" } else { "hunter2" };
            let tail = format!("{user}\0{password}");
            prop_assert!(token.ends_with(tail.as_bytes()));
        }
    }

    #[test]
    fn only_the_right_password_authenticates(
        authz in prop_oneof![Just(String::new()), Just("alice".to_string()), "[a-z]{0,6}"],
        user in prop_oneof![Just("alice".to_string()), "[a-z\0]{0,6}"],
        password in prop_oneof![Just("secret".to_string()), "[a-z\0]{0,8}"],
    ) {
        let token = format!("{authz}\0{user}\0{password}");
        let step = authenticate(token.as_bytes(), &users());
        let good = user == "alice"
            && password == "secret"
            && (authz.is_empty() || authz == "alice");
        match step {
            Step::Done { user: got, .. } => {
                prop_assert!(good, "{token:?} authenticated");
                prop_assert_eq!(got, "alice");
            }
            Step::Failed { .. } => prop_assert!(!good, "{token:?} refused"),
            Step::Continue(_) => prop_assert!(false, "PLAIN has one step"),
        }
    }
}
