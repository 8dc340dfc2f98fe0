//! Dynamic broker configs in ZooKeeper mode, as Kafka 2.x-3.x keeps them
//! (`AdminZkClient.changeBrokerConfig`, `BrokerConfigHandler`): an
//! IncrementalAlterConfigs on a BROKER resource hands the resource's
//! whole new set to the driver (`Output::WriteBrokerConfigs`, for
//! `/config/brokers/<id>` or `/config/brokers/<default>`) and changes
//! nothing here; the configs change when the driver reads them back
//! (`Broker::handle_broker_configs`), on this broker as on every other.
//! A password config is refused, as Kafka refuses it without
//! `password.encoder.secret`.

mod sim;

use sim::pair::zk_broker;
use sim::Sim;
use spate_core::broker::Output;
use spate_core::protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use spate_core::protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
};
use spate_core::protocol::{RequestBody, ResponseBody};

const ADMIN: u64 = 10;
const BROKER: i8 = 4;

/// IncrementalAlterConfigs SET of `key` on BROKER resource `name`: the
/// error code and message.
fn set(sim: &mut Sim, name: &str, key: &str, value: &str, validate_only: bool) -> (i16, String) {
    let req = IncrementalAlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource_type: BROKER,
            resource_name: name.into(),
            configs: vec![AlterableConfig {
                name: key.into(),
                config_operation: 0,
                value: Some(value.into()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        validate_only,
        ..Default::default()
    };
    match sim.call(ADMIN, 1, RequestBody::IncrementalAlterConfigs(req)) {
        ResponseBody::IncrementalAlterConfigs(r) => {
            let r = &r.responses[0];
            let msg = r.error_message.as_deref().unwrap_or("").to_string();
            (r.error_code, msg)
        }
        other => panic!("{other:?}"),
    }
}

/// `key` of broker 1 as DescribeConfigs reports it: value and source.
fn described(sim: &mut Sim, key: &str) -> (String, i8) {
    let req = DescribeConfigsRequest {
        resources: vec![DescribeConfigsResource {
            resource_type: BROKER,
            resource_name: "1".into(),
            configuration_keys: Some(vec![key.into()]),
            ..Default::default()
        }],
        ..Default::default()
    };
    match sim.call(ADMIN, 1, RequestBody::DescribeConfigs(req)) {
        ResponseBody::DescribeConfigs(r) => {
            let c = &r.results[0].configs[0];
            (
                c.value.as_deref().unwrap_or("").to_string(),
                c.config_source,
            )
        }
        other => panic!("{other:?}"),
    }
}

fn writes(sim: &mut Sim) -> Vec<Output> {
    std::mem::take(&mut sim.asked)
        .into_iter()
        .filter(|o| matches!(o, Output::WriteBrokerConfigs { .. }))
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn broker_configs_go_to_zookeeper_and_come_back_by_notification() {
    let mut sim = zk_broker();
    let before = described(&mut sim, "log.retention.ms");
    assert_eq!(set(&mut sim, "", "log.retention.ms", "5000", false).0, 0);
    assert_eq!(
        writes(&mut sim),
        [Output::WriteBrokerConfigs {
            broker: None,
            configs: pairs(&[("log.retention.ms", "5000")]),
        }]
    );
    assert_eq!(
        described(&mut sim, "log.retention.ms"),
        before,
        "unchanged until it comes back"
    );
    sim.broker
        .handle_broker_configs(None, pairs(&[("log.retention.ms", "5000")]), sim.now);
    assert_eq!(described(&mut sim, "log.retention.ms"), ("5000".into(), 3));

    // This broker's own level, then another broker's (not this one's).
    assert_eq!(set(&mut sim, "1", "log.retention.ms", "6000", false).0, 0);
    assert_eq!(
        writes(&mut sim),
        [Output::WriteBrokerConfigs {
            broker: Some(1),
            configs: pairs(&[("log.retention.ms", "6000")]),
        }]
    );
    sim.broker
        .handle_broker_configs(Some(2), pairs(&[("log.retention.ms", "7000")]), sim.now);
    assert_eq!(described(&mut sim, "log.retention.ms"), ("5000".into(), 3));
    sim.broker
        .handle_broker_configs(Some(1), pairs(&[("log.retention.ms", "6000")]), sim.now);
    assert_eq!(described(&mut sim, "log.retention.ms"), ("6000".into(), 2));
    // What ZooKeeper holds replaces the level: an emptied znode unsets.
    sim.broker
        .handle_broker_configs(Some(1), Vec::new(), sim.now);
    assert_eq!(described(&mut sim, "log.retention.ms"), ("5000".into(), 3));
    // IncrementalAlterConfigs starts from what ZooKeeper holds.
    assert_eq!(set(&mut sim, "", "log.retention.bytes", "99", false).0, 0);
    assert_eq!(
        writes(&mut sim),
        [Output::WriteBrokerConfigs {
            broker: None,
            configs: pairs(&[("log.retention.bytes", "99"), ("log.retention.ms", "5000")]),
        }]
    );
}

#[test]
fn a_password_config_is_refused_as_kafka_refuses_it_without_an_encoder_secret() {
    let mut sim = zk_broker();
    let key = "listener.name.plaintext.ssl.key.password";
    let (code, msg) = set(&mut sim, "1", key, "secret", false);
    assert_eq!(code, 42, "INVALID_REQUEST");
    assert_eq!(
        msg,
        "Invalid config value for resource ConfigResource(type=BROKER, name='1'): \
         Password encoder secret not configured"
    );
    assert!(writes(&mut sim).is_empty());
    // Validation alone does not encode, so it passes, and writes nothing.
    assert_eq!(set(&mut sim, "1", key, "secret", true).0, 0);
    assert!(writes(&mut sim).is_empty());
    // Another broker's resource is refused here, as Kafka does.
    let (code, msg) = set(&mut sim, "2", "log.retention.ms", "1", false);
    assert_eq!(code, 42);
    assert_eq!(msg, "Unexpected broker id, expected 1, but received 2");
}
