//! Offset requests: QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET, GET_MAX_OFFSET,
//! GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP, GET_EARLIEST_MSG_STORETIME.

use std::sync::Arc;

use crate::broker::Broker;
use crate::net::ConnectionHandle;
use crate::remoting::error::HeaderError;
use crate::remoting::header::broker::{
    EarliestMsgStoretimeResponseHeader, OffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, TopicQueueRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::remoting::{RemotingCommand, ResponseCode};

fn offset_response(offset: i64) -> RemotingCommand {
    RemotingCommand::success().with_ext_fields(OffsetResponseHeader { offset }.to_ext_fields())
}

/// QUERY_CONSUMER_OFFSET: the stored offset; for a new group 0 when the queue still holds its
/// first message, else QUERY_NOT_FOUND (the client then applies its consume-from rule).
pub(crate) fn query_consumer_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = QueryConsumerOffsetRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    if let Some(o) = broker
        .reset_offsets
        .peek(&h.topic, &h.consumer_group, h.queue_id)
        .or_else(|| {
            broker
                .offsets
                .query(&h.consumer_group, &h.topic, h.queue_id)
        })
        .filter(|o| *o >= 0)
    {
        return Ok(offset_response(o));
    }
    let q = broker.store.queue(&h.topic, h.queue_id);
    let min = q.as_ref().map_or(0, |q| q.min_offset());
    let first_present = q
        .as_ref()
        .is_some_and(|q| q.max_offset() > 0 && q.get(0).is_some());
    if h.set_zero_if_not_found == Some(false) {
        return Ok(RemotingCommand::error(
            ResponseCode::QUERY_NOT_FOUND,
            "Not found, do not set to zero, maybe this group boot first",
        )
        .with_ext_fields(crate::remoting::ExtFields::new()));
    }
    if min == 0 && first_present {
        return Ok(offset_response(0));
    }
    Ok(RemotingCommand::error(
        ResponseCode::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    )
    .with_ext_fields(crate::remoting::ExtFields::new()))
}

/// UPDATE_CONSUMER_OFFSET (often oneway).
pub(crate) fn update_consumer_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = UpdateConsumerOffsetRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let empty = crate::remoting::ExtFields::new;
    if broker.groups.get(&h.consumer_group).is_none() {
        return Ok(RemotingCommand::error(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("Group {} not exist!", h.consumer_group),
        )
        .with_ext_fields(empty()));
    }
    if broker.topics.get(&h.topic).is_none() {
        return Ok(RemotingCommand::error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("Topic {} not exist!", h.topic),
        )
        .with_ext_fields(empty()));
    }
    if broker
        .reset_offsets
        .peek(&h.topic, &h.consumer_group, h.queue_id)
        .is_some()
    {
        // Java 5 (`useServerSideResetOffset`): the client's offset is older than the reset.
        return Ok(RemotingCommand::response(
            ResponseCode::SUCCESS,
            Some("Offset has been previously reset".into()),
        )
        .with_ext_fields(empty()));
    }
    broker
        .offsets
        .commit(&h.consumer_group, &h.topic, h.queue_id, h.commit_offset);
    Ok(RemotingCommand::success().with_ext_fields(crate::remoting::ExtFields::new()))
}

/// GET_MAX_OFFSET.
pub(crate) fn get_max_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicQueueRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let max = broker
        .store
        .queue_for_reader(&h.topic, h.queue_id)
        .map_or(0, |q| q.max_offset());
    Ok(offset_response(i64::try_from(max).unwrap_or(0)))
}

/// GET_MIN_OFFSET.
pub(crate) fn get_min_offset(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicQueueRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let min = broker
        .store
        .queue(&h.topic, h.queue_id)
        .map_or(0, |q| q.min_offset());
    let mut resp = offset_response(i64::try_from(min).unwrap_or(0));
    resp.remark = Some(String::new());
    Ok(resp)
}

fn store_time(broker: &Broker, topic: &str, queue_id: i32, offset: u64) -> Option<i64> {
    broker.store.store_time_at(topic, queue_id, offset)
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first offset stored at or after `timestamp` (binary search
/// over store times, as `ConsumeQueue.getOffsetInQueueByTime`); `upper` gives the last one at or
/// before it.
pub(crate) fn search_offset_by_timestamp(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = SearchOffsetRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let Some(q) = broker.store.queue(&h.topic, h.queue_id) else {
        return Ok(offset_response(0));
    };
    let (min, max) = (q.min_offset(), q.max_offset());
    if max <= min {
        return Ok(offset_response(i64::try_from(min).unwrap_or(0)));
    }
    let upper = h.boundary_type.as_deref() == Some("upper");
    let (mut lo, mut hi) = (min, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let ts = store_time(broker, &h.topic, h.queue_id, mid).unwrap_or(i64::MAX);
        let go_right = if upper {
            ts <= h.timestamp
        } else {
            ts < h.timestamp
        };
        if go_right {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let found = if upper {
        lo.saturating_sub(1).max(min)
    } else {
        lo.min(max)
    };
    Ok(offset_response(i64::try_from(found).unwrap_or(0)))
}

/// GET_EARLIEST_MSG_STORETIME.
pub(crate) fn get_earliest_msg_storetime(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = TopicQueueRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let min = broker
        .store
        .queue(&h.topic, h.queue_id)
        .map_or(0, |q| q.min_offset());
    let ts = store_time(broker, &h.topic, h.queue_id, min).unwrap_or(-1);
    Ok(RemotingCommand::success()
        .with_ext_fields(EarliestMsgStoretimeResponseHeader { timestamp: ts }.to_ext_fields()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn offset_header_shape() {
        let r = super::offset_response(5);
        assert_eq!(r.ext("offset"), Some("5"));
        assert_eq!(r.code, 0);
    }
}
