//! The standalone worker's source offset file
//! (`offset.storage.file.filename`), in Kafka's own format so that the
//! file moves between Kafka's worker and this one.
//!
//! Kafka's `FileOffsetBackingStore` writes one Java-serialized
//! `java.util.HashMap<byte[], byte[]>`: each key is the JSON
//! `["CONNECTOR",{PARTITION}]` and each value the JSON offset
//! (`{"position":120}`), both as its schemaless `JsonConverter` writes
//! them. This module writes that stream by hand (the `HashMap` class
//! descriptor with its `loadFactor` and `threshold` fields, the bucket
//! count and size as block data, then the arrays, the first with the `[B`
//! class descriptor and the rest referring back to it) and reads it back.
//! The file is replaced atomically (a temporary file, then a rename), so a
//! worker killed while flushing leaves the previous offsets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};

use super::task::{OffsetReader, SourceOffset, SourcePartition};

/// `java.util.HashMap`'s serialVersionUID.
const HASHMAP_UID: u64 = 362_498_820_763_181_265;
/// `byte[]`'s serialVersionUID.
const BYTES_UID: u64 = 0xacf3_17f8_0608_54e0;

/// The offsets of every source connector of the worker.
#[derive(Debug, Default)]
pub(crate) struct OffsetStore {
    /// Where they are kept.
    path: PathBuf,
    /// Raw key (JSON) to raw value (JSON, or null).
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// The key of `connector`'s `partition`.
fn key(connector: &str, partition: &SourcePartition) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!([connector, partition])).unwrap_or_default()
}

impl OffsetStore {
    /// The offsets in `path`; none when it does not exist yet.
    pub(crate) fn load(path: &Path) -> anyhow::Result<OffsetStore> {
        let entries = match std::fs::read(path) {
            Ok(bytes) => decode(&bytes).with_context(|| format!("reading {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(OffsetStore {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The stored offset of `connector`'s `partition`.
    pub(crate) fn get(&self, connector: &str, partition: &SourcePartition) -> Option<SourceOffset> {
        let raw = self.entries.get(&key(connector, partition))?.as_ref()?;
        match serde_json::from_slice(raw) {
            Ok(serde_json::Value::Object(o)) => Some(o),
            _ => None,
        }
    }

    /// Sets offsets (in memory; [`OffsetStore::flush`] writes them).
    pub(crate) fn set(
        &mut self,
        connector: &str,
        partition: &SourcePartition,
        offset: &SourceOffset,
    ) {
        let value = serde_json::to_vec(offset).unwrap_or_default();
        self.entries.insert(key(connector, partition), Some(value));
    }

    /// Writes every offset to the file, atomically.
    pub(crate) fn flush(&self) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, encode(&self.entries))
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), self.path.display()))
    }

    /// A reader of `connector`'s offsets, for its tasks' `start`.
    pub(crate) fn reader<'a>(&'a self, connector: &'a str) -> impl OffsetReader + 'a {
        ConnectorOffsets {
            store: self,
            connector,
        }
    }
}

/// One connector's view of the store.
struct ConnectorOffsets<'a> {
    /// The store.
    store: &'a OffsetStore,
    /// The connector.
    connector: &'a str,
}

impl OffsetReader for ConnectorOffsets<'_> {
    fn offset(&self, partition: &SourcePartition) -> Option<SourceOffset> {
        self.store.get(self.connector, partition)
    }
}

/// Java's modified UTF-8 string with its 2-byte length (ASCII here).
fn put_utf(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The serialized `HashMap<byte[], byte[]>` of `entries`.
fn encode(entries: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Vec<u8> {
    let mut out = vec![0xac, 0xed, 0x00, 0x05, 0x73, 0x72];
    put_utf(&mut out, "java.util.HashMap");
    out.extend_from_slice(&HASHMAP_UID.to_be_bytes());
    out.push(0x03); // SC_WRITE_METHOD | SC_SERIALIZABLE
    out.extend_from_slice(&2u16.to_be_bytes());
    out.push(b'F');
    put_utf(&mut out, "loadFactor");
    out.push(b'I');
    put_utf(&mut out, "threshold");
    out.extend_from_slice(&[0x78, 0x70]); // end of annotations, no superclass
                                          // As a HashMap filled by put: 16 buckets, doubled past 3/4 full.
    let size = entries.len();
    let mut capacity = 16usize;
    while size > capacity * 3 / 4 {
        capacity *= 2;
    }
    let threshold = if size == 0 { 0 } else { capacity * 3 / 4 };
    out.extend_from_slice(&0.75f32.to_be_bytes());
    out.extend_from_slice(&(threshold as i32).to_be_bytes());
    out.extend_from_slice(&[0x77, 0x08]);
    out.extend_from_slice(&(capacity as i32).to_be_bytes());
    out.extend_from_slice(&(size as i32).to_be_bytes());
    let mut described = false;
    let mut array = |out: &mut Vec<u8>, bytes: Option<&Vec<u8>>| {
        let Some(bytes) = bytes else {
            out.push(0x70);
            return;
        };
        out.push(0x75);
        if described {
            // The `[B` descriptor is handle 2 (after the HashMap's
            // descriptor and the map itself).
            out.extend_from_slice(&[0x71, 0x00, 0x7e, 0x00, 0x02]);
        } else {
            out.push(0x72);
            put_utf(out, "[B");
            out.extend_from_slice(&BYTES_UID.to_be_bytes());
            out.extend_from_slice(&[0x02, 0x00, 0x00, 0x78, 0x70]);
            described = true;
        }
        out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        out.extend_from_slice(bytes);
    };
    for (k, v) in entries {
        array(&mut out, Some(k));
        array(&mut out, v.as_ref());
    }
    out.push(0x78);
    out
}

/// A cursor over a serialized stream.
struct Reader<'a> {
    /// The bytes.
    buf: &'a [u8],
    /// The position.
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> anyhow::Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| anyhow!("the offset file ends early"))?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> anyhow::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> anyhow::Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self) -> anyhow::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn utf(&mut self) -> anyhow::Result<String> {
        let n = self.u16()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    /// A class descriptor (TC_CLASSDESC, after its tag) up to its
    /// superclass; returns its name.
    fn class_desc(&mut self) -> anyhow::Result<String> {
        let name = self.utf()?;
        self.take(8)?; // serialVersionUID
        self.u8()?; // flags
        for _ in 0..self.u16()? {
            let kind = self.u8()?;
            self.utf()?;
            if kind == b'L' || kind == b'[' {
                bail!("class {name} has an object field; not a HashMap<byte[], byte[]>");
            }
        }
        if self.u8()? != 0x78 {
            bail!("class annotations in the offset file are not supported");
        }
        if self.u8()? != 0x70 {
            bail!("class {name} has a serializable superclass; not a HashMap");
        }
        Ok(name)
    }
    /// A `byte[]` or null.
    fn array(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        match self.u8()? {
            0x70 => return Ok(None),
            0x75 => {}
            t => bail!("expected a byte array in the offset file, found tag {t:#x}"),
        }
        match self.u8()? {
            0x72 => {
                let name = self.class_desc()?;
                if name != "[B" {
                    bail!("expected byte[] in the offset file, found {name}");
                }
            }
            0x71 => {
                self.take(4)?;
            }
            t => bail!("expected a class descriptor, found tag {t:#x}"),
        }
        let n = usize::try_from(self.i32()?).map_err(|_| anyhow!("a negative array length"))?;
        Ok(Some(self.take(n)?.to_vec()))
    }
}

/// The entries of a serialized `HashMap<byte[], byte[]>`.
fn decode(buf: &[u8]) -> anyhow::Result<BTreeMap<Vec<u8>, Option<Vec<u8>>>> {
    let mut r = Reader { buf, at: 0 };
    if r.take(4)? != [0xac, 0xed, 0x00, 0x05] {
        bail!("not a Java serialization stream (Kafka's offset file format)");
    }
    if r.u8()? != 0x73 || r.u8()? != 0x72 {
        bail!("the offset file does not hold an object");
    }
    let name = r.class_desc()?;
    if name != "java.util.HashMap" {
        bail!("the offset file holds a {name}, not a java.util.HashMap");
    }
    r.take(8)?; // loadFactor, threshold
    if r.u8()? != 0x77 || r.u8()? != 8 {
        bail!("the offset file's HashMap has no size block");
    }
    r.i32()?; // buckets
    let size = r.i32()?;
    let mut out = BTreeMap::new();
    for _ in 0..size {
        let k = r.array()?;
        let v = r.array()?;
        if let Some(k) = k {
            out.insert(k, v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(name: &str) -> SourcePartition {
        let mut p = SourcePartition::new();
        p.insert("filename".into(), name.into());
        p
    }

    #[test]
    fn offsets_survive_a_flush_and_load() {
        let dir = std::env::temp_dir().join(format!("spate-offsets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("connect.offsets");
        let mut store = OffsetStore::load(&path).unwrap();
        assert_eq!(store.get("src", &partition("a")), None);
        for i in 0..20 {
            let mut o = SourceOffset::new();
            o.insert("position".into(), (i * 10).into());
            store.set("src", &partition(&format!("f{i}")), &o);
        }
        store.flush().unwrap();
        let back = OffsetStore::load(&path).unwrap();
        assert_eq!(back.entries, store.entries);
        let o = back.reader("src").offset(&partition("f3")).unwrap();
        assert_eq!(o["position"], 30);
        assert_eq!(back.reader("other").offset(&partition("f3")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_stream_is_javas() {
        // One entry, as ObjectOutputStream writes new HashMap<>() with
        // put(b"k", b"v"): 16 buckets, threshold 12.
        let mut entries = BTreeMap::new();
        entries.insert(b"k".to_vec(), Some(b"v".to_vec()));
        let mut want = vec![0xac, 0xed, 0, 5, 0x73, 0x72, 0, 17];
        want.extend_from_slice(b"java.util.HashMap");
        want.extend_from_slice(&[0x05, 0x07, 0xda, 0xc1, 0xc3, 0x16, 0x60, 0xd1, 3, 0, 2]);
        want.extend_from_slice(b"F\x00\x0aloadFactorI\x00\x09threshold\x78\x70");
        want.extend_from_slice(&[
            0x3f, 0x40, 0, 0, 0, 0, 0, 12, 0x77, 8, 0, 0, 0, 16, 0, 0, 0, 1,
        ]);
        want.extend_from_slice(b"\x75\x72\x00\x02[B");
        want.extend_from_slice(&[
            0xac, 0xf3, 0x17, 0xf8, 0x06, 0x08, 0x54, 0xe0, 2, 0, 0, 0x78, 0x70,
        ]);
        want.extend_from_slice(&[0, 0, 0, 1, b'k']);
        want.extend_from_slice(&[0x75, 0x71, 0, 0x7e, 0, 2, 0, 0, 0, 1, b'v', 0x78]);
        assert_eq!(encode(&entries), want);
        assert_eq!(decode(&want).unwrap(), entries);
        assert!(decode(b"{}").is_err());
    }

    #[test]
    fn keys_are_kafkas_json() {
        assert_eq!(
            key("local-file-source", &partition("test.txt")),
            br#"["local-file-source",{"filename":"test.txt"}]"#
        );
    }

    #[test]
    fn reads_what_java_writes() {
        // ObjectOutputStream.writeObject of a HashMap<byte[], byte[]> with
        // two offsets, as Kafka's FileOffsetBackingStore saves them
        // (written by a JDK 17).
        let java: Vec<u8> = [
            &b"\xac\xed\x00\x05\x73\x72\x00\x11\x6a\x61\x76\x61\x2e\x75\x74\x69\x6c\x2e\x48\x61\x73\x68\x4d\x61"[..],
            &b"\x70\x05\x07\xda\xc1\xc3\x16\x60\xd1\x03\x00\x02\x46\x00\x0a\x6c\x6f\x61\x64\x46\x61\x63\x74\x6f"[..],
            &b"\x72\x49\x00\x09\x74\x68\x72\x65\x73\x68\x6f\x6c\x64\x78\x70\x3f\x40\x00\x00\x00\x00\x00\x0c\x77"[..],
            &b"\x08\x00\x00\x00\x10\x00\x00\x00\x02\x75\x72\x00\x02\x5b\x42\xac\xf3\x17\xf8\x06\x08\x54\xe0\x02"[..],
            &b"\x00\x00\x78\x70\x00\x00\x00\x16\x5b\x22\x78\x22\x2c\x7b\x22\x66\x69\x6c\x65\x6e\x61\x6d\x65\x22"[..],
            &b"\x3a\x22\x61\x22\x7d\x5d\x75\x71\x00\x7e\x00\x02\x00\x00\x00\x0e\x7b\x22\x70\x6f\x73\x69\x74\x69"[..],
            &b"\x6f\x6e\x22\x3a\x37\x7d\x75\x71\x00\x7e\x00\x02\x00\x00\x00\x16\x5b\x22\x79\x22\x2c\x7b\x22\x66"[..],
            &b"\x69\x6c\x65\x6e\x61\x6d\x65\x22\x3a\x22\x62\x22\x7d\x5d\x75\x71\x00\x7e\x00\x02\x00\x00\x00\x0e"[..],
            &b"\x7b\x22\x70\x6f\x73\x69\x74\x69\x6f\x6e\x22\x3a\x39\x7d\x78"[..],
        ]
        .concat();
        let entries = decode(&java).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[&br#"["x",{"filename":"a"}]"#.to_vec()].as_deref(),
            Some(&br#"{"position":7}"#[..])
        );
        // And this module writes the same bytes for the same map.
        assert_eq!(encode(&entries), java);
    }
}
