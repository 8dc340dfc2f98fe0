//! Kafka's example file connectors, `FileStreamSource` and
//! `FileStreamSink` (`org.apache.kafka.connect.file`).
//!
//! The source tails `file`: each complete line (ended by `\n`, `\r\n` or
//! `\r`) becomes a record of `topic` with a `STRING` value and no key;
//! lines appended later arrive too. Its source partition is
//! `{"filename":FILE}` and its offset `{"position":BYTES}` (the byte
//! position after the line), as Kafka's, so that a restart resumes after
//! the last flushed line. A line not yet ended waits for its end. A file
//! that does not exist yet is waited for.
//!
//! The sink appends each record's value, as text, as a line of `file`,
//! and makes the lines durable (to the operating system) on `flush`.
//! Both run one task, as Kafka's do, whatever `tasks.max` says.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;

use super::convert::display;
use super::data::{Schema, SchemaAndValue, Value};
use super::task::{
    OffsetReader, Plugin, Props, PutOutcome, SinkRecord, SinkTask, SourceOffset, SourcePartition,
    SourceRecord, SourceTask, TaskError,
};

/// How long `poll` waits when the file has nothing new (Kafka's: 1 s).
const IDLE: Duration = Duration::from_millis(200);

/// `FileStreamSource`.
pub(crate) const SOURCE: Plugin = Plugin::Source {
    task_configs: source_configs,
    task: || Box::new(FileSource::default()),
};

/// `FileStreamSink`.
pub(crate) const SINK: Plugin = Plugin::Sink {
    task_configs: sink_configs,
    task: || Box::new(FileSink::default()),
};

/// The source's one task config: `file`, `topic`, `batch.size`.
fn source_configs(props: &Props, _max: usize) -> anyhow::Result<Vec<Props>> {
    let topic = props
        .get("topic")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow!("FileStreamSource needs `topic`"))?;
    if topic.contains(',') {
        return Err(anyhow!(
            "FileStreamSource writes to one topic; `topic` is `{topic}`"
        ));
    }
    if !props.contains_key("file") {
        return Err(anyhow!(
            "FileStreamSource needs `file` (stdin is not read by spate)"
        ));
    }
    if let Some(b) = props.get("batch.size") {
        b.trim()
            .parse::<usize>()
            .map_err(|_| anyhow!("batch.size `{b}` is not a number"))?;
    }
    Ok(vec![props.clone()])
}

/// The sink's one task config.
fn sink_configs(props: &Props, _max: usize) -> anyhow::Result<Vec<Props>> {
    if !props.contains_key("file") {
        return Err(anyhow!(
            "FileStreamSink needs `file` (stdout is not written by spate)"
        ));
    }
    Ok(vec![props.clone()])
}

/// A running `FileStreamSource` task.
#[derive(Default)]
pub(crate) struct FileSource {
    /// The file's path as configured.
    filename: String,
    /// The topic.
    topic: String,
    /// Lines per poll at most (`batch.size`, default 2000).
    batch: usize,
    /// The open file, once it exists.
    file: Option<File>,
    /// Read but not yet returned bytes (a line not ended yet).
    pending: Vec<u8>,
    /// The byte position just after `pending`'s start.
    position: u64,
}

impl FileSource {
    /// The source partition of this file.
    fn partition(&self) -> SourcePartition {
        let mut p = SourcePartition::new();
        p.insert("filename".into(), self.filename.clone().into());
        p
    }

    /// Opens the file at `position` when it exists.
    fn open(&mut self) -> Result<bool, TaskError> {
        if self.file.is_some() {
            return Ok(true);
        }
        match File::open(PathBuf::from(&self.filename)) {
            Ok(mut f) => {
                f.seek(SeekFrom::Start(self.position))
                    .map_err(|e| TaskError::Fatal(anyhow!("seeking in {}: {e}", self.filename)))?;
                self.file = Some(f);
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(TaskError::Fatal(anyhow!("opening {}: {e}", self.filename))),
        }
    }
}

impl SourceTask for FileSource {
    fn start(&mut self, props: &Props, offsets: &dyn OffsetReader) -> Result<(), TaskError> {
        self.filename = props.get("file").cloned().unwrap_or_default();
        self.topic = props
            .get("topic")
            .map(|t| t.trim().to_string())
            .unwrap_or_default();
        self.batch = props
            .get("batch.size")
            .and_then(|b| b.trim().parse().ok())
            .unwrap_or(2000);
        self.position = offsets
            .offset(&self.partition())
            .and_then(|o| o.get("position").and_then(serde_json::Value::as_u64))
            .unwrap_or(0);
        self.open()?;
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        if !self.open()? {
            std::thread::sleep(IDLE);
            return Ok(Vec::new());
        }
        let mut buf = [0u8; 64 * 1024];
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| TaskError::Fatal(anyhow!("no file")))?;
        let n = file
            .read(&mut buf)
            .map_err(|e| TaskError::Retriable(anyhow!("reading {}: {e}", self.filename)))?;
        self.pending.extend_from_slice(&buf[..n]);
        let mut records = Vec::new();
        let partition = self.partition();
        while records.len() < self.batch {
            let Some(end) = self.pending.iter().position(|&b| b == b'\n' || b == b'\r') else {
                break;
            };
            let mut used = end + 1;
            if self.pending[end] == b'\r' {
                match self.pending.get(end + 1) {
                    Some(b'\n') => used += 1,
                    // A `\r` at the end may be the first half of `\r\n`.
                    None if n > 0 => break,
                    _ => {}
                }
            }
            let line = String::from_utf8_lossy(&self.pending[..end]).into_owned();
            self.pending.drain(..used);
            self.position += used as u64;
            let mut offset = SourceOffset::new();
            offset.insert("position".into(), self.position.into());
            records.push(SourceRecord {
                source_partition: partition.clone(),
                source_offset: offset,
                topic: self.topic.clone(),
                partition: None,
                key: SchemaAndValue::null(),
                value: SchemaAndValue {
                    schema: Some(Schema::string()),
                    value: Value::String(line),
                },
                timestamp: None,
                headers: Vec::new(),
            });
        }
        if records.is_empty() && n == 0 {
            std::thread::sleep(IDLE);
        }
        Ok(records)
    }

    fn stop(&mut self) {
        self.file = None;
    }
}

/// A running `FileStreamSink` task.
#[derive(Default)]
pub(crate) struct FileSink {
    /// The file, appended to.
    out: Option<BufWriter<File>>,
}

impl SinkTask for FileSink {
    fn start(&mut self, props: &Props) -> Result<(), TaskError> {
        let path = props.get("file").cloned().unwrap_or_default();
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| TaskError::Fatal(anyhow!("opening {path}: {e}")))?;
        self.out = Some(BufWriter::new(f));
        Ok(())
    }

    fn put(&mut self, records: &[SinkRecord]) -> Result<PutOutcome, TaskError> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| TaskError::Fatal(anyhow!("not started")))?;
        for r in records {
            let line = display(&r.value.value);
            writeln!(out, "{line}")
                .map_err(|e| TaskError::Retriable(anyhow!("writing the sink file: {e}")))?;
        }
        Ok(PutOutcome::default())
    }

    fn flush(&mut self) -> Result<(), TaskError> {
        if let Some(out) = self.out.as_mut() {
            out.flush()
                .map_err(|e| TaskError::Retriable(anyhow!("flushing the sink file: {e}")))?;
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut out) = self.out.take() {
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Stored(Option<u64>);
    impl OffsetReader for Stored {
        fn offset(&self, _p: &SourcePartition) -> Option<SourceOffset> {
            let mut o = SourceOffset::new();
            o.insert("position".into(), self.0?.into());
            Some(o)
        }
    }

    fn lines(records: &[SourceRecord]) -> Vec<(String, u64)> {
        records
            .iter()
            .map(|r| {
                let Value::String(s) = &r.value.value else {
                    panic!("not a string")
                };
                (s.clone(), r.source_offset["position"].as_u64().unwrap())
            })
            .collect()
    }

    #[test]
    fn source_tails_and_resumes() {
        let dir = std::env::temp_dir().join(format!("spate-file-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("test.txt");
        std::fs::write(&path, "foo\r\nbar\npartial").unwrap();
        let props: Props = [
            ("file".to_string(), path.to_string_lossy().into_owned()),
            ("topic".to_string(), "connect-test".to_string()),
        ]
        .into_iter()
        .collect();
        let mut task = FileSource::default();
        task.start(&props, &Stored(None)).unwrap();
        let got = task.poll().unwrap();
        assert_eq!(lines(&got), [("foo".into(), 5), ("bar".into(), 9)]);
        assert_eq!(
            got[0].source_partition["filename"],
            path.to_string_lossy().as_ref()
        );
        assert_eq!(got[0].topic, "connect-test");
        assert!(task.poll().unwrap().is_empty());
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b" line\nlast\n").unwrap();
        assert_eq!(
            lines(&task.poll().unwrap()),
            [("partial line".into(), 22), ("last".into(), 27)]
        );
        task.stop();

        let mut again = FileSource::default();
        again.start(&props, &Stored(Some(9))).unwrap();
        assert_eq!(
            lines(&again.poll().unwrap()),
            [("partial line".into(), 22), ("last".into(), 27)]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn configs_are_checked() {
        let p = |kv: &[(&str, &str)]| -> Props {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(source_configs(&p(&[("file", "a")]), 1).is_err());
        assert!(source_configs(&p(&[("file", "a"), ("topic", "a,b")]), 1).is_err());
        assert_eq!(
            source_configs(&p(&[("file", "a"), ("topic", "t")]), 4)
                .unwrap()
                .len(),
            1
        );
        assert!(sink_configs(&p(&[("topics", "t")]), 1).is_err());
    }
}
