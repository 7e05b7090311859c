//! RecallMessage (`proxy:grpc/v2/producer/RecallMessageActivity.java`, 5.3): cancels a delay
//! message before it is due with the handle its send result carried, through the broker's
//! RECALL_MESSAGE handler in-process.

use super::pb::{Code, RecallMessageRequest, RecallMessageResponse};
use super::status::{Reject, ok};
use super::{Endpoint, validate};
use crate::remoting::header::send::RecallMessageRequestHeader;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

impl Endpoint {
    /// RecallMessage.
    pub(crate) fn recall_message(
        &self,
        caller: &super::clients::Caller,
        req: &RecallMessageRequest,
    ) -> RecallMessageResponse {
        match self.recall(caller, req) {
            Ok(message_id) => RecallMessageResponse {
                status: Some(ok()),
                message_id,
            },
            Err(r) => RecallMessageResponse {
                status: Some(r.status()),
                message_id: String::new(),
            },
        }
    }

    fn recall(
        &self,
        caller: &super::clients::Caller,
        req: &RecallMessageRequest,
    ) -> Result<String, Reject> {
        let topic = validate::topic(req.topic.as_ref())?;
        let tc = self.topic_config(topic)?;
        // `ProducerProcessor.recallMessage`: only a DELAY (or MIXED) topic has recallable messages.
        super::route::check_message_type(&super::route::topic_message_type(&tc), "DELAY")?;
        let header = RecallMessageRequestHeader {
            producer_group: None,
            topic: topic.to_owned(),
            recall_handle: req.recall_handle.clone(),
        };
        let cmd = RemotingCommand::request(
            RequestCode::RECALL_MESSAGE.code(),
            Some(header.to_ext_fields()),
        );
        let conn = self
            .clients
            .connection(caller)
            .ok_or_else(|| Reject::new(Code::InternalServerError, "client table unavailable"))?;
        let resp = crate::broker::processor::recall::recall_message(&self.broker, &conn, &cmd)
            .map_err(|e| Reject::new(Code::InternalServerError, e.to_string()))?;
        if resp.response_code() != Some(ResponseCode::SUCCESS) {
            return Err(Reject::new(
                Code::InternalServerError,
                resp.remark.clone().unwrap_or_default(),
            ));
        }
        Ok(resp
            .ext_fields
            .as_ref()
            .and_then(|e| e.get("msgId"))
            .unwrap_or_default()
            .to_owned())
    }
}
