//! Topic config changes in ZooKeeper mode, as Kafka 2.x makes them
//! (`AdminZkClient.changeTopicConfig`, `ConfigChangeListener`): an
//! IncrementalAlterConfigs for a topic of the cluster hands the whole new
//! config set to the driver (`Output::WriteTopicConfigs`) and changes
//! nothing here; the topic's configs change when the driver reads them
//! back after the change notification (`Broker::handle_topic_configs`),
//! on this broker as on every other.

mod sim;

use sim::pair::{live, update_metadata, zk_broker};
use sim::Sim;
use spate_core::broker::Output;
use spate_core::protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
};
use spate_core::protocol::messages::update_metadata_request::{
    UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use spate_core::protocol::{RequestBody, ResponseBody, Uuid};

const ADMIN: u64 = 10;

fn learned_topic() -> Sim {
    let mut sim = zk_broker();
    let topic = UpdateMetadataTopicState {
        topic_name: "t".into(),
        topic_id: Uuid([4; 16]),
        partition_states: vec![UpdateMetadataPartitionState {
            leader: 1,
            isr: vec![1].into(),
            replicas: vec![1].into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    update_metadata(&mut sim, 1, vec![live(1)], vec![topic]);
    sim
}

/// `retention.ms` of topic `t` as DescribeConfigs reports it, when set
/// on the topic.
fn retention(sim: &mut Sim) -> Option<String> {
    use spate_core::protocol::messages::describe_configs_request::{
        DescribeConfigsRequest, DescribeConfigsResource,
    };
    let req = DescribeConfigsRequest {
        resources: vec![DescribeConfigsResource {
            resource_type: 2,
            resource_name: "t".into(),
            configuration_keys: Some(vec!["retention.ms".into()]),
            ..Default::default()
        }],
        ..Default::default()
    };
    match sim.call(ADMIN, 1, RequestBody::DescribeConfigs(req)) {
        ResponseBody::DescribeConfigs(r) => {
            let c = r.results[0].configs.first()?;
            // Source 1: set on the topic.
            (c.config_source == 1).then(|| c.value.as_deref().unwrap_or("").to_string())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_topic_config_change_goes_to_zookeeper_and_comes_back_by_notification() {
    let mut sim = learned_topic();
    let set = |name: &str, value: &str| AlterableConfig {
        name: name.into(),
        config_operation: 0,
        value: Some(value.into()),
        ..Default::default()
    };
    let req = IncrementalAlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource_type: 2,
            resource_name: "t".into(),
            configs: vec![
                set("retention.ms", "1234"),
                set("cleanup.policy", "compact"),
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    match sim.call(ADMIN, 1, RequestBody::IncrementalAlterConfigs(req)) {
        ResponseBody::IncrementalAlterConfigs(r) => {
            assert_eq!(r.responses[0].error_code, 0, "{r:?}")
        }
        other => panic!("{other:?}"),
    }
    let writes: Vec<&Output> = (sim.asked.iter())
        .filter(|o| matches!(o, Output::WriteTopicConfigs { .. }))
        .collect();
    let want = Output::WriteTopicConfigs {
        topic: "t".into(),
        configs: vec![
            ("cleanup.policy".into(), "compact".into()),
            ("retention.ms".into(), "1234".into()),
        ],
    };
    assert_eq!(writes, [&want]);
    assert_eq!(retention(&mut sim), None, "unchanged until it comes back");
    let Output::WriteTopicConfigs { configs, .. } = want else {
        unreachable!()
    };
    sim.broker.handle_topic_configs("t", configs, sim.now);
    assert_eq!(retention(&mut sim).as_deref(), Some("1234"));
}
