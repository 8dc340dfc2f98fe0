//! Dynamic broker configs: AlterConfigs and IncrementalAlterConfigs on a
//! BROKER resource, per broker ("1") and cluster-wide (""), as Kafka's
//! admin clients send them; what DescribeConfigs then reports; what the
//! broker does with them (retention, produce size); a restart.

use crate::sim::{batch, Sim};
use crate::util::*;
use spate_core::protocol::ErrorCode;

/// (value, source, read-only, sensitive) of broker config `name` on
/// resource `resource`.
fn broker_config(
    sim: &mut Sim,
    resource: &str,
    name: &str,
) -> Option<(Option<String>, i8, bool, bool)> {
    let r = describe(sim, 4, BROKER, resource, None);
    assert_eq!(r.error_code, 0, "{r:?}");
    r.configs.iter().find(|c| &*c.name == name).map(|c| {
        (
            c.value.as_deref().map(str::to_string),
            c.config_source,
            c.read_only,
            c.is_sensitive,
        )
    })
}

#[test]
fn a_cluster_wide_log_retention_ms_is_stored_described_and_applied() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[]);
    create(&mut sim, "own", &[("retention.ms", "86400000")]);
    assert_eq!(produce(&mut sim, "t", batch(3, "old")), 0);
    sim.advance(10 * 60 * 1000);
    assert_eq!(start_offset(&sim), 0, "a week by default");

    let r = alter(
        &mut sim,
        2,
        vec![(BROKER, "", &[("log.retention.ms", Some("1000"))])],
        false,
    );
    assert_eq!((r[0].error_code, r[0].error_message.as_deref()), (0, None));

    // The cluster default lists what is set, from the default level.
    let defaults = describe(&mut sim, 4, BROKER, "", None);
    let names: Vec<&str> = defaults.configs.iter().map(|c| &*c.name).collect();
    assert_eq!(names, ["log.retention.ms"]);
    assert_eq!(
        broker_config(&mut sim, "", "log.retention.ms"),
        Some((Some("1000".into()), 3, false, false))
    );
    // This broker's view: the dynamic default heads the chain.
    assert_eq!(
        broker_config(&mut sim, "1", "log.retention.ms"),
        Some((Some("1000".into()), 3, false, false))
    );
    assert!(
        broker_config(&mut sim, "1", "node.id").unwrap().2,
        "read-only"
    );
    // A topic without its own value follows it, with Kafka's chain.
    let (got, source, chain) = topic_config(&mut sim, "t", "retention.ms");
    assert_eq!((got.as_deref(), source), (Some("1000"), 3));
    assert_eq!(
        chain,
        [
            syn("log.retention.ms", "1000", 3),
            syn("log.retention.ms", "604800000", 4),
            syn("log.retention.hours", "168", 5),
        ]
    );
    assert_eq!(
        value(&mut sim, "own", "retention.ms").as_deref(),
        Some("86400000")
    );
    // Retention acts on it at its next check.
    sim.advance(5 * 60 * 1000);
    assert_eq!(start_offset(&sim), 3);

    // It survives a restart (BROKER ConfigRecords in the metadata log).
    let mut again = sim.restart();
    assert_eq!(
        broker_config(&mut again, "", "log.retention.ms"),
        Some((Some("1000".into()), 3, false, false))
    );
    assert_eq!(
        value(&mut again, "t", "retention.ms").as_deref(),
        Some("1000")
    );
}

#[test]
fn this_brokers_value_beats_the_cluster_default_and_delete_restores_it() {
    let mut sim = Sim::new();
    create(&mut sim, "t", &[]);
    let set = |sim: &mut Sim, name: &str, op: i8, v: Option<&str>| {
        incremental(sim, 1, BROKER, name, &[("message.max.bytes", op, v)], false)
    };
    assert_eq!(set(&mut sim, "", SET, Some("100000")).0, 0);
    assert_eq!(set(&mut sim, "1", SET, Some("64")).0, 0);
    let r = describe(&mut sim, 4, BROKER, "1", Some(&["message.max.bytes"]));
    let c = config(&r, "message.max.bytes");
    let chain: Vec<(&str, Option<&str>, i8)> = c
        .synonyms
        .iter()
        .map(|s| (&*s.name, s.value.as_deref(), s.source))
        .collect();
    assert_eq!(
        (c.value.as_deref(), c.config_source),
        (Some("64"), 2),
        "DYNAMIC_BROKER_CONFIG"
    );
    assert_eq!(
        chain,
        [
            ("message.max.bytes", Some("64"), 2),
            ("message.max.bytes", Some("100000"), 3),
            ("message.max.bytes", Some("1048588"), 4),
            ("message.max.bytes", Some("1048588"), 5),
        ]
    );
    // The broker applies it: a topic without max.message.bytes follows.
    assert_eq!(
        produce(&mut sim, "t", batch(5, "too-big")),
        ErrorCode::MESSAGE_TOO_LARGE.code()
    );
    assert_eq!(set(&mut sim, "1", DELETE, None).0, 0);
    assert_eq!(
        value(&mut sim, "t", "max.message.bytes").as_deref(),
        Some("100000")
    );
    assert_eq!(produce(&mut sim, "t", batch(5, "fits")), 0);
}

#[test]
fn kafkas_refusals_for_broker_configs() {
    let mut sim = Sim::new();
    // A per-broker listener config: fine for this broker, not cluster-wide.
    let relogin = [("sasl.kerberos.min.time.before.relogin", Some("60000"))];
    let r = alter(&mut sim, 2, vec![(BROKER, "1", &relogin)], false);
    assert_eq!(r[0].error_code, 0, "{r:?}");
    assert_eq!(
        broker_config(&mut sim, "1", "sasl.kerberos.min.time.before.relogin"),
        Some((Some("60000".into()), 2, false, false))
    );
    let r = alter(&mut sim, 2, vec![(BROKER, "", &relogin)], false);
    assert_eq!(r[0].error_code, INVALID_REQUEST);
    assert_eq!(
        r[0].error_message.as_deref(),
        Some("Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)")
    );
    // A static config.
    let (code, msg) = incremental(
        &mut sim,
        1,
        BROKER,
        "1",
        &[("num.partitions", SET, Some("3"))],
        false,
    );
    assert_eq!(code, INVALID_REQUEST);
    assert_eq!(
        msg.as_deref(),
        Some("Cannot update these configs dynamically: Set(num.partitions)")
    );
    // A bad value.
    let (code, msg) = incremental(
        &mut sim,
        1,
        BROKER,
        "",
        &[("log.retention.ms", SET, Some("soon"))],
        false,
    );
    assert_eq!(code, INVALID_REQUEST);
    assert!(msg.unwrap().contains("Not a number of type LONG"));
    // APPEND on a config that is not a list.
    let (code, _) = incremental(
        &mut sim,
        1,
        BROKER,
        "",
        &[("log.retention.ms", APPEND, Some("1"))],
        false,
    );
    assert_eq!(code, INVALID_CONFIG);
    // Another broker's id.
    let (code, _) = incremental(&mut sim, 1, BROKER, "7", &[], false);
    assert_eq!(code, INVALID_REQUEST);
    // validate_only writes nothing; a secret is not shown.
    let jaas = [(
        "listener.name.sasl_plaintext.plain.sasl.jaas.config",
        SET,
        Some("secret"),
    )];
    assert_eq!(incremental(&mut sim, 1, BROKER, "1", &jaas, true).0, 0);
    let name = "listener.name.sasl_plaintext.plain.sasl.jaas.config";
    assert_eq!(broker_config(&mut sim, "1", name), None);
    assert_eq!(incremental(&mut sim, 1, BROKER, "1", &jaas, false).0, 0);
    assert_eq!(
        broker_config(&mut sim, "1", name),
        Some((None, 2, true, true))
    );
    // AlterConfigs replaces the whole set: the relogin value is gone.
    let r = alter(
        &mut sim,
        2,
        vec![(BROKER, "1", &[("max.connections", Some("100"))])],
        false,
    );
    assert_eq!(r[0].error_code, 0);
    assert_eq!(
        broker_config(&mut sim, "1", "sasl.kerberos.min.time.before.relogin"),
        None
    );
}
