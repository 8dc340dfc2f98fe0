//! Property tests: arbitrary bytes and mutations of a valid transcript
//! fed to every step of the SCRAM server and client never panic, and a
//! mutated message never authenticates.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::Users;
use crate::security::sasl::scram::{ScramClient, ServerExchange};
use crate::security::sasl::{Mechanism, Step};

/// One good exchange, recorded with the states to replay it from.
struct Transcript {
    users: Users,
    client_first: Vec<u8>,
    server_first: Vec<u8>,
    client_final: Vec<u8>,
    server_final: Vec<u8>,
    /// The client before its client-final.
    client: ScramClient,
    /// The client after its client-final, waiting for the server-final.
    client_done: ScramClient,
}

fn transcript(m: Mechanism) -> &'static Transcript {
    static SHA256: OnceLock<Transcript> = OnceLock::new();
    static SHA512: OnceLock<Transcript> = OnceLock::new();
    let cell = if m == Mechanism::ScramSha256 {
        &SHA256
    } else {
        &SHA512
    };
    cell.get_or_init(|| {
        let users = Users::default().scram(m, "alice", "secret", b"salt", 4096);
        let client = ScramClient::new(m, "alice", "secret", [1; 32]);
        let mut server = ServerExchange::new(m, [2; 32]);
        let client_first = client.client_first();
        let Step::Continue(server_first) = server.step(&client_first, &users) else {
            panic!("server-first");
        };
        let mut client_done = client.clone();
        let client_final = client_done.client_final(&server_first).unwrap();
        let Step::Done {
            token: server_final,
            ..
        } = server.step(&client_final, &users)
        else {
            panic!("server-final");
        };
        client_done.verify_server_final(&server_final).unwrap();
        Transcript {
            users,
            client_first,
            server_first,
            client_final,
            server_final,
            client,
            client_done,
        }
    })
}

/// The server as it was after the recorded client-first.
fn server_after_first(m: Mechanism) -> ServerExchange {
    let t = transcript(m);
    let mut server = ServerExchange::new(m, [2; 32]);
    assert!(matches!(
        server.step(&t.client_first, &t.users),
        Step::Continue(_)
    ));
    server
}

/// An edit of a message.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Set { at: usize, byte: u8 },
    Delete { at: usize },
    Insert { at: usize, byte: u8 },
    Truncate { at: usize },
    Append { bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(|bytes| Mutation::Append { bytes }),
    ]
}

fn mutate(message: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut out = message.to_vec();
    for edit in edits {
        let len = out.len();
        let pick = |at: usize| if len == 0 { 0 } else { at % len };
        match edit {
            Mutation::Flip { at, mask } if len > 0 => out[pick(*at)] ^= mask,
            Mutation::Set { at, byte } if len > 0 => out[pick(*at)] = *byte,
            Mutation::Delete { at } if len > 0 => {
                out.remove(pick(*at));
            }
            Mutation::Insert { at, byte } => out.insert(at % (len + 1), *byte),
            Mutation::Truncate { at } => out.truncate(at % (len + 1)),
            Mutation::Append { bytes } => out.extend_from_slice(bytes),
            _ => {}
        }
    }
    out
}

fn mechanism() -> impl Strategy<Value = Mechanism> {
    prop_oneof![Just(Mechanism::ScramSha256), Just(Mechanism::ScramSha512)]
}

fn edits() -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..4)
}

fn is_done(step: &Step) -> bool {
    matches!(step, Step::Done { .. })
}

proptest! {
    #[test]
    fn server_survives_arbitrary_bytes(
        m in mechanism(),
        first in proptest::collection::vec(any::<u8>(), 0..200),
        last in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let t = transcript(m);
        let mut server = ServerExchange::new(m, [3; 32]);
        let step = server.step(&first, &t.users);
        let after = server.step(&last, &t.users);
        prop_assert!(!is_done(&step) && !is_done(&after));
        let mut server = server_after_first(m);
        prop_assert!(!is_done(&server.step(&last, &t.users)));
    }

    #[test]
    fn server_refuses_a_mutated_client_first(m in mechanism(), edits in edits()) {
        let t = transcript(m);
        let mutated = mutate(&t.client_first, &edits);
        prop_assume!(mutated != t.client_first);
        let mut server = ServerExchange::new(m, [2; 32]);
        if let Step::Continue(_) = server.step(&mutated, &t.users) {
            // The recorded proof covers the original client-first.
            prop_assert!(!is_done(&server.step(&t.client_final, &t.users)));
        }
    }

    #[test]
    fn server_refuses_a_mutated_client_final(m in mechanism(), edits in edits()) {
        let t = transcript(m);
        let mutated = mutate(&t.client_final, &edits);
        prop_assume!(mutated != t.client_final);
        let mut server = server_after_first(m);
        prop_assert!(!is_done(&server.step(&mutated, &t.users)));
    }

    #[test]
    fn client_survives_arbitrary_bytes(
        m in mechanism(),
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let t = transcript(m);
        let mut client = t.client.clone();
        // Arbitrary bytes almost never hold the client's nonce: refused
        // before any PBKDF2.
        prop_assert!(client.client_final(&bytes).is_err());
        prop_assert!(t.client_done.verify_server_final(&bytes).is_err());
    }

    #[test]
    fn client_refuses_a_mutated_server_final(m in mechanism(), edits in edits()) {
        let t = transcript(m);
        let mutated = mutate(&t.server_final, &edits);
        prop_assume!(mutated != t.server_final);
        prop_assert!(t.client_done.verify_server_final(&mutated).is_err());
    }
}

proptest! {
    // Each case may run PBKDF2 (4096 rounds, unoptimised in tests).
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_mutated_server_first_never_authenticates(m in mechanism(), edits in edits()) {
        let t = transcript(m);
        let mutated = mutate(&t.server_first, &edits);
        prop_assume!(mutated != t.server_first);
        let mut client = t.client.clone();
        if let Ok(client_final) = client.client_final(&mutated) {
            // The server that sent the genuine server-first refuses the
            // proof made over another one...
            let mut server = server_after_first(m);
            prop_assert!(!is_done(&server.step(&client_final, &t.users)));
            // ...and the client does not accept the genuine signature.
            prop_assert!(client.verify_server_final(&t.server_final).is_err());
        }
    }
}
