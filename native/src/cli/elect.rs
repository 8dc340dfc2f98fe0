//! `spate topic elect-leaders`: ElectLeaders, sent to the controller, as
//! Kafka's `kafka-leader-election.sh` does: the preferred replica of each
//! partition becomes its leader where it can (or, with `--unclean`, an
//! unclean election for partitions without a leader).

use anyhow::bail;
use serde_json::json;
use spate_core::protocol::messages::elect_leaders_request::{ElectLeadersRequest, TopicPartitions};
use spate_core::protocol::{ApiKey, ErrorCode, RequestBody, ResponseBody};

use crate::client::Client;

/// How long the controller may take.
const TIMEOUT_MS: i32 = 30_000;

/// Elects leaders of `partitions` of `topic` (all its partitions when
/// empty; every partition of the cluster without a topic) and prints each
/// outcome. Fails when a partition's election failed (ELECTION_NOT_NEEDED
/// is not a failure).
pub(crate) fn run(
    client: &mut Client,
    json: bool,
    topic: Option<String>,
    partitions: Vec<i32>,
    unclean: bool,
) -> anyhow::Result<()> {
    let topic_partitions = match topic {
        None => None,
        Some(name) => {
            let partitions = if partitions.is_empty() {
                let meta = client.metadata(Some(&[name.as_str()]))?;
                let Some(t) = meta.topics.first() else {
                    bail!("no topic `{name}`");
                };
                if t.error_code != 0 {
                    bail!("topic `{name}`: {}", ErrorCode(t.error_code));
                }
                t.partitions.iter().map(|p| p.partition_index).collect()
            } else {
                partitions
            };
            Some(vec![TopicPartitions {
                topic: name.into(),
                partitions: partitions.into(),
                ..Default::default()
            }])
        }
    };
    let req = ElectLeadersRequest {
        election_type: i8::from(unclean),
        topic_partitions,
        timeout_ms: TIMEOUT_MS,
        ..Default::default()
    };
    let controller = client.controller()?;
    if unclean && controller.version(ApiKey::ElectLeaders)? < 1 {
        bail!("the controller serves only ElectLeaders v0, which has no unclean election");
    }
    let ResponseBody::ElectLeaders(resp) = controller.send(RequestBody::ElectLeaders(req))? else {
        bail!("ElectLeaders answered with another API");
    };
    if resp.error_code != 0 {
        bail!("electing leaders: {}", ErrorCode(resp.error_code));
    }
    let mut failed = 0;
    let mut rows = Vec::new();
    for t in &resp.replica_election_results {
        for p in &t.partition_result {
            let code = ErrorCode(p.error_code);
            if code != ErrorCode::NONE && code != ErrorCode::ELECTION_NOT_NEEDED {
                failed += 1;
            }
            rows.push((t.topic.to_string(), p.partition_id, code));
        }
    }
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|(t, p, c)| json!({ "topic": t, "partition": p, "error": c.name() }))
            .collect();
        outln!("{}", json!({ "partitions": list }))?;
    } else if rows.is_empty() {
        outln!("no partition needed an election")?;
    }
    for (t, p, c) in &rows {
        if json {
            break;
        }
        match *c {
            ErrorCode::NONE => outln!("{t}-{p}: elected")?,
            c => outln!("{t}-{p}: {}", c.name())?,
        }
    }
    if failed > 0 {
        bail!("{failed} partitions could not be elected");
    }
    Ok(())
}
