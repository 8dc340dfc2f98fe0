//! The small text files of a Kafka log directory.
//!
//! # Format
//!
//! ```text
//! meta.properties                     recovery-point-offset-checkpoint,
//!   #                                 log-start-offset-checkpoint
//!   #Written by Spate                   0                  version
//!   cluster.id=<base64 uuid>            2                  entry count
//!   directory.id=<base64 uuid>          orders 0 42        topic partition offset
//!   node.id=1                           orders 1 7
//!   version=1
//!
//! <topic>-<partition>/partition.metadata
//!   version: 0
//!   topic_id: <base64 uuid>
//! ```
//!
//! Uuids are written the way Kafka prints them: URL-safe base64, no padding.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use spate_core::protocol::Uuid;
use spate_core::storage::TopicPartition;

use super::error::{invalid, At, FileError};

/// Writes `bytes` to `path` so that a crash leaves the old file or the new
/// one: a temporary file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let mut f = File::create(tmp).at(tmp)?;
    f.write_all(bytes).at(tmp)?;
    f.sync_all().at(tmp)?;
    fs::rename(tmp, path).at(path)?;
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Makes the directory's entries (created, renamed, removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    File::open(dir).and_then(|d| d.sync_all()).at(dir)?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The file's text, `None` if it does not exist.
fn read_text(path: &Path) -> Result<Option<String>, FileError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

/// Kafka's offset checkpoint file text.
pub(crate) fn encode_checkpoint(entries: &BTreeMap<TopicPartition, i64>) -> String {
    let mut s = format!("0\n{}\n", entries.len());
    for (tp, off) in entries {
        s.push_str(&format!("{} {} {off}\n", tp.topic, tp.partition));
    }
    s
}

/// Reads an offset checkpoint file; `None` if there is none.
pub(crate) fn read_checkpoint(
    path: &Path,
) -> Result<Option<BTreeMap<TopicPartition, i64>>, FileError> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    let bad = |what: &str| invalid(path, format!("malformed checkpoint file: {what}"));
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some("0") {
        return Err(bad("version is not 0"));
    }
    let count: usize = lines
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| bad("no entry count"))?;
    let mut out = BTreeMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [topic, partition, offset] = parts[..] else {
            return Err(bad(line));
        };
        let (Ok(partition), Ok(offset)) = (partition.parse(), offset.parse()) else {
            return Err(bad(line));
        };
        out.insert(TopicPartition::new(topic, partition), offset);
    }
    if out.len() != count {
        return Err(bad("entry count does not match the entries"));
    }
    Ok(Some(out))
}

/// `meta.properties`: who this log directory belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaProperties {
    /// `version` (1 for KRaft).
    pub version: i32,
    /// `node.id`.
    pub node_id: i32,
    /// `cluster.id`.
    pub cluster_id: String,
    /// `directory.id` (absent in files written before Kafka 3.7).
    pub directory_id: Option<Uuid>,
}

impl MetaProperties {
    /// Java properties text, keys sorted.
    pub(crate) fn encode(&self) -> String {
        let mut s = String::from("#\n#Written by Spate\n");
        s.push_str(&format!("cluster.id={}\n", self.cluster_id));
        if let Some(d) = self.directory_id {
            s.push_str(&format!("directory.id={d}\n"));
        }
        s.push_str(&format!(
            "node.id={}\nversion={}\n",
            self.node_id, self.version
        ));
        s
    }

    /// Parses Java properties text (`key=value` or `key: value`, `#` and
    /// `!` comments).
    pub(crate) fn parse(path: &Path, text: &str) -> Result<MetaProperties, FileError> {
        let mut props = BTreeMap::new();
        for line in text.lines().map(str::trim_start) {
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let at = line.find(['=', ':']).unwrap_or(line.len());
            let (k, v) = line.split_at(at);
            let v = v.get(1..).unwrap_or_default();
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        let get = |k: &str| props.get(k).ok_or_else(|| invalid(path, format!("no {k}")));
        let num = |k: &str| {
            get(k)?
                .parse::<i32>()
                .map_err(|_| invalid(path, format!("{k} is not a number")))
        };
        let directory_id = match props.get("directory.id") {
            Some(d) => Some(parse_uuid(d).ok_or_else(|| invalid(path, "bad directory.id"))?),
            None => None,
        };
        Ok(MetaProperties {
            version: num("version")?,
            node_id: num("node.id")?,
            cluster_id: get("cluster.id")?.clone(),
            directory_id,
        })
    }

    /// Reads the directory's `meta.properties`, if it has one, and
    /// changes nothing.
    pub fn peek(dir: &Path) -> io::Result<Option<MetaProperties>> {
        let path = dir.join("meta.properties");
        match read_text(&path)? {
            Some(text) => Ok(Some(MetaProperties::parse(&path, &text)?)),
            None => Ok(None),
        }
    }

    /// Reads the directory's `meta.properties`, or writes one for
    /// `node_id` and `cluster_id` (a random cluster id if none) with a
    /// random directory id. An existing file is kept as it is, but must be
    /// for the same node.
    pub(crate) fn load_or_create(
        dir: &Path,
        node_id: i32,
        cluster_id: Option<&str>,
    ) -> Result<MetaProperties, FileError> {
        let path = dir.join("meta.properties");
        if let Some(text) = read_text(&path)? {
            let meta = MetaProperties::parse(&path, &text)?;
            if meta.node_id != node_id {
                return Err(invalid(
                    &path,
                    format!("node.id {} is stored, not {node_id}", meta.node_id),
                ));
            }
            return Ok(meta);
        }
        let meta = MetaProperties {
            version: 1,
            node_id,
            cluster_id: cluster_id.map_or_else(|| random_uuid().to_string(), str::to_string),
            directory_id: Some(random_uuid()),
        };
        write_atomic(&path, meta.encode().as_bytes())?;
        Ok(meta)
    }
}

/// `partition.metadata` text.
pub(crate) fn encode_partition_metadata(topic_id: Uuid) -> String {
    format!("version: 0\ntopic_id: {topic_id}\n")
}

/// The topic id in a `partition.metadata` file, `None` if there is none.
pub(crate) fn read_partition_metadata(path: &Path) -> Result<Option<Uuid>, FileError> {
    let Some(text) = read_text(path)? else {
        return Ok(None);
    };
    let mut id = None;
    for line in text.lines() {
        match line.split_once(':').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("version", "0")) => {}
            Some(("version", v)) => return Err(invalid(path, format!("version {v}"))),
            Some(("topic_id", v)) => id = parse_uuid(v),
            _ => {}
        }
    }
    id.map(Some).ok_or_else(|| invalid(path, "no topic_id"))
}

/// Parses Kafka's printed form of a uuid (URL-safe base64, 22 characters).
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim().trim_end_matches('='))
        .ok()?;
    Some(Uuid(bytes.try_into().ok()?))
}

/// A random version 4 uuid that Kafka would accept as an id (not zero,
/// its printed form not starting with `-`). The randomness is std's
/// per-process hash keys, mixed with the time.
pub(crate) fn random_uuid() -> Uuid {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now();
        let seed = (now, std::process::id(), n);
        let a = std::hash::RandomState::new().hash_one(seed);
        let b = std::hash::RandomState::new().hash_one((seed, a));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let id = Uuid(bytes);
        if id != Uuid::ZERO && !id.to_string().starts_with('-') {
            return id;
        }
    }
}

/// The log of a directory named `<topic>-<partition>` (topic names may
/// hold `-` and `.`, so the partition follows the last `-`). Kafka's
/// `-delete`, `-future` and `-stray` directories are not logs.
pub(crate) fn parse_log_dir_name(name: &str) -> Option<TopicPartition> {
    let (topic, partition) = name.rsplit_once('-')?;
    let partition: i32 = partition.parse().ok()?;
    let digits = name.len() - topic.len() - 1;
    let canonical = digits == partition.to_string().len();
    (!topic.is_empty() && partition >= 0 && canonical)
        .then(|| TopicPartition::new(topic, partition))
}
