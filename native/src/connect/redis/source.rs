//! `RedisSourceConnector`'s task: a Redis stream ([`super::stream`]) or
//! list ([`super::list`]) into a Kafka topic, without losing an entry.
//!
//! Redis keeps what has been delivered but not yet acknowledged (a
//! stream's pending entries list, a task's processing list), so the
//! task needs no source offsets of its own: it acknowledges an entry in
//! `commit_record`, once the broker has the record, and after a crash,
//! or a broken connection, whatever is still unacknowledged is delivered
//! again before anything new (at least once).

use anyhow::anyhow;

use super::config::{SourceConfig, SourceKind};
use super::conn::{is_retriable, Conn};
use super::list::ListReader;
use super::stream::StreamReader;
use crate::connect::task::{OffsetReader, Props, RecordAck, SourceRecord, SourceTask, TaskError};

/// The Redis source task.
#[derive(Default)]
pub(crate) struct RedisSourceTask {
    state: Option<Source>,
}

/// A started source task.
struct Source {
    conn: Conn,
    reader: Reader,
}

/// What the task reads.
enum Reader {
    Stream(StreamReader),
    List(ListReader),
}

impl RedisSourceTask {
    fn source(&mut self) -> Result<&mut Source, TaskError> {
        self.state
            .as_mut()
            .ok_or_else(|| TaskError::Fatal(anyhow!("the Redis source task was not started")))
    }
}

impl SourceTask for RedisSourceTask {
    fn start(&mut self, props: &Props, _offsets: &dyn OffsetReader) -> Result<(), TaskError> {
        let cfg = SourceConfig::parse(props).map_err(TaskError::Fatal)?;
        let mut conn = Conn::new(&cfg.uri)?;
        let reader = match &cfg.kind {
            SourceKind::Stream { .. } => {
                let mut r = StreamReader::new(&cfg);
                r.start(&mut conn)?;
                Reader::Stream(r)
            }
            SourceKind::List { .. } => Reader::List(ListReader::new(&cfg)),
        };
        self.state = Some(Source { conn, reader });
        Ok(())
    }

    fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        let s = self.source()?;
        let polled = match &mut s.reader {
            Reader::Stream(r) => r.poll(&mut s.conn),
            Reader::List(r) => r.poll(&mut s.conn),
        };
        if polled.as_ref().is_err_and(is_retriable) {
            s.resync();
        }
        polled
    }

    fn commit_record(&mut self, record: &SourceRecord, _ack: RecordAck) -> Result<(), TaskError> {
        let s = self.source()?;
        let done = match &mut s.reader {
            Reader::Stream(r) => r.ack(&mut s.conn, record),
            Reader::List(r) => r.ack(&mut s.conn, record),
        };
        if done.as_ref().is_err_and(is_retriable) {
            s.resync();
        }
        done
    }

    fn commit_records(&mut self, acked: &[(&SourceRecord, RecordAck)]) -> Result<(), TaskError> {
        let s = self.source()?;
        let done = match &mut s.reader {
            // One XACK for the batch: a round trip per record bounded
            // the stream source's rate.
            Reader::Stream(r) => {
                let records: Vec<&SourceRecord> = acked.iter().map(|(r, _)| *r).collect();
                r.ack_all(&mut s.conn, &records)
            }
            Reader::List(r) => acked
                .iter()
                .try_for_each(|(record, _)| r.ack(&mut s.conn, record)),
        };
        if done.as_ref().is_err_and(is_retriable) {
            s.resync();
        }
        done
    }

    fn stop(&mut self) {
        self.state = None;
    }
}

impl Source {
    /// After a broken connection: a reply may have been lost with
    /// entries in it, now pending in Redis; read the pending ones again.
    fn resync(&mut self) {
        match &mut self.reader {
            Reader::Stream(r) => r.resync(),
            Reader::List(r) => r.resync(),
        }
    }
}
