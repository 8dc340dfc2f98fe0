//! AlterConfigs and IncrementalAlterConfigs: whole-set and incremental
//! changes, validate-only, errors, and what the changes do to produce,
//! retention and a restart.

use crate::sim::{batch, Sim};
use crate::util::*;
use spate_core::protocol::ErrorCode;

#[test]
fn alter_configs_replaces_the_whole_set() {
    for version in [0, 2] {
        let mut sim = Sim::new();
        create(
            &mut sim,
            "t",
            &[("retention.ms", "1000"), ("cleanup.policy", "compact")],
        );
        let r = alter(
            &mut sim,
            version,
            vec![(TOPIC, "t", &[("max.message.bytes", Some("5000"))])],
            false,
        );
        assert_eq!((r[0].error_code, r[0].error_message.as_deref()), (0, None));
        assert_eq!(topic_config(&mut sim, "t", "max.message.bytes").1, 1);
        assert_eq!(
            value(&mut sim, "t", "max.message.bytes").as_deref(),
            Some("5000")
        );
        // Not listed: back to the defaults.
        assert_eq!(topic_config(&mut sim, "t", "retention.ms").1, 4);
        assert_eq!(
            value(&mut sim, "t", "cleanup.policy").as_deref(),
            Some("delete")
        );
    }
}

#[test]
fn alter_configs_validate_only_and_errors() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[("retention.ms", "1000")]);
    let r = alter(
        &mut sim,
        1,
        vec![(TOPIC, "t", &[("retention.ms", Some("5"))])],
        true,
    );
    assert_eq!(r[0].error_code, 0);
    assert_eq!(
        value(&mut sim, "t", "retention.ms").as_deref(),
        Some("1000")
    );
    let code = |sim: &mut Sim, t: i8, name: &str, cs: &[(&str, Option<&str>)]| {
        alter(sim, 1, vec![(t, name, cs)], false)[0].error_code
    };
    assert_eq!(
        code(&mut sim, TOPIC, "t", &[("no.such", Some("1"))]),
        INVALID_CONFIG
    );
    assert_eq!(
        code(&mut sim, TOPIC, "t", &[("retention.ms", Some("soon"))]),
        INVALID_CONFIG
    );
    assert_eq!(
        code(&mut sim, TOPIC, "t", &[("retention.ms", Some("-5"))]),
        INVALID_CONFIG
    );
    assert_eq!(
        code(&mut sim, TOPIC, "t", &[("cleanup.policy", Some("shred"))]),
        INVALID_CONFIG
    );
    assert_eq!(
        code(&mut sim, TOPIC, "t", &[("retention.ms", None)]),
        INVALID_REQUEST
    );
    assert_eq!(
        code(
            &mut sim,
            TOPIC,
            "t",
            &[("retention.ms", Some("1")), ("retention.ms", Some("2"))]
        ),
        INVALID_REQUEST
    );
    assert_eq!(
        code(&mut sim, TOPIC, "missing", &[("retention.ms", Some("1"))]),
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
    );
    // Kafka checks the configs before it looks for the topic.
    assert_eq!(
        code(&mut sim, TOPIC, "missing", &[("no.such", Some("1"))]),
        INVALID_CONFIG
    );
    assert_eq!(code(&mut sim, TOPIC, "", &[]), INVALID_REQUEST);
    assert_eq!(
        code(&mut sim, BROKER, "1", &[("num.partitions", Some("3"))]),
        INVALID_REQUEST
    );
    assert_eq!(code(&mut sim, BROKER, "1", &[]), 0);
    assert_eq!(code(&mut sim, BROKER, "7", &[]), INVALID_REQUEST);
    assert_eq!(code(&mut sim, LOGGER, "1", &[]), INVALID_REQUEST);
    // Every failure left the topic alone.
    assert_eq!(
        value(&mut sim, "t", "retention.ms").as_deref(),
        Some("1000")
    );
    // A resource named twice fails both times; others still apply.
    let r = alter(
        &mut sim,
        2,
        vec![(TOPIC, "t", &[]), (TOPIC, "t", &[]), (BROKER, "", &[])],
        false,
    );
    let codes: Vec<i16> = r.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, [INVALID_REQUEST, INVALID_REQUEST, 0]);
}

#[test]
fn incremental_alter_sets_deletes_appends_and_subtracts() {
    for version in [0, 1] {
        let mut sim = Sim::new();
        create(&mut sim, "t", &[("retention.ms", "1000")]);
        let ok = (0, None);
        assert_eq!(
            incremental(
                &mut sim,
                version,
                TOPIC,
                "t",
                &[("segment.ms", SET, Some("60000"))],
                false
            ),
            ok
        );
        assert_eq!(value(&mut sim, "t", "segment.ms").as_deref(), Some("60000"));
        // SET leaves other configs alone.
        assert_eq!(
            value(&mut sim, "t", "retention.ms").as_deref(),
            Some("1000")
        );
        assert_eq!(
            incremental(
                &mut sim,
                version,
                TOPIC,
                "t",
                &[("retention.ms", DELETE, None)],
                false
            ),
            ok
        );
        assert_eq!(topic_config(&mut sim, "t", "retention.ms").1, 4);
        // APPEND starts from the default.
        assert_eq!(
            incremental(
                &mut sim,
                version,
                TOPIC,
                "t",
                &[("cleanup.policy", APPEND, Some("compact"))],
                false
            ),
            ok
        );
        assert_eq!(
            value(&mut sim, "t", "cleanup.policy").as_deref(),
            Some("delete,compact")
        );
        assert_eq!(
            incremental(
                &mut sim,
                version,
                TOPIC,
                "t",
                &[("cleanup.policy", APPEND, Some("delete"))],
                false
            ),
            ok
        );
        assert_eq!(
            value(&mut sim, "t", "cleanup.policy").as_deref(),
            Some("delete,compact")
        );
        assert_eq!(
            incremental(
                &mut sim,
                version,
                TOPIC,
                "t",
                &[("cleanup.policy", SUBTRACT, Some("delete"))],
                false
            ),
            ok
        );
        assert_eq!(
            value(&mut sim, "t", "cleanup.policy").as_deref(),
            Some("compact")
        );
        // validate_only writes nothing.
        assert_eq!(
            incremental(
                &mut sim,
                version,
                TOPIC,
                "t",
                &[("segment.ms", DELETE, None)],
                true
            ),
            ok
        );
        assert_eq!(value(&mut sim, "t", "segment.ms").as_deref(), Some("60000"));
    }
}

#[test]
fn incremental_alter_errors_follow_kafka() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[]);
    let (code, msg) = incremental(
        &mut sim,
        1,
        TOPIC,
        "t",
        &[("retention.ms", APPEND, Some("5"))],
        false,
    );
    assert_eq!(
        (code, msg.as_deref()),
        (
            INVALID_CONFIG,
            Some("Can't APPEND to key retention.ms because its type is not LIST.")
        )
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            TOPIC,
            "t",
            &[("retention.ms", SET, Some("x"))],
            false
        )
        .0,
        INVALID_CONFIG
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            TOPIC,
            "t",
            &[("retention.ms", SET, None)],
            false
        )
        .0,
        INVALID_REQUEST
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            TOPIC,
            "t",
            &[("retention.ms", 9, Some("1"))],
            false
        )
        .0,
        INVALID_REQUEST
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            TOPIC,
            "gone",
            &[("retention.ms", SET, Some("1"))],
            false
        )
        .0,
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION.code()
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            BROKER,
            "1",
            &[("num.partitions", SET, Some("1"))],
            false
        )
        .0,
        INVALID_REQUEST
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            BROKER,
            "1",
            &[("log.retention.ms", DELETE, None)],
            false
        )
        .0,
        0
    );
    assert_eq!(
        incremental(
            &mut sim,
            1,
            LOGGER,
            "1",
            &[("kafka", SET, Some("DEBUG"))],
            false
        )
        .0,
        INVALID_CONFIG
    );
    assert_eq!(
        incremental(&mut sim, 1, LOGGER, "3", &[], false).0,
        INVALID_REQUEST
    );
}

#[test]
fn a_restart_keeps_altered_configs() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[("retention.ms", "1000")]);
    assert_eq!(
        incremental(
            &mut sim,
            1,
            TOPIC,
            "t",
            &[
                ("retention.ms", DELETE, None),
                ("max.message.bytes", SET, Some("2048"))
            ],
            false
        )
        .0,
        0
    );
    let mut again = sim.restart();
    assert_eq!(topic_config(&mut again, "t", "retention.ms").1, 4);
    assert_eq!(
        value(&mut again, "t", "max.message.bytes").as_deref(),
        Some("2048")
    );
}

#[test]
fn a_lowered_retention_deletes_old_data_on_the_timer() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[]);
    assert_eq!(produce(&mut sim, "t", batch(3, "old")), 0);
    // The default keeps a week: the first checks delete nothing.
    sim.advance(10 * 60 * 1000);
    assert_eq!(start_offset(&sim), 0);
    assert_eq!(
        incremental(
            &mut sim,
            1,
            TOPIC,
            "t",
            &[("retention.ms", SET, Some("1000"))],
            false
        )
        .0,
        0
    );
    sim.advance(5 * 60 * 1000);
    assert_eq!(start_offset(&sim), 3);
}

#[test]
fn a_lowered_max_message_bytes_rejects_larger_batches() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[]);
    assert_eq!(produce(&mut sim, "t", batch(5, "fits")), 0);
    let r = alter(
        &mut sim,
        2,
        vec![(TOPIC, "t", &[("max.message.bytes", Some("64"))])],
        false,
    );
    assert_eq!(r[0].error_code, 0);
    assert_eq!(
        produce(&mut sim, "t", batch(5, "too-big")),
        ErrorCode::MESSAGE_TOO_LARGE.code()
    );
}
