// Guided conversations: short sequences of real requests to a broker,
// each step with a few sentences of what it teaches. A step builds its
// request as the JSON the wasm codec encodes (`wasm.fromJson`), from what
// earlier answers said (a member id, a producer id, a topic id); `runStep`
// sends it, decodes the answer and checks it against what the step
// expects. No DOM here: guide.js shows the steps, and the same code runs
// against any `send(bytes) -> Promise<response bytes | null>`.

/// kcat 1.7.1 (librdkafka 2.0.2) opening a connection with `kcat -b HOST
/// -L`: its ApiVersions v3 request, exactly as captured
/// (core/tests/vectors/api_versions_request_v3_kcat.bin).
export const KCAT_API_VERSIONS = "000000240012000300000001000772646b61666b61000b6c696272646b61666b6106322e302e3200";

const ZERO_ID = "AAAAAAAAAAAAAAAAAAAAAA";
const TOPIC = "guide-orders";
const BATCH_TOPIC = "guide-batches";
const GROUP = "guide-group";

export const hexToBytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));
export const bytesToHex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/// Bytes of the consumer protocol's own little formats (Kafka's
/// ConsumerProtocolSubscription and ConsumerProtocolAssignment, version
/// 0): the opaque `metadata` and `assignment` of JoinGroup and SyncGroup.
function int16(v) { return [(v >> 8) & 255, v & 255]; }
function int32(v) { return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]; }
function str(s) { const b = new TextEncoder().encode(s); return [...int16(b.length), ...b]; }
export function subscription(topics) {
  return bytesToHex([...int16(0), ...int32(topics.length), ...topics.flatMap(str), ...int32(-1)]);
}
export function assignment(topic, partitions) {
  return bytesToHex([...int16(0), ...int32(1), ...str(topic), ...int32(partitions.length), ...partitions.flatMap(int32), ...int32(-1)]);
}

/// A request as the codec's JSON: the header's correlation id counts up
/// through the conversation, as a client's does on its connection.
function req(ctx, api, version, body) {
  return { api, version, side: "request", header: { correlation_id: ++ctx.correlation, client_id: "spate-guide" }, body };
}

const records = (values, key = "order") => values.map((v, i) => ({ timestamp_delta: i, offset_delta: i, key: `${key}-${i}`, value: v, headers: [] }));
const batch = (recs, extra = {}) => ({
  base_offset: 0, partition_leader_epoch: -1, compression: "none", timestamp_type: "create",
  transactional: false, control: false, base_timestamp: Date.now(), producer_id: -1, producer_epoch: -1, base_sequence: -1,
  records: recs, ...extra,
});
const produce = (ctx, topic, b, acks = -1) => req(ctx, "Produce", 11, {
  transactional_id: null, acks, timeout_ms: 5000,
  topic_data: [{ name: topic, partition_data: [{ index: 0, records: [b] }] }],
});
const metadata = (ctx, topic) => req(ctx, "Metadata", 12, {
  topics: [{ topic_id: ZERO_ID, name: topic }], allow_auto_topic_creation: true, include_topic_authorized_operations: false,
});

/// Steps say what they teach in `say` (sentences); `focus` names the
/// request field the page selects when it shows the step; `expect` is the error
/// the answer must carry (null: none; an array: any of them, for a step
/// whose answer depends on what ran before, as creating a topic twice);
/// `keep(ctx, body)` takes what later steps need from the answer's body.
export const WALKTHROUGHS = [
  {
    id: "first",
    title: "What a client says first",
    intro: "Before anything else a client asks the broker which versions of which APIs it speaks, then uses, for each API, the highest version both sides know.",
    steps: [
      {
        title: "kcat's ApiVersions v3",
        focus: "client_software_name",
        say: "These are the bytes kcat sent when it connected: a 4-byte size, api key 18 (ApiVersions), version 3, a correlation id the answer will echo, and the client id. From v3 on the request is flexible (compact strings, tagged fields) and names the client software. The answer lists every API with its lowest and highest version; its header is always v0, without tagged fields, even though the body is flexible: a client cannot know the broker's header rules before it has this answer.",
        build: () => ({ bytes: hexToBytes(KCAT_API_VERSIONS) }),
        expect: null,
        keep: (ctx, body) => { ctx.apiVersionsMax = Math.max(...body.api_keys.filter((k) => k.api_key === 18).map((k) => k.max_version)); },
      },
      {
        title: "The newest version both know",
        focus: "request_api_version",
        say: "A newer client knows ApiVersions v4. It sends the highest version it knows; the broker said (previous answer) which it speaks, so from now on the client picks min(its highest, the broker's highest) for every API. Here the broker speaks v4, so the same request at v4 is answered at v4.",
        build: (ctx) => ({ json: req(ctx, "ApiVersions", 4, { client_software_name: "spate-guide", client_software_version: "1.0" }) }),
        expect: null,
      },
      {
        title: "A version the broker does not know: the v0 fallback",
        say: "The first request comes before the client knows anything, so a client may ask at a version the broker has never heard of (here 127: the frame is the previous one with its version bytes changed). Kafka does not close the connection: it answers in ApiVersions v0's layout, which every client can read, with error UNSUPPORTED_VERSION (35) and its list of versions, so the client can retry at one the broker supports.",
        build: (ctx) => {
          const r = req(ctx, "ApiVersions", 3, { client_software_name: "spate-guide", client_software_version: "1.0" });
          return { json: r, patchVersion: 127 };
        },
        respVersion: 0,
        focus: "request_api_version",
        expect: "UNSUPPORTED_VERSION",
      },
      {
        title: "Retry at v0",
        focus: "request_api_version",
        say: "The client retries at a version the answer listed. v0 has an empty body and the old, non-flexible header: the smallest request in Kafka. Its answer is the list again, error 0.",
        build: (ctx) => ({ json: req(ctx, "ApiVersions", 0, {}) }),
        expect: null,
      },
    ],
  },
  {
    id: "leader",
    title: "Find the leader",
    intro: "Every partition has one leader broker, and produce and fetch requests must go to it. A client learns who leads what from Metadata (and, for big topics, DescribeTopicPartitions).",
    steps: [
      {
        title: "Metadata v12 for a topic",
        focus: "allow_auto_topic_creation",
        say: `Metadata names the brokers (node id, host, port), the cluster id, the controller, and for each topic asked for its id and partitions, each with its leader, replicas and in-sync replicas. With allow_auto_topic_creation a topic that does not exist yet is created (this broker's auto.create.topics.enable is on, as Kafka's is by default): ${TOPIC} exists after this answer.`,
        build: (ctx) => ({ json: metadata(ctx, TOPIC) }),
        expect: null,
        keep: (ctx, body) => { ctx.topicId = body.topics[0].topic_id; ctx.leader = body.topics[0].partitions[0].leader_id; },
      },
      {
        title: "Metadata for every topic",
        focus: "topics",
        say: "topics: null (a -1 count; in a flexible version the compact count 0) asks for every topic, internal ones such as __consumer_offsets included once they exist. An empty array would ask for none: only the brokers.",
        build: (ctx) => ({ json: req(ctx, "Metadata", 12, { topics: null, allow_auto_topic_creation: false, include_topic_authorized_operations: false }) }),
        expect: null,
      },
      {
        title: "A topic that does not exist",
        focus: "allow_auto_topic_creation",
        say: "Without auto-creation, a topic the broker does not know comes back with error UNKNOWN_TOPIC_OR_PARTITION (3) in its entry. The request as a whole succeeds: Kafka reports errors per topic and per partition, beside the data.",
        build: (ctx) => ({ json: req(ctx, "Metadata", 12, { topics: [{ topic_id: ZERO_ID, name: "guide-no-such-topic" }], allow_auto_topic_creation: false, include_topic_authorized_operations: false }) }),
        expect: "UNKNOWN_TOPIC_OR_PARTITION",
      },
      {
        title: "DescribeTopicPartitions",
        focus: "response_partition_limit",
        say: "Since Kafka 3.7 (KIP-966) a client can page through a topic's partitions: response_partition_limit caps how many come back and a cursor says where the next page starts. Each partition carries its leader, leader epoch, replicas and ISR, and the eligible leader replicas.",
        build: (ctx) => ({ json: req(ctx, "DescribeTopicPartitions", 0, { topics: [{ name: TOPIC }], response_partition_limit: 100, cursor: null }) }),
        expect: null,
      },
    ],
  },
  {
    id: "write",
    title: "Write",
    intro: "A producer makes sure the topic exists, gets a producer id so the broker can drop its retried batches, then sends record batches to the partition's leader.",
    steps: [
      {
        title: "CreateTopics",
        focus: "num_partitions",
        say: `Create ${TOPIC} with one partition and one replica. timeout_ms is how long the broker may wait for the topic to be ready. Run again (or after Find the leader), the same request gets TOPIC_ALREADY_EXISTS (36) for it: creating is not idempotent in Kafka.`,
        build: (ctx) => ({ json: req(ctx, "CreateTopics", 7, { topics: [{ name: TOPIC, num_partitions: 1, replication_factor: 1, assignments: [], configs: [] }], timeout_ms: 5000, validate_only: false }) }),
        expect: [null, "TOPIC_ALREADY_EXISTS"],
      },
      {
        title: "InitProducerId: an idempotent producer's id",
        focus: "producer_id",
        say: "With no transactional id, InitProducerId hands out a fresh producer id at epoch 0. From now on each batch carries the id, the epoch and the sequence number of its first record, counted per partition from 0, so the leader can tell a retry from a new batch.",
        build: (ctx) => ({ json: req(ctx, "InitProducerId", 5, { transactional_id: null, transaction_timeout_ms: 60000, producer_id: -1, producer_epoch: -1 }) }),
        expect: null,
        keep: (ctx, body) => { ctx.producerId = body.producer_id; ctx.producerEpoch = body.producer_epoch; },
      },
      {
        title: "Produce a record batch",
        focus: "base_sequence",
        say: "acks -1 (all) asks for the answer once every in-sync replica has the batch. The batch's header says producer id, epoch and base_sequence 0; its three records hold only deltas from the batch's base offset and timestamp. The answer names the offset the leader gave the batch's first record.",
        build: (ctx) => ({ json: produce(ctx, TOPIC, batch(records(["2 coffees", "1 tea", "3 croissants"]), { producer_id: ctx.producerId, producer_epoch: ctx.producerEpoch, base_sequence: 0 })) }),
        expect: null,
        keep: (ctx, body) => { ctx.firstOffset = body.responses[0].partition_responses[0].base_offset; },
      },
      {
        title: "The same batch again: a retry",
        focus: "base_sequence",
        say: "Had the answer been lost, the producer would send the same batch again. The leader remembers the last batches of each producer id: same id, epoch and sequence, so it is a duplicate. It is not written twice; the answer is a success naming the offset the first copy got.",
        build: (ctx) => ({ json: produce(ctx, TOPIC, batch(records(["2 coffees", "1 tea", "3 croissants"]), { producer_id: ctx.producerId, producer_epoch: ctx.producerEpoch, base_sequence: 0 })) }),
        expect: null,
      },
      {
        title: "A gap in the sequence",
        focus: "base_sequence",
        say: "The next batch must start at sequence 3 (three records so far). One starting at 7 means batches went missing in between: the leader refuses it with OUT_OF_ORDER_SEQUENCE_NUMBER (45) and writes nothing.",
        build: (ctx) => ({ json: produce(ctx, TOPIC, batch(records(["lost?"]), { producer_id: ctx.producerId, producer_epoch: ctx.producerEpoch, base_sequence: 7 })) }),
        expect: "OUT_OF_ORDER_SEQUENCE_NUMBER",
      },
    ],
  },
  {
    id: "read",
    title: "Read",
    intro: "A consumer finds where to start (ListOffsets), then fetches from the leader, and waits on the broker (a long poll) when there is nothing new.",
    steps: [
      {
        title: "Metadata: the topic's id",
        focus: "topic_id",
        say: `From Fetch v13 on, topics are named by their 16-byte id, not their name: the client takes it from Metadata (here ${TOPIC}, created if need be).`,
        build: (ctx) => ({ json: metadata(ctx, TOPIC) }),
        expect: null,
        keep: (ctx, body) => { ctx.topicId = body.topics[0].topic_id; },
      },
      {
        title: "Produce something to read",
        focus: "acks",
        say: "Two records, acks 1 (the leader's word is enough), no producer id: a plain producer's batch has producer id -1 and base_sequence -1.",
        build: (ctx) => ({ json: produce(ctx, TOPIC, batch(records(["espresso", "flat white"], "cup")), 1) }),
        expect: null,
      },
      {
        title: "ListOffsets: where the log ends",
        focus: "timestamp",
        say: "timestamp -1 asks for the latest offset (the high watermark: the offset the next record will get), -2 for the earliest still kept; any other value finds the first record at or after that time. A consumer without a committed offset starts at one of these (auto.offset.reset).",
        build: (ctx) => ({ json: req(ctx, "ListOffsets", 9, { replica_id: -1, isolation_level: 0, topics: [{ name: TOPIC, partitions: [{ partition_index: 0, current_leader_epoch: -1, timestamp: -1 }] }] }) }),
        expect: null,
        keep: (ctx, body) => { ctx.end = body.topics[0].partitions[0].offset; },
      },
      {
        title: "Fetch from offset 0",
        focus: "fetch_offset",
        say: "Fetch names the topic by id, the partition and the offset to read from; partition_max_bytes bounds the answer. The records come back as the batches the producers wrote, bytes as stored (a broker does not re-encode them for a client this new), with the high watermark beside them.",
        build: (ctx) => ({ json: fetch(ctx, 0, 100) }),
        expect: null,
      },
      {
        title: "Fetch at the end: a long poll",
        focus: "max_wait_ms",
        say: "From the high watermark there is nothing to return. Rather than answer at once, the broker holds the request until min_bytes arrive or max_wait_ms (here 1000) passes: a consumer that is caught up costs one request a second, not a busy loop. Watch the latency.",
        build: (ctx) => ({ json: fetch(ctx, ctx.end, 1000) }),
        expect: null,
      },
    ],
  },
  {
    id: "group",
    title: "Join a group",
    intro: "Consumers that share a group id split the partitions between them. The group's coordinator (one broker) runs the handshake: join, the leader assigns, everyone syncs, then heartbeats keep the membership alive.",
    steps: [
      {
        title: "FindCoordinator",
        focus: "key_type",
        say: `Which broker coordinates group ${GROUP}? key_type 0 is a group (1 a transactional id). Since v4 one request can ask for several keys. The answer is a node id, host and port to connect to.`,
        build: (ctx) => ({ json: req(ctx, "FindCoordinator", 6, { key_type: 0, coordinator_keys: [GROUP] }) }),
        expect: null,
      },
      {
        title: "JoinGroup without a member id",
        focus: "member_id",
        say: "A new consumer joins with an empty member_id. Since JoinGroup v4 the coordinator does not admit it yet: it answers MEMBER_ID_REQUIRED (79) with a member id it made up, and the consumer must join again with it. (This keeps consumers that restart in a loop from filling the group with dead members.)",
        build: (ctx) => ({ json: join(ctx, "") }),
        expect: "MEMBER_ID_REQUIRED",
        keep: (ctx, body) => { ctx.memberId = body.member_id; },
      },
      {
        title: "JoinGroup with it",
        focus: "member_id",
        say: "Joining again with the member id. The coordinator waits for other members (group.initial.rebalance.delay.ms, 3 seconds for a new group) before it answers everyone: the generation, the chosen protocol (here range), the leader, and to the leader alone the members with their subscriptions (the metadata bytes: version, topics, user data).",
        build: (ctx) => ({ json: join(ctx, ctx.memberId) }),
        expect: null,
        keep: (ctx, body) => { ctx.generation = body.generation_id; },
      },
      {
        title: "SyncGroup: the leader's assignment",
        focus: "assignments",
        say: "The leader computed the assignment on the client side and sends it: for each member, the bytes of which partitions it gets. Followers send SyncGroup with no assignments; each gets its own share back.",
        build: (ctx) => ({ json: req(ctx, "SyncGroup", 5, { group_id: GROUP, generation_id: ctx.generation, member_id: ctx.memberId, group_instance_id: null, protocol_type: "consumer", protocol_name: "range", assignments: [{ member_id: ctx.memberId, assignment: assignment(TOPIC, [0]) }] }) }),
        expect: null,
      },
      {
        title: "Heartbeat",
        focus: "generation_id",
        say: "Every few seconds, at most session_timeout_ms apart, the member says it is alive. The answer's error code is how a member learns the group is rebalancing (REBALANCE_IN_PROGRESS) and it must join again.",
        build: (ctx) => ({ json: req(ctx, "Heartbeat", 4, { group_id: GROUP, generation_id: ctx.generation, member_id: ctx.memberId, group_instance_id: null }) }),
        expect: null,
      },
      {
        title: "OffsetCommit",
        focus: "committed_offset",
        say: "After processing, the consumer commits the next offset to read, with its generation and member id so a member evicted meanwhile cannot overwrite the new owner's progress. The coordinator writes it to __consumer_offsets.",
        build: (ctx) => ({ json: req(ctx, "OffsetCommit", 9, { group_id: GROUP, generation_id_or_member_epoch: ctx.generation, member_id: ctx.memberId, group_instance_id: null, topics: [{ name: TOPIC, partitions: [{ partition_index: 0, committed_offset: 2, committed_leader_epoch: -1, committed_metadata: null }] }] }) }),
        expect: null,
      },
      {
        title: "LeaveGroup",
        focus: "reason",
        say: "A consumer that closes says so, and the group rebalances at once instead of after the session timeout.",
        build: (ctx) => ({ json: req(ctx, "LeaveGroup", 5, { group_id: GROUP, members: [{ member_id: ctx.memberId, group_instance_id: null, reason: "the walkthrough is over" }] }) }),
        expect: null,
      },
    ],
  },
  {
    id: "batches",
    title: "Record batches",
    intro: "Records travel in batches: a fixed header (offsets, CRC, attributes, timestamps, producer id) and then the records, each a run of varints.",
    steps: [
      {
        title: "A topic to write to",
        focus: "allow_auto_topic_creation",
        say: `Metadata with auto-creation, so ${BATCH_TOPIC} exists.`,
        build: (ctx) => ({ json: metadata(ctx, BATCH_TOPIC) }),
        expect: null,
      },
      {
        title: "Two records, uncompressed",
        say: "Select a record in the tree: its length, timestamp and offset deltas, key and value lengths and header count are varints, zigzag-encoded (0 is 00, -1 is 01, 1 is 02), so small numbers take one byte and a null key is the single byte 01 (only the record's attributes byte is a plain int8). The batch's crc is CRC-32C (Castagnoli) of everything after it, from attributes to the last record: the explainer recomputes it and says whether it holds.",
        focus: "crc",
        build: (ctx) => ({ json: produce(ctx, BATCH_TOPIC, batch([{ timestamp_delta: 0, offset_delta: 0, key: null, value: "no key", headers: [] }, { timestamp_delta: 5, offset_delta: 1, key: "k", value: "with a header", headers: [{ key: "trace", value: "42" }] }])) }),
        expect: null,
      },
      {
        title: "The same records, zstd-compressed",
        say: "Compression is bits 0–2 of the batch's attributes (1 gzip, 2 snappy, 3 lz4, 4 zstd). Only the records are compressed; the header stays readable, so a broker can check the CRC and assign offsets without decompressing. The explainer decompresses them in the page: select the compressed records to see them in the second hex pane.",
        focus: "records (zstd-compressed)",
        build: (ctx) => ({ json: produce(ctx, BATCH_TOPIC, batch(records(["the same value again and again", "the same value again and again", "the same value again and again"], "z"), { compression: "zstd" })) }),
        expect: null,
      },
      {
        title: "A corrupted batch",
        say: "One byte of a record's value changed after the CRC was computed (as a bad network card or disk would): the leader recomputes CRC-32C, finds it does not match, and refuses the batch with CORRUPT_MESSAGE (2). The explainer marks the crc field as not matching.",
        focus: "crc",
        build: (ctx) => ({ json: produce(ctx, BATCH_TOPIC, batch(records(["intact"], "c"))), corrupt: "intact" }),
        expect: "CORRUPT_MESSAGE",
      },
    ],
  },
];

function fetch(ctx, offset, maxWait) {
  return req(ctx, "Fetch", 17, {
    cluster_id: null, replica_state: { replica_id: -1, replica_epoch: -1 }, max_wait_ms: maxWait, min_bytes: 1, max_bytes: 1048576,
    isolation_level: 0, session_id: 0, session_epoch: -1,
    topics: [{ topic_id: ctx.topicId || ZERO_ID, partitions: [{ partition: 0, current_leader_epoch: -1, fetch_offset: offset, last_fetched_epoch: -1, log_start_offset: -1, partition_max_bytes: 1048576, replica_directory_id: ZERO_ID }] }],
    forgotten_topics_data: [], rack_id: "",
  });
}

function join(ctx, memberId) {
  return req(ctx, "JoinGroup", 9, {
    group_id: GROUP, session_timeout_ms: 10000, rebalance_timeout_ms: 10000, member_id: memberId, group_instance_id: null,
    protocol_type: "consumer", protocols: [{ name: "range", metadata: subscription([TOPIC]) }], reason: null,
  });
}

/// The request bytes of step `step` and its API and version: encoded from
/// its JSON (or `json` text, an edit), then changed as the step says (a
/// version the broker does not know, a corrupted byte).
export function buildRequest(wasm, step, ctx, edited) {
  const built = step.build(ctx);
  let bytes;
  if (edited !== undefined) bytes = edited instanceof Uint8Array ? edited : wasm.fromJson(edited);
  else if (built.bytes) bytes = built.bytes;
  else bytes = wasm.fromJson(JSON.stringify(built.json));
  bytes = Uint8Array.from(bytes);
  const view = new DataView(bytes.buffer);
  if (edited === undefined && built.patchVersion !== undefined) view.setInt16(6, built.patchVersion);
  if (edited === undefined && built.corrupt) {
    const needle = new TextEncoder().encode(built.corrupt);
    const at = indexOf(bytes, needle);
    bytes[at] ^= 0x20; // "intact" becomes "Intact": the CRC no longer holds
  }
  return { bytes, apiKey: view.getInt16(4), version: view.getInt16(6), json: built.json };
}

function indexOf(hay, needle) {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/// The nonzero error codes in an annotated response, by name (their notes
/// start with Kafka's name for the code).
export function errorNames(ann) {
  const out = [];
  for (let i = 0; i < ann.count; i++) {
    const s = ann.node(i);
    if (/error_code$/.test(s.name) && s.value !== undefined && Number(s.value) !== 0) {
      out.push(s.note ? s.note.split(/[ :]/)[0] : `error ${s.value}`);
    }
  }
  return [...new Set(out)];
}

/// Whether the errors of an answer are what the step expects.
export function meets(expect, errors) {
  const wants = Array.isArray(expect) ? expect : [expect];
  return wants.some((w) => (w === null ? errors.length === 0 : errors.length === 1 && errors[0] === w));
}

export const describeExpect = (expect) => (Array.isArray(expect) ? expect : [expect]).map((w) => w || "no error").join(" or ");

/// Sends step `i` of walkthrough `wt` (or an edit of its request: JSON
/// text or bytes) and returns the exchange: {walkthrough, step, title,
/// api, apiKey, version, respVersion, request, response (null when the
/// broker closed the connection or did not answer), closed, errors, ok,
/// latencyMs, at}. Keeps what later steps need in `ctx`.
export async function runStep(env, wt, i, ctx, edited) {
  const { wasm, send } = env;
  const step = wt.steps[i];
  const at = Date.now();
  const r = buildRequest(wasm, step, ctx, edited);
  const api = wasm.apis().find((a) => a.key === r.apiKey);
  const ex = {
    walkthrough: wt.id, step: i, title: step.title, api: api ? api.name : `api ${r.apiKey}`, apiKey: r.apiKey,
    version: r.version, respVersion: step.respVersion ?? r.version, request: r.bytes, response: null, closed: null,
    errors: [], ok: false, latencyMs: 0, at,
  };
  const t0 = performance.now();
  try {
    ex.response = await send(r.bytes);
  } catch (e) {
    ex.closed = e.message || String(e);
  }
  ex.latencyMs = Math.round((performance.now() - t0) * 10) / 10;
  if (ex.response) {
    const opts = { direction: "response", apiKey: r.apiKey, apiVersion: ex.respVersion, sizePrefix: "present" };
    const ann = wasm.annotate(ex.response, opts);
    ex.errors = errorNames(ann);
    ann.free();
    ex.ok = meets(step.expect, ex.errors);
    if (step.keep && ex.errors.length <= 1) {
      try { step.keep(ctx, JSON.parse(wasm.toJson(ex.response, opts)).body); } catch { /* a later step will say what is missing */ }
    }
  }
  return ex;
}
