//! Replication requests: what a slave's `SlaveSynchronize` asks its master beyond the config
//! tables (the timer checkpoint and metrics; POP request modes are answered in
//! `assignment.rs`), and GET_BROKER_HA_STATUS (`mqadmin haStatus`).

use std::sync::Arc;

use crate::broker::Broker;
use crate::broker::topic_config::data_version_node;
use crate::ha::BrokerRole;
use crate::net::ConnectionHandle;
use crate::remoting::RemotingCommand;
use crate::remoting::error::HeaderError;
use crate::remoting::json_tree::{Key, Node};
use crate::store::timer::checkpoint::CheckpointData;

fn json_body(text: String) -> RemotingCommand {
    RemotingCommand::success().with_body(text.into_bytes())
}

/// GET_TIMER_CHECK_POINT (a 5.x slave asks every 3 s): the 56-byte binary checkpoint
/// (`TimerCheckpoint.encode`: lastReadTimeMs, lastTimerLogFlushPos, lastTimerQueueOffset,
/// masterTimerQueueOffset, then the data version's stateVersion, timestamp, counter). With the
/// timer wheel disabled every position is 0 and the data version is the topics'.
pub(crate) fn get_timer_check_point(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let cp = broker.timer.as_ref().map_or_else(
        || {
            let dv = broker.topics.data_version();
            CheckpointData {
                state_version: dv.state_version,
                timestamp: dv.timestamp,
                counter: dv.counter,
                ..CheckpointData::default()
            }
        },
        |t| t.checkpoint(),
    );
    Ok(RemotingCommand::success().with_body(cp.encode()))
}

/// GET_TIMER_METRICS (a 5.x slave's sync): pending timer messages per topic
/// (`TimerMetricsSerializeWrapper`).
pub(crate) fn get_timer_metrics(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    if let Some(t) = &broker.timer {
        return Ok(json_body(t.metrics.encode()));
    }
    let dv = broker.topics.data_version();
    let node = Node::object(vec![
        ("dataVersion", data_version_node(&dv)),
        ("timingCount", Node::Object(Vec::new())),
    ]);
    Ok(json_body(node.to_compact()))
}

fn int(v: u64) -> Node {
    Node::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// GET_BROKER_HA_STATUS (907, `mqadmin haStatus`): `HARuntimeInfo` as fastjson writes it
/// (properties alphabetical, nulls left out). A master lists its slave connections with their
/// ack offset, gap and in-sync state; a slave describes its HA client.
pub(crate) fn get_broker_ha_status(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let ha = &broker.ha;
    let max = broker.store.max_phy_offset();
    let master = broker.role() != BrokerRole::Slave;
    let mut client = Vec::new();
    let mut connections = Vec::new();
    let mut in_sync = 0;
    if master {
        for p in ha.peers() {
            let diff = max.saturating_sub(p.acked);
            let sync = diff < ha.config.max_gap_not_in_sync;
            in_sync += i64::from(sync);
            connections.push(Node::object(vec![
                ("addr", Node::Str(p.addr)),
                ("diff", int(diff)),
                ("inSync", Node::Bool(sync)),
                ("slaveAckOffset", int(p.acked)),
                ("transferFromWhere", int(p.sent)),
                ("transferredByteInSecond", int(p.bytes_per_second)),
            ]));
        }
    } else {
        let c = ha.client_info();
        client.push((
            Key::Str("lastReadTimestamp".into()),
            Node::Int(c.last_read_ms),
        ));
        client.push((
            Key::Str("lastWriteTimestamp".into()),
            Node::Int(c.last_write_ms),
        ));
        if let Some(addr) = ha.master_ha_addr() {
            client.push((Key::Str("masterAddr".into()), Node::Str(addr)));
        }
        client.push((Key::Str("masterFlushOffset".into()), Node::Int(0)));
        client.push((Key::Str("maxOffset".into()), int(max)));
        client.push((
            Key::Str("transferredByteInSecond".into()),
            int(c.bytes_per_second),
        ));
    }
    let node = Node::object(vec![
        ("haClientRuntimeInfo", Node::Object(client)),
        ("haConnectionInfo", Node::Array(connections)),
        ("inSyncSlaveNums", Node::Int(in_sync)),
        ("master", Node::Bool(master)),
        (
            "masterCommitLogMaxOffset",
            int(if master { max } else { 0 }),
        ),
    ]);
    Ok(json_body(node.to_compact()))
}
