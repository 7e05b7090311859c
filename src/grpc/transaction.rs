//! EndTransaction (`proxy:grpc/v2/transaction/EndTransactionActivity.java`,
//! `proxy:service/transaction/TransactionDataManager.java`): a gRPC producer names its
//! transaction by topic and transaction id only, so the endpoint remembers where each half
//! message it stored lies and hands the broker's END_TRANSACTION handler the offsets.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tracing::warn;

use super::pb::{
    Code, EndTransactionRequest, EndTransactionResponse, TransactionResolution, TransactionSource,
};
use super::status::{Reject, ok};
use super::{Endpoint, validate};
use crate::limits::GRPC_TRANSACTION_DATA_MAX;
use crate::remoting::header::broker::EndTransactionRequestHeader;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// `MessageSysFlag.TRANSACTION_COMMIT_TYPE`.
const COMMIT: i32 = 0x8;
/// `MessageSysFlag.TRANSACTION_ROLLBACK_TYPE`.
const ROLLBACK: i32 = 0xC;

/// Where one half message lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxData {
    /// CommitLog offset of the half message.
    pub commit_log_offset: i64,
    /// Its offset in the half topic's queue.
    pub queue_offset: i64,
    /// The client's message id.
    pub message_id: String,
}

/// Entries by (group, transaction id), and their keys oldest first.
type TxTable = (
    HashMap<(String, String), TxData>,
    VecDeque<(String, String)>,
);

/// Half messages awaiting their end, keyed by producer group (the topic) and transaction id;
/// the oldest go first past [`GRPC_TRANSACTION_DATA_MAX`].
#[derive(Debug, Default)]
pub struct Transactions {
    inner: Mutex<TxTable>,
}

/// The CommitLog offset inside an offset message id (its last 16 hex digits).
#[must_use]
pub fn commit_offset_of(offset_msg_id: &str) -> Option<i64> {
    let hex = offset_msg_id.get(offset_msg_id.len().checked_sub(16)?..)?;
    u64::from_str_radix(hex, 16).ok().map(u64::cast_signed)
}

impl Transactions {
    /// Remembers a half message sent over gRPC.
    pub fn record(
        &self,
        group: &str,
        transaction_id: &str,
        message_id: &str,
        offset_msg_id: &str,
        queue_offset: i64,
    ) {
        let Some(commit_log_offset) = commit_offset_of(offset_msg_id) else {
            return;
        };
        self.put(
            group,
            transaction_id,
            TxData {
                commit_log_offset,
                queue_offset,
                message_id: message_id.to_owned(),
            },
        );
    }

    /// Adds or replaces an entry.
    pub fn put(&self, group: &str, transaction_id: &str, data: TxData) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let (map, order) = &mut *g;
        let key = (group.to_owned(), transaction_id.to_owned());
        if map.insert(key.clone(), data).is_none() {
            order.push_back(key);
        }
        while map.len() > GRPC_TRANSACTION_DATA_MAX {
            match order.pop_front() {
                Some(old) => {
                    let _ = map.remove(&old);
                }
                None => break,
            }
        }
    }

    /// Takes the entry of a transaction.
    pub fn take(&self, group: &str, transaction_id: &str) -> Option<TxData> {
        let mut g = self.inner.lock().ok()?;
        let (map, order) = &mut *g;
        let key = (group.to_owned(), transaction_id.to_owned());
        let found = map.remove(&key)?;
        order.retain(|k| k != &key);
        Some(found)
    }

    /// Entries held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.0.len())
    }

    /// True when none is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Endpoint {
    /// EndTransaction.
    pub(crate) async fn end_transaction(
        &self,
        caller: &super::clients::Caller,
        req: EndTransactionRequest,
    ) -> EndTransactionResponse {
        let status = match self.end(caller, req).await {
            Ok(()) => ok(),
            Err(r) => r.status(),
        };
        EndTransactionResponse {
            status: Some(status),
        }
    }

    async fn end(
        &self,
        caller: &super::clients::Caller,
        req: EndTransactionRequest,
    ) -> Result<(), Reject> {
        let topic = validate::topic(req.topic.as_ref())?.to_owned();
        if req.transaction_id.trim().is_empty() {
            return Err(Reject::new(
                Code::InvalidTransactionId,
                "transaction id cannot be empty",
            ));
        }
        let resolution = match TransactionResolution::try_from(req.resolution) {
            Ok(TransactionResolution::Commit) => COMMIT,
            Ok(TransactionResolution::Rollback) => ROLLBACK,
            _ => 0,
        };
        let Some(data) = self.transactions.take(&topic, &req.transaction_id) else {
            return Err(Reject::new(
                Code::InternalServerError,
                "cannot found transaction data",
            ));
        };
        if resolution == 0 {
            // UNKNOWN: the broker checks it back later; keep where it lies.
            self.transactions.put(&topic, &req.transaction_id, data);
            return Ok(());
        }
        let header = EndTransactionRequestHeader {
            producer_group: topic.clone(),
            tran_state_table_offset: data.queue_offset,
            commit_log_offset: data.commit_log_offset,
            commit_or_rollback: resolution,
            from_transaction_check: Some(req.source == TransactionSource::SourceServerCheck as i32),
            msg_id: Some(if req.message_id.is_empty() {
                data.message_id.clone()
            } else {
                req.message_id.clone()
            }),
            transaction_id: Some(req.transaction_id.clone()),
        };
        let cmd = RemotingCommand::request(
            RequestCode::END_TRANSACTION.code(),
            Some(header.to_ext_fields()),
        );
        let conn = self
            .clients
            .connection(caller)
            .ok_or_else(|| Reject::new(Code::InternalServerError, "client table unavailable"))?;
        // Java sends END_TRANSACTION one-way: the broker's answer does not reach the client.
        if let Some(resp) =
            crate::broker::processor::transaction::end_transaction(&self.broker, &conn, cmd).await
            && resp.response_code() != Some(ResponseCode::SUCCESS)
        {
            warn!(
                topic = %topic,
                transaction = %req.transaction_id,
                remark = ?resp.remark,
                "gRPC end transaction refused by the broker"
            );
        }
        Ok(())
    }
}

/// Translates what the broker writes to gRPC clients' in-process channels: CHECK_TRANSACTION_STATE
/// becomes a `RecoverOrphanedTransactionCommand` on the client's Telemetry stream (Java's
/// `GrpcClientChannel.processCheckTransaction`), with the half message's place remembered for the
/// EndTransaction that answers it. Other frames (consumer-list notifications) have no gRPC form.
pub(crate) async fn relay(
    endpoint: std::sync::Weak<Endpoint>,
    mut rx: tokio::sync::mpsc::Receiver<super::clients::Relayed>,
) {
    while let Some((client_id, frame)) = rx.recv().await {
        let Some(ep) = endpoint.upgrade() else {
            return;
        };
        let Ok(cmd) = crate::remoting::frame::decode(frame.slice(4.min(frame.len())..)) else {
            continue;
        };
        if cmd.code == RequestCode::CHECK_TRANSACTION_STATE.code() {
            ep.recover_orphaned(&client_id, &cmd);
        }
    }
}

impl Endpoint {
    fn recover_orphaned(&self, client_id: &str, cmd: &RemotingCommand) {
        use super::pb::{RecoverOrphanedTransactionCommand, TelemetryCommand, telemetry_command};
        use crate::remoting::header::broker::CheckTransactionStateRequestHeader;
        use crate::store::record::MessageRecord;
        let Ok(h) = CheckTransactionStateRequestHeader::from_ext_fields(cmd.ext_fields.as_ref())
        else {
            return;
        };
        let Ok((rec, _)) = MessageRecord::decode(&cmd.body, false) else {
            return;
        };
        let message = super::convert::to_pb(&rec, crate::store::message_store::now_millis());
        let message_id = message
            .system_properties
            .as_ref()
            .map(|s| s.message_id.clone())
            .unwrap_or_default();
        let transaction_id = h
            .transaction_id
            .clone()
            .or(h.msg_id.clone())
            .unwrap_or_else(|| message_id.clone());
        self.transactions.put(
            &rec.topic,
            &transaction_id,
            TxData {
                commit_log_offset: h.commit_log_offset,
                queue_offset: h.tran_state_table_offset,
                message_id,
            },
        );
        let Some(tx) = self.clients.telemetry(client_id) else {
            return;
        };
        let command = TelemetryCommand {
            status: None,
            command: Some(
                telemetry_command::Command::RecoverOrphanedTransactionCommand(
                    RecoverOrphanedTransactionCommand {
                        message: Some(message),
                        transaction_id,
                    },
                ),
            ),
        };
        if tx.try_send(Ok(command)).is_err() {
            warn!(client = %client_id, "telemetry stream full: orphaned-transaction check dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn offsets_from_offset_msg_ids() {
        assert_eq!(
            commit_offset_of("7F00000100002A9F0000000000001234"),
            Some(0x1234)
        );
        assert_eq!(commit_offset_of("short"), None);
    }

    #[test]
    fn table_is_bounded_and_takes_once() {
        let t = Transactions::default();
        t.record("T", "tx1", "m1", "7F00000100002A9F0000000000000010", 3);
        assert_eq!(t.take("T", "tx1").unwrap().commit_log_offset, 16);
        assert!(t.take("T", "tx1").is_none());
        assert!(t.is_empty());
    }
}
