//! Requests fitted to the version of their API the coordinator speaks.

use anyhow::bail;
use bytestring::ByteString;
use spate_core::protocol::RequestBody;

/// `body` with the fields that version `v` of its API lacks cleared (the
/// codec refuses to drop a set field silently). Static membership needs
/// JoinGroup v5, SyncGroup and Heartbeat v3, OffsetCommit v7 and
/// LeaveGroup v3, as in Kafka's client.
pub(super) fn fit(body: RequestBody, v: i16) -> anyhow::Result<RequestBody> {
    let static_needs = |min: i16, id: &Option<ByteString>| {
        if v < min && id.is_some() {
            bail!(
                "static membership (group.instance.id) needs {} v{min}; the coordinator speaks v{v}",
                body.api_key().name()
            );
        }
        Ok(())
    };
    Ok(match body {
        RequestBody::JoinGroup(ref j) => {
            static_needs(5, &j.group_instance_id)?;
            let RequestBody::JoinGroup(mut j) = body else {
                unreachable!()
            };
            if v < 8 {
                j.reason = None;
            }
            RequestBody::JoinGroup(j)
        }
        RequestBody::SyncGroup(ref s) => {
            static_needs(3, &s.group_instance_id)?;
            let RequestBody::SyncGroup(mut s) = body else {
                unreachable!()
            };
            if v < 5 {
                s.protocol_type = None;
                s.protocol_name = None;
            }
            RequestBody::SyncGroup(s)
        }
        RequestBody::Heartbeat(ref h) => {
            static_needs(3, &h.group_instance_id)?;
            body
        }
        RequestBody::OffsetCommit(ref c) => {
            static_needs(7, &c.group_instance_id)?;
            body
        }
        RequestBody::LeaveGroup(mut l) => {
            if v < 3 {
                if let Some(m) = l.members.first() {
                    if m.group_instance_id.is_some() {
                        bail!("static membership needs LeaveGroup v3; the coordinator speaks v{v}");
                    }
                    l.member_id = m.member_id.clone();
                }
                l.members.clear();
            } else {
                l.member_id = ByteString::new();
                if v < 5 {
                    for m in &mut l.members {
                        m.reason = None;
                    }
                }
            }
            RequestBody::LeaveGroup(l)
        }
        other => other,
    })
}
