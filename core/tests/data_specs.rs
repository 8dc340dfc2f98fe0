//! The non-API structures Spate stores or carries inside other messages
//! (headers, consumer protocol, KRaft metadata records, `__consumer_offsets`
//! and `__transaction_state` records): every version annotates with every
//! byte covered, and the ones kafka-protocol also knows round-trip through it.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::{Decodable, Encodable};
use spate_core::annotate::annotate_message;
use spate_core::example::{example_body, Variant};
use spate_core::protocol::messages::{
    consumer_protocol_assignment::ConsumerProtocolAssignment,
    consumer_protocol_subscription::ConsumerProtocolSubscription, DATA_SPECS, RECORD_SPECS,
};
use spate_core::protocol::{Message, Reader};

#[test]
fn every_data_structure_version_is_annotated_completely() {
    let mut checked = 0;
    let specs = DATA_SPECS
        .iter()
        .chain(RECORD_SPECS.iter().flat_map(|g| g.iter()));
    for spec in specs {
        for version in spec.valid.min..=spec.valid.max {
            for variant in Variant::ALL {
                let body = example_body(spec, version, 17, variant);
                let a = annotate_message(&body, spec, version);
                assert!(
                    a.error.is_none(),
                    "{} v{version} {variant:?}: {:?}",
                    spec.name,
                    a.error
                );
                let mut at = 0;
                for leaf in a.root.leaves() {
                    if body.is_empty() {
                        break;
                    }
                    assert_eq!(
                        leaf.start, at,
                        "{} v{version}: gap before {}",
                        spec.name, leaf.name
                    );
                    at = leaf.end;
                }
                assert_eq!(at, body.len(), "{} v{version}", spec.name);
                checked += 1;
            }
        }
    }
    println!("{checked} (structure, version, variant) examples annotated");
    assert!(checked > 300);
}

fn round_trip<S: Message, K: Decodable + Encodable>(version: i16) {
    for variant in Variant::ALL {
        let body: Bytes = example_body(S::spec(), version, 5, variant);
        let mut r = Reader::new(&body);
        let m = S::decode(&mut r, version).expect("spate decode");
        r.finish().expect("spate consumed everything");
        let mut out = spate_core::protocol::Writer::new();
        m.encode(&mut out, version).expect("spate encode");
        assert_eq!(
            out.freeze(),
            body,
            "{} v{version}: spate round trip",
            S::spec().name
        );
        let mut buf = body.clone();
        let k = K::decode(&mut buf, version).expect("oracle decode");
        let mut out = BytesMut::new();
        k.encode(&mut out, version).expect("oracle encode");
        assert_eq!(
            out,
            body,
            "{} v{version}: oracle round trip",
            S::spec().name
        );
    }
}

#[test]
fn consumer_protocol_structures_match_the_oracle() {
    for v in 0..=3 {
        round_trip::<
            ConsumerProtocolSubscription,
            kafka_protocol::messages::ConsumerProtocolSubscription,
        >(v);
        round_trip::<
            ConsumerProtocolAssignment,
            kafka_protocol::messages::ConsumerProtocolAssignment,
        >(v);
    }
}
