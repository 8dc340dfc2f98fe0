//! What JoinGroup and SyncGroup are answered with, whatever the version,
//! and the responses of each version. A held request is answered by the
//! group long after it arrived, so the group builds its response itself,
//! at the version the request was sent in.

use bytes::Bytes;
use bytestring::ByteString;

use crate::protocol::messages::join_group_response::{JoinGroupResponse, JoinGroupResponseMember};
use crate::protocol::messages::sync_group_response::SyncGroupResponse;
use crate::protocol::{ErrorCode, ResponseBody};

/// The outcome of a JoinGroup, whatever the version it is sent in.
#[derive(Debug, Clone, Default)]
pub(crate) struct JoinResult {
    pub error: ErrorCode,
    pub generation: i32,
    pub protocol_type: Option<ByteString>,
    pub protocol_name: Option<ByteString>,
    pub leader: ByteString,
    pub member_id: ByteString,
    pub members: Vec<JoinGroupResponseMember>,
    pub skip_assignment: bool,
}

impl JoinResult {
    /// A failed join.
    pub fn error(error: ErrorCode, member_id: ByteString) -> JoinResult {
        JoinResult {
            error,
            generation: -1,
            member_id,
            ..Default::default()
        }
    }

    /// The response of version `v`.
    pub fn response(self, v: i16) -> JoinGroupResponse {
        let members = self
            .members
            .into_iter()
            .map(|mut m| {
                if v < 5 {
                    m.group_instance_id = None;
                }
                m
            })
            .collect();
        JoinGroupResponse {
            throttle_time_ms: 0,
            error_code: self.error.code(),
            generation_id: self.generation,
            protocol_type: if v >= 7 { self.protocol_type } else { None },
            protocol_name: match self.protocol_name {
                Some(n) => Some(n),
                None if v >= 7 => None,
                None => Some("".into()),
            },
            leader: self.leader,
            skip_assignment: v >= 9 && self.skip_assignment,
            member_id: self.member_id,
            members,
            ..Default::default()
        }
    }
}

/// The outcome of a SyncGroup.
#[derive(Debug, Clone, Default)]
pub(crate) struct SyncResult {
    pub error: ErrorCode,
    pub protocol_type: Option<ByteString>,
    pub protocol_name: Option<ByteString>,
    pub assignment: Bytes,
}

impl SyncResult {
    /// A failed sync.
    pub fn error(error: ErrorCode) -> SyncResult {
        SyncResult {
            error,
            ..Default::default()
        }
    }

    /// The response of version `v`.
    pub fn response(self, v: i16) -> SyncGroupResponse {
        SyncGroupResponse {
            throttle_time_ms: 0,
            error_code: self.error.code(),
            protocol_type: if v >= 5 { self.protocol_type } else { None },
            protocol_name: if v >= 5 { self.protocol_name } else { None },
            assignment: self.assignment,
            ..Default::default()
        }
    }
}

/// An answer to a held request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Join(JoinResult),
    Sync(SyncResult),
}

impl Answer {
    /// The same request answered with `code` instead.
    pub fn failed(self, code: ErrorCode) -> Answer {
        match self {
            Answer::Join(j) => Answer::Join(JoinResult::error(code, j.member_id)),
            Answer::Sync(_) => Answer::Sync(SyncResult::error(code)),
        }
    }

    /// The response body of version `v`.
    pub fn response(self, v: i16) -> ResponseBody {
        match self {
            Answer::Join(j) => ResponseBody::JoinGroup(j.response(v)),
            Answer::Sync(s) => ResponseBody::SyncGroup(s.response(v)),
        }
    }
}
