//! QUERY_MESSAGE (by key, through the index) and VIEW_MESSAGE_BY_ID (by CommitLog offset)
//! (`broker:processor/QueryMessageProcessor.java`).

use std::sync::Arc;

use bytes::BytesMut;

use crate::broker::Broker;
use crate::net::ConnectionHandle;
use crate::remoting::error::HeaderError;
use crate::remoting::header::broker::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use crate::remoting::{RemotingCommand, ResponseCode};
use crate::store::index_file::build_key;

/// Results of a unique-key query (`defaultQueryMaxNum`).
const DEFAULT_QUERY_MAX_NUM: usize = 32;

/// QUERY_MESSAGE: records whose `KEYS` or `UNIQ_KEY` match, concatenated.
pub(crate) fn query_message(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = QueryMessageRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    let uniq = req.ext("_UNIQUE_KEY_QUERY") == Some("true");
    let max = if uniq {
        DEFAULT_QUERY_MAX_NUM
    } else {
        usize::try_from(h.max_num).unwrap_or(32).clamp(1, 64)
    };
    let offsets = broker.store.query_index(
        &build_key(&h.topic, &h.key),
        max,
        h.begin_timestamp,
        h.end_timestamp,
    );
    let mut body = BytesMut::new();
    for off in &offsets {
        if let Some(rec) = broker
            .store
            .message_at(u64::try_from(*off).unwrap_or(u64::MAX))
        {
            body.extend_from_slice(&rec);
        }
    }
    if body.is_empty() {
        return Ok(RemotingCommand::error(
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let (ts, phy) = broker.store.index_last_update();
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: ts,
        index_last_update_phyoffset: phy,
    };
    Ok(RemotingCommand::success()
        .with_ext_fields(header.to_ext_fields())
        .with_body(body.freeze()))
}

/// VIEW_MESSAGE_BY_ID: the record at the offset inside an offset msgId.
pub(crate) fn view_message_by_id(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let h = ViewMessageRequestHeader::from_ext_fields(req.ext_fields.as_ref())?;
    Ok(
        match broker
            .store
            .message_at(u64::try_from(h.offset).unwrap_or(u64::MAX))
        {
            Some(rec) => RemotingCommand::success().with_body(rec),
            None => RemotingCommand::error(
                ResponseCode::SYSTEM_ERROR,
                format!("can not find message by the offset, {}", h.offset),
            ),
        },
    )
}
