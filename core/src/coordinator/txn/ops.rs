//! What each request (and each timeout) does to a transactional id, as
//! Kafka 4.1's `TransactionCoordinator` decides it. Every operation reads
//! the current metadata and returns a [`Plan`] of the writes and markers
//! that carry it out; nothing changes until they are done.
//!
//! Transaction version 1 (clients that add partitions with
//! AddPartitionsToTxn and end with EndTxn v0-4) keeps the epoch for the
//! producer's life; version 2 (KIP-890 part 2: Produce v12+ and
//! TxnOffsetCommit v5 add partitions themselves, EndTxn v5) bumps it at
//! every EndTxn, moving to a new producer id when the epoch runs out, and
//! answers with the new id and epoch.

use bytestring::ByteString;

use super::{Markers, Plan, Step, TxnCoordinator, TxnMeta, TxnState};
use crate::protocol::ErrorCode;
use crate::state::Now;

/// An epoch that cannot be bumped again (Kafka's `isEpochExhausted`).
pub(crate) fn exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

/// Hands out new producer ids (`None`: none can be had now).
pub(crate) type Allocate<'a> = &'a mut dyn FnMut() -> Option<i64>;

impl TxnCoordinator {
    /// InitProducerId for `id`: a producer id and a bumped epoch, fencing
    /// older producers of the id. `expected` is the id and epoch a
    /// recovering producer has (KIP-360). An open transaction is aborted
    /// first (its epoch fenced), in the same plan.
    pub fn init_producer_id(
        &self,
        id: &ByteString,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        now: Now,
        alloc: Allocate<'_>,
    ) -> Result<Plan<(i64, i16)>, ErrorCode> {
        if !(1..=self.config.max_timeout_ms).contains(&timeout_ms) {
            return Err(ErrorCode::INVALID_TRANSACTION_TIMEOUT);
        }
        self.coordinates(id)?;
        let no_id = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS;
        let Some(m) = self.txns.get(id) else {
            let m = TxnMeta {
                id: id.clone(),
                producer_id: alloc().ok_or(no_id)?,
                prev_producer_id: -1,
                next_producer_id: -1,
                epoch: 0,
                last_epoch: -1,
                timeout_ms,
                state: TxnState::Empty,
                partitions: Default::default(),
                start_ms: -1,
                update_ms: now,
                client_version: 0,
            };
            let reply = (m.producer_id, m.epoch);
            return Ok(Plan {
                reply,
                steps: vec![Step::Write(m)],
            });
        };
        if let Some((pid, epoch)) = expected {
            let valid = m.producer_id == pid
                || (m.prev_producer_id == pid && exhausted(epoch))
                || m.epoch == -1;
            if !valid {
                return Err(ErrorCode::PRODUCER_FENCED);
            }
        }
        let mut steps = Vec::new();
        let mut current = m.clone();
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return Err(ErrorCode::CONCURRENT_TRANSACTIONS)
            }
            TxnState::Ongoing => {
                // Fence the open transaction's producer and abort it.
                let (prepared, markers, complete) = abort_fenced(m, now);
                steps.push(Step::Write(prepared));
                steps.push(Step::Markers(markers));
                steps.push(Step::Write(complete.clone()));
                current = complete;
                // The producer now asks with the fenced epoch's predecessor:
                // a recovering producer's epoch no longer matches; bump anew.
                return self
                    .bump(&current, timeout_ms, None, now, alloc)
                    .map(|next| {
                        let reply = (next.producer_id, next.epoch);
                        steps.push(Step::Write(next));
                        Plan { reply, steps }
                    });
            }
            _ => {}
        }
        let next = self.bump(&current, timeout_ms, expected, now, alloc)?;
        let reply = (next.producer_id, next.epoch);
        steps.push(Step::Write(next));
        Ok(Plan { reply, steps })
    }

    /// Kafka's `prepareIncrementProducerEpoch` (or, when the epoch is used
    /// up, `prepareProducerIdRotation`): the id back in Empty with the
    /// next epoch.
    fn bump(
        &self,
        m: &TxnMeta,
        timeout_ms: i32,
        expected: Option<(i64, i16)>,
        now: Now,
        alloc: Allocate<'_>,
    ) -> Result<TxnMeta, ErrorCode> {
        let base = TxnMeta {
            timeout_ms,
            state: TxnState::Empty,
            partitions: Default::default(),
            start_ms: -1,
            update_ms: now,
            next_producer_id: -1,
            ..m.clone()
        };
        if exhausted(m.epoch) && expected.is_none_or(|(_, e)| e == m.epoch) {
            return Ok(TxnMeta {
                producer_id: alloc().ok_or(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)?,
                prev_producer_id: m.producer_id,
                epoch: 0,
                last_epoch: if expected.is_some() { m.epoch } else { -1 },
                ..base
            });
        }
        let (epoch, last_epoch) = match expected {
            // A new producer: fence whoever had the id.
            None if !exhausted(m.epoch) => (m.epoch + 1, -1),
            // The same producer recovering from an error, or the first one.
            Some((_, e)) if !exhausted(m.epoch) && (m.epoch == -1 || e == m.epoch) => {
                (m.epoch + 1, m.epoch)
            }
            // A retry of a bump whose answer was lost.
            Some((_, e)) if e == m.last_epoch => (m.epoch, m.last_epoch),
            _ => return Err(ErrorCode::PRODUCER_FENCED),
        };
        Ok(TxnMeta {
            epoch,
            last_epoch,
            ..base
        })
    }

    /// Checks that `pid` and `epoch` are `id`'s current producer.
    fn producer_of(&self, id: &str, pid: i64, epoch: i16) -> Result<&TxnMeta, ErrorCode> {
        let m = self
            .txns
            .get(id)
            .ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
        if m.producer_id != pid {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if m.epoch != epoch {
            return Err(ErrorCode::PRODUCER_FENCED);
        }
        Ok(m)
    }

    /// AddPartitionsToTxn (or AddOffsetsToTxn, or a version 2 Produce or
    /// TxnOffsetCommit adding its partition): the transaction is Ongoing
    /// with `parts` among its partitions. `version` is the client's
    /// transaction version.
    pub fn add_partitions(
        &self,
        id: &str,
        pid: i64,
        epoch: i16,
        parts: &[(ByteString, i32)],
        version: i16,
        now: Now,
    ) -> Result<Plan<()>, ErrorCode> {
        self.coordinates(id)?;
        let m = self.producer_of(id, pid, epoch)?;
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                return Err(ErrorCode::CONCURRENT_TRANSACTIONS)
            }
            TxnState::Dead => return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING),
            TxnState::Ongoing if parts.iter().all(|p| m.partitions.contains(p)) => {
                return Ok(Plan::answer(()))
            }
            _ => {}
        }
        let ongoing = m.state == TxnState::Ongoing;
        let mut next = TxnMeta {
            state: TxnState::Ongoing,
            start_ms: if ongoing { m.start_ms } else { now },
            update_ms: now,
            client_version: version,
            partitions: if ongoing {
                m.partitions.clone()
            } else {
                Default::default()
            },
            ..m.clone()
        };
        next.partitions.extend(parts.iter().cloned());
        Ok(Plan {
            reply: (),
            steps: vec![Step::Write(next)],
        })
    }

    /// KIP-890 part 1: whether a transactional batch of `pid` at `epoch`
    /// for `tp` belongs to `id`'s open transaction (AddPartitionsToTxn
    /// with VerifyOnly, as a partition leader asks it). A partition not in
    /// the transaction is TRANSACTION_ABORTABLE, which callers give older
    /// clients as INVALID_TXN_STATE (Kafka's `AddPartitionsToTxnManager`).
    pub fn verify(
        &self,
        id: &str,
        pid: i64,
        epoch: i16,
        tp: &(ByteString, i32),
    ) -> Result<(), ErrorCode> {
        self.coordinates(id)?;
        let m = self.producer_of(id, pid, epoch)?;
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                Err(ErrorCode::CONCURRENT_TRANSACTIONS)
            }
            TxnState::Ongoing if m.partitions.contains(tp) => Ok(()),
            _ => Err(ErrorCode::TRANSACTION_ABORTABLE),
        }
    }

    /// EndTxn: commit or abort `id`'s transaction. `version2` is a
    /// transaction version 2 client (EndTxn v5), whose epoch is bumped.
    /// The reply is the producer id and epoch the client goes on with.
    #[allow(clippy::too_many_arguments)]
    pub fn end_txn(
        &self,
        id: &ByteString,
        pid: i64,
        epoch: i16,
        commit: bool,
        version2: bool,
        now: Now,
        alloc: Allocate<'_>,
    ) -> Result<Plan<(i64, i16)>, ErrorCode> {
        self.coordinates(id)?;
        let m = self
            .txns
            .get(id)
            .ok_or(ErrorCode::INVALID_PRODUCER_ID_MAPPING)?;
        let wanted = if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        let preparing = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        if version2 {
            // A retry of an EndTxn that already bumped the epoch.
            let retry = matches!(m.state, TxnState::CompleteCommit | TxnState::CompleteAbort)
                && ((pid == m.producer_id && i32::from(epoch) == i32::from(m.epoch) - 1)
                    || (pid == m.prev_producer_id && m.epoch == 0 && exhausted(epoch)));
            if retry {
                return if m.state == wanted {
                    Ok(Plan::answer((m.producer_id, m.epoch)))
                } else {
                    Err(ErrorCode::INVALID_TXN_STATE)
                };
            }
        }
        if m.producer_id != pid {
            return Err(ErrorCode::INVALID_PRODUCER_ID_MAPPING);
        }
        if m.epoch != epoch {
            return Err(ErrorCode::PRODUCER_FENCED);
        }
        match m.state {
            TxnState::Ongoing => {}
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return Err(if m.state == preparing {
                    ErrorCode::CONCURRENT_TRANSACTIONS
                } else {
                    ErrorCode::INVALID_TXN_STATE
                })
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
                if version2 && !commit =>
            {
                // Version 2 may abort with nothing open, to bump the epoch.
            }
            TxnState::CompleteCommit | TxnState::CompleteAbort if !version2 => {
                return if m.state == wanted {
                    Ok(Plan::answer((m.producer_id, m.epoch)))
                } else {
                    Err(ErrorCode::INVALID_TXN_STATE)
                };
            }
            _ => return Err(ErrorCode::INVALID_TXN_STATE),
        }
        let mut prepared = TxnMeta {
            state: preparing,
            update_ms: now,
            client_version: if version2 { 2 } else { m.client_version.max(1) },
            ..m.clone()
        };
        if prepared.state == TxnState::PrepareAbort && m.state != TxnState::Ongoing {
            prepared.partitions.clear();
            prepared.start_ms = now;
        }
        if version2 {
            if exhausted(m.epoch) {
                prepared.next_producer_id =
                    alloc().ok_or(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS)?;
            }
            prepared.epoch = m.epoch + 1;
            prepared.last_epoch = m.epoch;
        }
        let (markers, complete) = finish(&prepared, now);
        let reply = (complete.producer_id, complete.epoch);
        Ok(Plan {
            reply,
            steps: vec![
                Step::Write(prepared),
                Step::Markers(markers),
                Step::Write(complete),
            ],
        })
    }

    /// Transactions whose deadline passed at `now`: an Ongoing one past its
    /// timeout is aborted with its producer fenced; a prepared one whose
    /// markers failed is finished. Each gets a plan.
    pub fn handle_timeout(&mut self, now: Now) -> Vec<Plan<()>> {
        let mut plans = Vec::new();
        while let Some(id) = self.deadlines.pop_due(now) {
            let Some(m) = self.txns.get(&id) else {
                continue;
            };
            if self.waits_on_markers(&id) {
                continue;
            }
            if let Some(p) = resume(m, now) {
                plans.push(p);
            }
        }
        plans
    }

    /// Plans that finish what a restart interrupted: every prepared
    /// transaction gets its markers and its completion.
    pub fn recover(&self, now: Now) -> Vec<Plan<()>> {
        self.txns
            .values()
            .filter(|m| {
                matches!(
                    m.state,
                    TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
                )
            })
            .filter_map(|m| resume(m, now))
            .collect()
    }
}

/// The plan that moves `m` on when its deadline passes: Ongoing past its
/// timeout is aborted (fenced), a prepared transaction finished.
fn resume(m: &TxnMeta, now: Now) -> Option<Plan<()>> {
    match m.state {
        TxnState::Ongoing | TxnState::PrepareEpochFence => {
            if m.state == TxnState::Ongoing
                && now < m.start_ms.saturating_add(i64::from(m.timeout_ms))
            {
                return None;
            }
            let (prepared, markers, complete) = abort_fenced(m, now);
            Some(Plan {
                reply: (),
                steps: vec![
                    Step::Write(prepared),
                    Step::Markers(markers),
                    Step::Write(complete),
                ],
            })
        }
        TxnState::PrepareCommit | TxnState::PrepareAbort => {
            let (markers, complete) = finish(m, now);
            Some(Plan {
                reply: (),
                steps: vec![Step::Markers(markers), Step::Write(complete)],
            })
        }
        // Idle past transactional.id.expiration.ms (the deadline says so).
        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => Some(Plan {
            reply: (),
            steps: vec![Step::Remove(m.id.clone())],
        }),
        TxnState::Dead => None,
    }
}

/// Aborting an open transaction from the coordinator's side (a timeout, or
/// an InitProducerId that finds it open): the epoch is bumped first to
/// fence its producer (Kafka's `prepareFenceProducerEpoch`; an exhausted
/// epoch stays), then PrepareAbort, markers, CompleteAbort.
fn abort_fenced(m: &TxnMeta, now: Now) -> (TxnMeta, Markers, TxnMeta) {
    let epoch = if exhausted(m.epoch) || m.state == TxnState::PrepareEpochFence {
        m.epoch
    } else {
        m.epoch + 1
    };
    let prepared = TxnMeta {
        state: TxnState::PrepareAbort,
        epoch,
        last_epoch: -1,
        update_ms: now,
        ..m.clone()
    };
    let (markers, complete) = finish(&prepared, now);
    (prepared, markers, complete)
}

/// The markers a prepared transaction writes, and the metadata once they
/// are written: Complete, no partitions, and (version 2, epoch used up)
/// the next producer id at epoch 0.
fn finish(prepared: &TxnMeta, now: Now) -> (Markers, TxnMeta) {
    let commit = prepared.state == TxnState::PrepareCommit;
    let markers = Markers {
        transactional_id: prepared.id.clone(),
        producer_id: prepared.producer_id,
        epoch: prepared.epoch,
        commit,
        partitions: prepared.partitions.iter().cloned().collect(),
    };
    let mut complete = TxnMeta {
        state: if commit {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        },
        partitions: Default::default(),
        update_ms: now,
        ..prepared.clone()
    };
    if prepared.next_producer_id >= 0 {
        complete.prev_producer_id = prepared.producer_id;
        complete.producer_id = prepared.next_producer_id;
        complete.next_producer_id = -1;
        complete.epoch = 0;
        complete.last_epoch = -1;
    }
    (markers, complete)
}
