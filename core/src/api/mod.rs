//! One module per Kafka API: decode, apply to exactly the state the API
//! needs, encode.
//!
//! [`dispatch`] is the one way in: the broker hands it a request frame
//! (or a parked Fetch to try again) with [`Parts`], each part of the
//! broker's state borrowed on its own, and gets back what the request
//! decided ([`Handled`]). Dispatch decodes the frame, refuses what is not
//! served, and gives each handler only the parts its API touches: Metadata
//! the metadata image and a [`Controller`] for auto-creation, Produce the
//! image, the logs, the producer state and the transaction coordinator
//! (KIP-890 checks), the group APIs the group coordinator, the
//! transactional APIs the transaction coordinator with the logs, producers
//! and groups its plans touch (`txn::TxnParts`, carried out by
//! `txn::carry_out`), and so on. A handler never sees the broker, its
//! connections or its timers.
//!
//! In ZooKeeper mode CreateTopics and Metadata auto-creation hand topics
//! to the driver ([`Handled::create`]) and a CreateTopics is held in
//! [`Creates`] ([`Reply::Creating`]) until the driver reports and the
//! controller's UpdateMetadata ([`Handled::metadata_updated`]) names its
//! leaders; the broker asks [`Creates`] for the answers.
//!
//! [`supported`] is the table ApiVersions advertises, so the two cannot
//! disagree: an API or version absent from it is refused before dispatch,
//! as Kafka refuses an API its listener does not serve (by closing the
//! connection). The table depends on the broker's mode: in ZooKeeper mode
//! ([`Config::zk_mode`]) it adds the controller's UpdateMetadata (the
//! cluster's membership, `state::brokers`, and every partition's state),
//! LeaderAndIsr and StopReplica (the partitions this broker hosts, as
//! leader or follower: `state::leadership`), and ControlledShutdown,
//! ElectLeaders and the partition reassignment APIs, held and handed to
//! the controller through the driver ([`Handled::ask`]).
//!
//! With an authorizer, `run` builds one [`Authorizer`] per request:
//! `authz::gate` answers a request the principal may not make at all, and
//! handlers that check single topics, groups or ids take it.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
mod alter_user_scram_credentials;
mod api_versions;
mod authz;
mod consumer_group_describe;
mod consumer_group_heartbeat;
#[cfg(feature = "cluster")]
mod controlled_shutdown;
mod create_acls;
pub(crate) mod create_partitions;
mod create_topics;
mod delete_acls;
mod delete_groups;
mod delete_records;
pub(crate) mod delete_topics;
mod describe_acls;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_log_dirs;
mod describe_producers;
mod describe_topic_partitions;
mod describe_transactions;
mod describe_user_scram_credentials;
pub(crate) mod elect_leaders;
mod end_txn;
pub(crate) mod fetch;
mod find_coordinator;
mod get_telemetry_subscriptions;
mod handled;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
pub(crate) mod injected;
mod join_group;
#[cfg(feature = "cluster")]
mod leader_and_isr;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod push_telemetry;
pub(crate) mod reassignments;
mod replicated;
pub(crate) mod served;
#[cfg(feature = "cluster")]
mod stop_replica;
mod supported;
pub(crate) mod sync_group;
pub(crate) mod txn;
mod txn_offset_commit;
#[cfg(feature = "cluster")]
mod update_metadata;
mod write_txn_markers;
mod zk_security;

use bytes::Bytes;
use bytestring::ByteString;

use crate::coordinator::group::GroupCoordinator;
use crate::coordinator::txn::TxnCoordinator;
use crate::protocol::header::{decode_request_header, peek_request};
use crate::protocol::{ApiKey, Reader, RequestBody, ResponseBody};
use crate::security::acl::Authorizer;
use crate::security::Principal;
use crate::state::brokers::Membership;
use crate::state::cluster::Cluster;
use crate::state::controller::Controller;
use crate::state::epochs::Epochs;
use crate::state::fetch_sessions::FetchSessions;
use crate::state::ids::Ids;
use crate::state::metrics::Metrics;
use crate::state::producers::Producers;
use crate::state::security::SecurityImage;
use crate::state::telemetry::Telemetry;
use crate::state::{Config, ConnId, Now};
use crate::storage::Storage;

pub(crate) use create_topics::{Answer as CreateAnswer, Creates};
pub(crate) use handled::{Answering, Handled, Parked, Reply};
pub(crate) use supported::supported;
pub(crate) use zk_security::{ZkHeld, ZkWrite};

use txn::TxnParts;

/// The broker's state, each part borrowed on its own, for [`dispatch`] to
/// hand out.
#[derive(Debug)]
pub(crate) struct Parts<'a, S> {
    pub config: &'a Config,
    pub storage: &'a mut S,
    pub cluster: &'a mut Cluster,
    /// The live brokers and the controller.
    pub members: &'a mut Membership,
    pub producers: &'a mut Producers,
    /// Each log's leader epoch history.
    pub epochs: &'a mut Epochs,
    pub sessions: &'a mut FetchSessions,
    pub telemetry: &'a mut Telemetry,
    pub ids: &'a mut Ids,
    pub groups: &'a mut GroupCoordinator,
    pub txns: &'a mut TxnCoordinator,
    /// CreateTopics requests held while the driver writes their topics to
    /// ZooKeeper and the controller elects leaders (ZooKeeper mode).
    pub creates: &'a mut Creates,
    /// The ACLs and SCRAM credentials.
    pub security: &'a mut SecurityImage,
    /// The counters produces and fetches add to.
    pub metrics: &'a mut Metrics,
    /// Produce appends a test asked to fail.
    pub append_faults: &'a mut crate::state::faults::AppendFaults,
}

/// What a request is handled with.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    /// Its API version.
    pub version: i16,
    /// The connection it came on.
    pub conn: ConnId,
    /// The peer's address (`127.0.0.1:53122`).
    pub peer_addr: &'a str,
    /// The client id of its header (empty when null).
    pub client_id: ByteString,
    /// Who sent it: the connection's authenticated principal
    /// (`User:ANONYMOUS` on a listener that does not authenticate).
    pub principal: &'a Principal,
    /// The listener the connection came in on: Metadata, DescribeCluster
    /// and FindCoordinator name brokers by their endpoints on it.
    pub listener: &'a str,
    /// The time.
    pub now: Now,
}

impl Ctx<'_> {
    /// The client's IP address, without port or brackets (`127.0.0.1`),
    /// as ACL hosts name it.
    pub fn ip(&self) -> &str {
        let addr = self.peer_addr;
        match addr.rsplit_once(':') {
            Some((ip, _)) => ip.trim_start_matches('[').trim_end_matches(']'),
            None => addr,
        }
    }

    /// Kafka's form of the client's address: `/` and the IP, without the port.
    pub fn client_host(&self) -> ByteString {
        format!("/{}", self.ip()).into()
    }

    /// The authorizer for this request: its principal and host against
    /// the cluster's ACLs.
    pub fn authorizer<'b>(
        &'b self,
        config: &'b Config,
        security: &'b SecurityImage,
    ) -> Authorizer<'b> {
        Authorizer {
            acls: &security.acls,
            config: &config.security,
            principal: self.principal,
            host: self.ip(),
        }
    }
}

/// What the broker hands [`dispatch`].
#[derive(Debug)]
pub(crate) enum Input<'a> {
    /// A request frame, its size prefix removed.
    Frame(&'a Bytes),
    /// A parked request, to try again: news on a partition it waits for,
    /// or (`expired`) its deadline passed.
    Resume(Parked, bool),
}

/// Who a request comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct From<'a> {
    /// The connection.
    pub conn: ConnId,
    /// Its peer's address (`127.0.0.1:53122`).
    pub peer_addr: &'a str,
    /// Its authenticated principal.
    pub principal: &'a Principal,
    /// The listener it connected to.
    pub listener: &'a str,
}

/// Handles one input from `from`.
pub(crate) fn dispatch<S: Storage>(
    parts: Parts<'_, S>,
    from: From<'_>,
    now: Now,
    input: Input<'_>,
) -> Handled {
    match input {
        Input::Frame(frame) => request(parts, from, now, frame),
        Input::Resume(parked, expired) => {
            let request = Some(parked.answering());
            let reply = match parked {
                Parked::Fetch(f) => fetch::resume(parts, now, *f, expired),
                Parked::Produce(p) => produce::resume(parts.cluster, &*parts.storage, *p, expired),
                Parked::Answer(a) => {
                    let h = replicated::resume_answer(parts, now, *a, expired);
                    return Handled { request, ..h };
                }
            };
            Handled {
                request,
                ..Handled::reply(reply)
            }
        }
    }
}

/// Decodes a request frame and runs it. Bytes after the body are ignored,
/// as Kafka's request parser ignores them: librdkafka (2.12-2.16) sends
/// three extra bytes after an all-topics Metadata v13 request, and Kafka
/// answers it.
fn request<S: Storage>(parts: Parts<'_, S>, from: From<'_>, now: Now, frame: &Bytes) -> Handled {
    let close = |why: String| Handled::reply(Reply::Close(why));
    let Some((raw_key, version)) = peek_request(frame) else {
        return close(format!(
            "frame of {} bytes is too short for a request header",
            frame.len()
        ));
    };
    if raw_key == ApiKey::ApiVersions as i16 && !ApiKey::ApiVersions.versions().contains(version) {
        // Kafka answers an ApiVersions it cannot parse with
        // UNSUPPORTED_VERSION in a v0 body listing what it supports.
        let correlation_id = frame
            .get(4..8)
            .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        return Handled {
            request: Some(Answering {
                correlation_id,
                key: ApiKey::ApiVersions,
                version: 0,
                metric: ApiKey::ApiVersions.name(),
            }),
            ..Handled::respond(api_versions::unsupported(parts.config))
        };
    }
    let mut r = Reader::new(frame);
    let (key, header) = match decode_request_header(&mut r) {
        Ok(h) => h,
        Err(e) => return close(format!("bad request header: {e}")),
    };
    if !supported(parts.config, key).contains(version) {
        return close(format!("{} v{version} is not supported", key.name()));
    }
    let body = match served::decode_request(key, &mut r, version) {
        Some(Ok(b)) => b,
        Some(Err(e)) => return close(format!("bad {} v{version} request: {e}", key.name())),
        None => return close(format!("{} is not served", key.name())),
    };
    let ctx = Ctx {
        version,
        conn: from.conn,
        peer_addr: from.peer_addr,
        client_id: header.client_id.clone().unwrap_or_default(),
        principal: from.principal,
        listener: from.listener,
        now,
    };
    let answering = Answering {
        correlation_id: header.correlation_id,
        key,
        version,
        metric: metric_name(key, version, &body),
    };
    Handled {
        request: Some(answering),
        ..run(parts, &ctx, answering, body)
    }
}

/// Kafka's name of a request in its request metrics (`RequestMetrics`'
/// `request` tag): the API's, but a Fetch is `FetchFollower` from a
/// replica and `FetchConsumer` from anyone else.
fn metric_name(key: ApiKey, version: i16, body: &RequestBody) -> &'static str {
    match body {
        RequestBody::Fetch(f) => {
            let replica = if version >= 15 {
                f.replica_state.replica_id
            } else {
                f.replica_id
            };
            if replica >= 0 {
                "FetchFollower"
            } else {
                "FetchConsumer"
            }
        }
        _ => key.name(),
    }
}

/// Responds with `body` after the group coordinator followed the
/// partitions of `__consumer_offsets` led here, and the transaction
/// coordinator those of `__transaction_state` (ZooKeeper mode: a
/// LeaderAndIsr or StopReplica may have changed them).
fn follow_groups<S: Storage>(
    ctx: &Ctx<'_>,
    ctl: &Controller<'_, S>,
    groups: &mut GroupCoordinator,
    txns: &mut TxnCoordinator,
    body: ResponseBody,
) -> Handled {
    let led = ctl.cluster.leadership.led(crate::state::OFFSETS_TOPIC);
    let answers = groups.follow(&led, &*ctl.storage, ctx.now);
    let led = ctl
        .cluster
        .leadership
        .led(crate::state::TRANSACTION_STATE_TOPIC);
    txns.follow(&led, &*ctl.storage, ctx.now);
    Handled {
        answers,
        group_deadline: Some(groups.next_deadline()),
        ..Handled::respond(body)
    }
}

/// Gives the request to its API's handler, with the parts it needs.
fn run<S: Storage>(
    p: Parts<'_, S>,
    ctx: &Ctx<'_>,
    answering: Answering,
    body: RequestBody,
) -> Handled {
    use RequestBody as Q;
    use ResponseBody as R;
    let Parts {
        config,
        storage,
        cluster,
        members,
        producers,
        epochs,
        sessions,
        telemetry,
        ids,
        groups,
        txns,
        creates,
        security,
        metrics,
        append_faults,
    } = p;
    let az = ctx.authorizer(config, &*security);
    if let Some(denied) = authz::gate(&az, ctx.version, &body) {
        return Handled::respond(denied);
    }
    let mut ctl = Controller {
        cluster,
        storage,
        ids,
    };
    // The parts a transactional API (and Produce) works on.
    macro_rules! txn_parts {
        () => {
            TxnParts {
                storage: ctl.storage,
                cluster: ctl.cluster,
                producers,
                groups,
                txns,
            }
        };
    }
    match body {
        Q::ApiVersions(_) => Handled::respond(R::ApiVersions(api_versions::handle(config))),
        Q::Metadata(req) => {
            let (r, create) = metadata::handle(ctx, config, members, ctl, creates, &az, req);
            Handled {
                create,
                ..Handled::respond(R::Metadata(r))
            }
        }
        #[cfg(feature = "cluster")]
        Q::UpdateMetadata(req) => Handled {
            metadata_updated: true,
            ..Handled::respond(R::UpdateMetadata(update_metadata::handle(
                ctx,
                config,
                members,
                ctl.cluster,
                req,
            )))
        },
        #[cfg(feature = "cluster")]
        Q::LeaderAndIsr(req) => {
            let mut changed = Vec::new();
            let r =
                leader_and_isr::handle(ctx, members, ctl.cluster, ctl.storage, req, &mut changed);
            Handled {
                appended: changed,
                ..follow_groups(ctx, &ctl, groups, txns, R::LeaderAndIsr(r))
            }
        }
        #[cfg(feature = "cluster")]
        Q::StopReplica(req) => {
            let r = stop_replica::handle(ctx, members, ctl.cluster, ctl.storage, req);
            // A deleted replica may take the last mention of its topic.
            Handled {
                metadata_updated: true,
                ..follow_groups(ctx, &ctl, groups, txns, R::StopReplica(r))
            }
        }
        Q::DeleteTopics(req) if config.zk() => {
            use delete_topics::zk::{handle, Outcome};
            match handle(ctx, config, members, ctl.cluster, creates, &az, req) {
                Outcome::Answer(r) => Handled::respond(R::DeleteTopics(r)),
                Outcome::Mark { held, topics } => Handled {
                    delete: topics,
                    ..Handled::reply(match held {
                        Ok(id) => Reply::Creating(id),
                        Err(r) => Reply::Response(R::DeleteTopics(r)),
                    })
                },
            }
        }
        Q::CreateAcls(req) => create_acls::handle(ctx, config, security, ctl.storage, ctl.ids, req),
        Q::DescribeAcls(req) => describe_acls::handle(ctx, config, security, req),
        Q::DeleteAcls(req) => delete_acls::handle(ctx, config, security, ctl.storage, req),
        Q::DescribeUserScramCredentials(req) => Handled::respond(R::DescribeUserScramCredentials(
            describe_user_scram_credentials::handle(ctx, config, security, req),
        )),
        Q::AlterUserScramCredentials(req) => {
            alter_user_scram_credentials::handle(ctx, config, security, ctl.storage, req)
        }
        #[cfg(feature = "cluster")]
        Q::ControlledShutdown(req) => controlled_shutdown::handle(req),
        #[cfg(feature = "cluster")]
        Q::ElectLeaders(req) => elect_leaders::handle(req),
        #[cfg(feature = "cluster")]
        Q::AlterPartitionReassignments(req) => reassignments::alter(req, ctx.version),
        #[cfg(feature = "cluster")]
        Q::ListPartitionReassignments(req) => reassignments::list(req),
        Q::DeleteTopics(req) => {
            Handled::respond(R::DeleteTopics(delete_topics::handle(ctx, ctl, &az, req)))
        }
        Q::CreatePartitions(req) if config.zk() => {
            use create_partitions::zk::{handle, Outcome};
            match handle(ctx, config, members, ctl.cluster, creates, &az, req) {
                Outcome::Answer(r) => Handled::respond(R::CreatePartitions(r)),
                Outcome::Write {
                    request,
                    answer,
                    topics,
                } => Handled {
                    add: Some((request, topics)),
                    ..Handled::reply(match answer {
                        Some(r) => Reply::Response(R::CreatePartitions(r)),
                        None => Reply::Creating(request),
                    })
                },
            }
        }
        Q::CreatePartitions(req) => Handled::respond(R::CreatePartitions(
            create_partitions::handle(ctx, config, ctl, &az, req),
        )),
        Q::DeleteRecords(req) => Handled::respond(R::DeleteRecords(delete_records::handle(
            ctl.cluster,
            ctl.storage,
            &az,
            req,
        ))),
        Q::ListOffsets(req) => Handled::respond(R::ListOffsets(list_offsets::handle(
            ctx,
            ctl.cluster,
            &*ctl.storage,
            producers,
            &az,
            req,
        ))),
        Q::OffsetForLeaderEpoch(req) => Handled::respond(R::OffsetForLeaderEpoch(
            offset_for_leader_epoch::handle(ctl.cluster, &*ctl.storage, epochs, &az, req),
        )),
        Q::DescribeCluster(req) => Handled::respond(R::DescribeCluster(describe_cluster::handle(
            ctx, config, members, &az, req,
        ))),
        Q::DescribeLogDirs(req) => Handled::respond(R::DescribeLogDirs(describe_log_dirs::handle(
            ctx.version,
            config,
            ctl.cluster,
            &*ctl.storage,
            &az,
            req,
        ))),
        Q::DescribeTopicPartitions(req) => Handled::respond(R::DescribeTopicPartitions(
            describe_topic_partitions::handle(config, members, ctl.cluster, &az, req),
        )),
        Q::CreateTopics(req) if config.zk() => {
            match create_topics::zk::handle(ctx, config, members, ctl, creates, &az, req) {
                create_topics::zk::Outcome::Answer(r) => Handled::respond(R::CreateTopics(r)),
                create_topics::zk::Outcome::Held { request, topics } => Handled {
                    create: Some((request, topics)),
                    ..Handled::reply(Reply::Creating(request))
                },
            }
        }
        Q::CreateTopics(req) => Handled::respond(R::CreateTopics(create_topics::handle(
            ctx, config, ctl, &az, req,
        ))),
        Q::Produce(req) => {
            let mut tp = txn_parts!();
            produce::handle(
                ctx,
                answering,
                (members, append_faults),
                &mut tp,
                &az,
                req,
                metrics,
            )
        }
        Q::Fetch(req) => {
            let (reply, positions) = fetch::handle(
                ctx,
                answering,
                config,
                members,
                ctl.cluster,
                &*ctl.storage,
                producers,
                (sessions, metrics),
                ctl.ids,
                &az,
                req,
            );
            let moved = fetch::record_positions(ctl.cluster, positions, ctx.now);
            Handled {
                appended: moved,
                ..Handled::reply(reply)
            }
        }
        Q::InitProducerId(req) => {
            let mut appended = Vec::new();
            let ids: Vec<ByteString> = req.transactional_id.iter().cloned().collect();
            let mut tp = txn_parts!();
            let r = init_producer_id::handle(ctx, config, &mut tp, req, &mut appended);
            replicated::txn_answer(&tp, ctx, answering, &ids, R::InitProducerId(r), appended)
        }
        Q::AddPartitionsToTxn(req) => {
            let mut appended = Vec::new();
            let ids: Vec<ByteString> = match ctx.version {
                0..=3 => vec![req.v3_and_below_transactional_id.clone()],
                _ => req
                    .transactions
                    .iter()
                    .map(|t| t.transactional_id.clone())
                    .collect(),
            };
            let mut tp = txn_parts!();
            let r = add_partitions_to_txn::handle(ctx, &mut tp, &az, req, &mut appended);
            replicated::txn_answer(
                &tp,
                ctx,
                answering,
                &ids,
                R::AddPartitionsToTxn(r),
                appended,
            )
        }
        Q::AddOffsetsToTxn(req) => {
            let mut appended = Vec::new();
            let offsets_partitions = config.groups.offsets_partitions;
            if let Err(code) = ctl.ensure_offsets_topic(ctx.now) {
                return Handled::respond(R::AddOffsetsToTxn(
                    crate::protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse {
                        error_code: code.code(),
                        ..Default::default()
                    },
                ));
            }
            let ids = [req.transactional_id.clone()];
            let mut tp = txn_parts!();
            let r =
                add_offsets_to_txn::handle(ctx, &mut tp, offsets_partitions, req, &mut appended);
            replicated::txn_answer(&tp, ctx, answering, &ids, R::AddOffsetsToTxn(r), appended)
        }
        Q::EndTxn(req) => {
            let mut appended = Vec::new();
            let ids = [req.transactional_id.clone()];
            let mut tp = txn_parts!();
            let r = end_txn::handle(ctx, config, &mut tp, req, &mut appended);
            replicated::txn_answer(&tp, ctx, answering, &ids, R::EndTxn(r), appended)
        }
        Q::TxnOffsetCommit(req) => {
            let (mut appended, mut written) = (Vec::new(), None);
            let mut tp = txn_parts!();
            let r = txn_offset_commit::handle(ctx, &mut tp, &az, req, &mut appended, &mut written);
            let timeout = tp.groups.config().offsets_commit_timeout_ms;
            let body = R::TxnOffsetCommit(r);
            let reply = replicated::answer_when_replicated(
                tp.cluster,
                &*tp.storage,
                answering,
                ctx.now,
                timeout,
                written,
                body,
            );
            Handled {
                appended,
                ..Handled::reply(reply)
            }
        }
        Q::WriteTxnMarkers(req) => write_txn_markers::handle(
            ctx.now,
            answering,
            txns.config().request_timeout_ms,
            ctl.storage,
            ctl.cluster,
            producers,
            groups,
            req,
        ),
        Q::DescribeTransactions(req) => Handled::respond(R::DescribeTransactions(
            describe_transactions::handle(txns, &az, req),
        )),
        Q::ListTransactions(req) => Handled::respond(R::ListTransactions(
            list_transactions::handle(ctx.version, ctx.now, txns, &az, req),
        )),
        Q::DescribeProducers(req) => Handled::respond(R::DescribeProducers(
            describe_producers::handle(ctl.cluster, producers, &az, req),
        )),
        Q::DescribeConfigs(req) => Handled::respond(R::DescribeConfigs(describe_configs::handle(
            ctx,
            config,
            ctl.cluster,
            &az,
            req,
        ))),
        Q::AlterConfigs(req) => Handled::respond(R::AlterConfigs(alter_configs::handle(
            ctx, config, &mut ctl, &az, req,
        ))),
        Q::IncrementalAlterConfigs(req) => Handled::respond(R::IncrementalAlterConfigs(
            incremental_alter_configs::handle(ctx, config, &mut ctl, &az, req),
        )),
        Q::GetTelemetrySubscriptions(req) => Handled::respond(R::GetTelemetrySubscriptions(
            get_telemetry_subscriptions::handle(ctx, telemetry, ctl.ids, req),
        )),
        Q::PushTelemetry(req) => Handled::respond(R::PushTelemetry(push_telemetry::handle(
            ctx, telemetry, req,
        ))),
        Q::FindCoordinator(req) => {
            let mut zk = find_coordinator::Zk {
                members,
                creates,
                create: None,
            };
            let r = find_coordinator::handle(ctx, config, ctl, &mut zk, &az, req);
            let create = zk
                .create
                .map(|t| (creates.auto([t.name.clone()].into()), vec![t]));
            Handled {
                create,
                ..Handled::respond(R::FindCoordinator(r))
            }
        }
        Q::JoinGroup(req) => join_group::handle(ctx, groups, ctl, req),
        Q::SyncGroup(req) => {
            sync_group::handle(ctx, answering, groups, ctl.cluster, ctl.storage, req)
        }
        Q::Heartbeat(req) => heartbeat::handle(ctx, groups, ctl.storage, req),
        Q::LeaveGroup(req) => leave_group::handle(ctx, groups, ctl.storage, req),
        Q::OffsetCommit(req) => offset_commit::handle(ctx, answering, groups, ctl, &az, req),
        Q::OffsetFetch(req) => {
            Handled::respond(R::OffsetFetch(offset_fetch::handle(ctx, groups, &az, req)))
        }
        Q::DescribeGroups(req) => Handled::respond(R::DescribeGroups(describe_groups::handle(
            ctx, groups, &az, req,
        ))),
        Q::ListGroups(req) => {
            Handled::respond(R::ListGroups(list_groups::handle(ctx, groups, &az, req)))
        }
        Q::DeleteGroups(req) => delete_groups::handle(ctx, groups, ctl.storage, &az, req),
        Q::OffsetDelete(req) => {
            offset_delete::handle(ctx, groups, ctl.cluster, ctl.storage, &az, req)
        }
        Q::ConsumerGroupHeartbeat(req) => consumer_group_heartbeat::handle(ctx, groups, ctl, req),
        Q::ConsumerGroupDescribe(req) => Handled::respond(R::ConsumerGroupDescribe(
            consumer_group_describe::handle(ctx, groups, ctl.cluster, &az, req),
        )),
        // `supported` refuses every other API before dispatch; should the two
        // ever disagree, the connection is closed as for any unserved API.
        other => Handled::reply(Reply::Close(format!(
            "{} is not served",
            other.api_key().name()
        ))),
    }
}
