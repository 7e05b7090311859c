//! ReceiveMessage (`proxy:grpc/v2/consumer/ReceiveMessageActivity.java`,
//! `ReceiveMessageResponseStreamWriter.java`, local mode): a long-polling POP_MESSAGE through the
//! broker's own pop handler in-process (checkpoints in the revive topic, orderly POP locks for
//! FIFO groups, as a remoting POP consumer gets), answered as the Java proxy streams it: first a
//! status, then the messages, each with its receipt handle, then the delivery timestamp.

use bytes::Bytes;
use std::collections::HashMap;

use super::clients::Caller;
use super::pb::{
    Code, FilterType, ReceiveMessageRequest, ReceiveMessageResponse, receive_message_response,
    settings::PubSub,
};
use super::status::{Reject, ok};
use super::{Endpoint, convert, validate};
use crate::broker::client_manager::SubscriptionData;
use crate::broker::pop::{ExtraInfo, PROPERTY_POP_CK, retry_mark};
use crate::limits::{
    GRPC_DEFAULT_INVISIBLE_MS, GRPC_MAX_INVISIBLE_MS, GRPC_MAX_LONG_POLLING_MS,
    GRPC_MAX_RECEIVE_BATCH, GRPC_MIN_INVISIBLE_MS_FOR_RECV, GRPC_MIN_LONG_POLLING_MS,
};
use crate::message::{get_property, parse_properties, properties_to_string, put_property};
use crate::remoting::header::pop::{PopMessageRequestHeader, PopMessageResponseHeader};
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};
use crate::store::message_store::now_millis;
use crate::store::record::MessageRecord;

/// `ReceiveMessageActivity.ILLEGAL_POLLING_TIME_INTRODUCED_CLIENT_VERSION`.
const ILLEGAL_POLLING_TIME_SINCE: &str = "5.0.3";

/// `ConsumeInitMode.MAX`, what the proxy pops with.
const INIT_MODE_MAX: i32 = 1;

/// `MessageConst.PROPERTY_FIRST_POP_TIME`.
const FIRST_POP_TIME: &str = "1ST_POP_TIME";

/// What the caller's request metadata adds to a ReceiveMessage.
#[derive(Debug, Clone, Default)]
pub struct ReceiveContext {
    /// `x-mq-client-version`.
    pub client_version: String,
    /// Milliseconds left before the call's deadline (`grpc-timeout`), if it has one.
    pub remaining_ms: Option<i64>,
}

/// A `grpc-timeout` header value (`<digits><unit>`) in milliseconds.
#[must_use]
pub fn parse_grpc_timeout(v: &str) -> Option<i64> {
    let unit = v.chars().last()?;
    let n: i64 = v.get(..v.len().checked_sub(1)?)?.parse().ok()?;
    Some(match unit {
        'H' => n.saturating_mul(3_600_000),
        'M' => n.saturating_mul(60_000),
        'S' => n.saturating_mul(1000),
        'm' => n,
        'u' => n / 1000,
        'n' => n / 1_000_000,
        _ => return None,
    })
}

/// `validateInvisibleTime(invisibleTime, min)`.
pub(crate) fn check_invisible(ms: i64, min: i64) -> Result<(), Reject> {
    if ms < min {
        return Err(Reject::new(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too small. min is {min}"),
        ));
    }
    if ms > GRPC_MAX_INVISIBLE_MS {
        return Err(Reject::new(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too large. max is {GRPC_MAX_INVISIBLE_MS}"),
        ));
    }
    Ok(())
}

/// `Durations.toMillis`.
pub(crate) fn duration_ms(d: Option<&prost_types::Duration>) -> i64 {
    d.map_or(0, |d| {
        d.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(d.nanos / 1_000_000))
    })
}

/// Java's `String.compareTo` on versions as the proxy does it (lexicographic).
fn older_than(version: &str, than: &str) -> bool {
    version.is_empty() || version < than
}

fn only_status(s: super::pb::Status) -> ReceiveMessageResponse {
    ReceiveMessageResponse {
        content: Some(receive_message_response::Content::Status(s)),
    }
}

/// `FilterUtils.isTagMatched`.
fn tag_matched(sub: &SubscriptionData, tag: Option<&str>) -> bool {
    if sub.expression_type != "TAG" || sub.tags_set.is_empty() || sub.sub_string == "*" {
        return true;
    }
    tag.is_some_and(|t| sub.tags_set.iter().any(|s| s == t))
}

/// `retry queueId value;…` as a map of `(retry, queueId)` to the value.
fn offset_infos(text: &str) -> HashMap<(String, i32), i64> {
    text.split(';')
        .filter_map(|one| {
            let mut f = one.split(' ');
            let mark = f.next()?.to_owned();
            let qid = f.next()?.parse().ok()?;
            let v = f.next()?.parse().ok()?;
            Some(((mark, qid), v))
        })
        .collect()
}

/// `ExtraInfoUtil.parseOrderCountInfo`: `retry key count;…` as a map of `retry@key` to count.
fn order_counts(text: &str) -> HashMap<String, i32> {
    text.split(';')
        .filter_map(|one| {
            let f: Vec<&str> = one.split(' ').collect();
            match f.as_slice() {
                [mark, key, count] => Some((format!("{mark}@{key}"), count.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// The validated parts of a ReceiveMessage.
struct Receive {
    topic: String,
    group: String,
    fifo: bool,
    max_attempts: i32,
    polling_ms: i64,
    invisible_ms: i64,
    /// The endpoint renews the handles (`auto_renew` and `enableProxyAutoRenew`).
    renew: bool,
    subscription: SubscriptionData,
}

impl Endpoint {
    /// ReceiveMessage: the whole response stream, ending with the delivery timestamp.
    pub(crate) async fn receive_message(
        &self,
        caller: Result<Caller, Reject>,
        cx: &ReceiveContext,
        req: ReceiveMessageRequest,
    ) -> Vec<ReceiveMessageResponse> {
        let mut out = match caller {
            Ok(c) => match self.receive(&c, cx, &req).await {
                Ok(v) => v,
                Err(r) => vec![only_status(r.status())],
            },
            Err(r) => vec![only_status(r.status())],
        };
        out.push(ReceiveMessageResponse {
            content: Some(receive_message_response::Content::DeliveryTimestamp(
                convert::timestamp(now_millis()),
            )),
        });
        out
    }

    fn check_receive(
        &self,
        caller: &Caller,
        cx: &ReceiveContext,
        req: &ReceiveMessageRequest,
    ) -> Result<Receive, Reject> {
        let settings = self
            .clients
            .settings(&self.broker, &caller.client_id)
            .filter(|s| matches!(s.pub_sub, Some(PubSub::Subscription(_))))
            .unwrap_or_else(|| {
                super::clients::Clients::consumer_defaults(&self.broker, req.group.as_ref())
            });
        let Some(PubSub::Subscription(sub)) = &settings.pub_sub else {
            return Err(Reject::new(
                Code::InternalServerError,
                "the client did not announce a subscription",
            ));
        };
        let fifo = sub.fifo.unwrap_or(false);
        let max_attempts = settings
            .backoff_policy
            .as_ref()
            .map_or(1, |b| b.max_attempts);
        let request_timeout = duration_ms(settings.request_timeout.as_ref());
        let remaining = cx
            .remaining_ms
            .unwrap_or(GRPC_MAX_LONG_POLLING_MS + request_timeout);
        let mut polling = match &req.long_polling_timeout {
            Some(d) => duration_ms(Some(d)),
            None => remaining - request_timeout / 2,
        };
        polling = polling.clamp(GRPC_MIN_LONG_POLLING_MS, GRPC_MAX_LONG_POLLING_MS);
        if polling > remaining {
            if remaining >= GRPC_MIN_LONG_POLLING_MS {
                polling = remaining;
            } else {
                let code = if older_than(&cx.client_version, ILLEGAL_POLLING_TIME_SINCE) {
                    Code::BadRequest
                } else {
                    Code::IllegalPollingTime
                };
                return Err(Reject::new(
                    code,
                    "The deadline time remaining is not enough for polling, please check network condition",
                ));
            }
        }
        let topic = validate::topic(req.message_queue.as_ref().and_then(|q| q.topic.as_ref()))?;
        let group = validate::consumer_group(req.group.as_ref())?;
        let invisible_ms = if req.auto_renew {
            Some(self.broker.config_i64("defaultInvisibleTimeMills"))
                .filter(|ms| *ms > 0)
                .unwrap_or(GRPC_DEFAULT_INVISIBLE_MS)
        } else {
            let ms = duration_ms(req.invisible_duration.as_ref());
            check_invisible(ms, GRPC_MIN_INVISIBLE_MS_FOR_RECV)?;
            ms
        };
        let filter = req.filter_expression.clone().unwrap_or_default();
        let exp_type = if filter.r#type == FilterType::Sql as i32 {
            "SQL92"
        } else {
            "TAG"
        };
        let exp = if filter.expression.trim().is_empty() {
            "*"
        } else {
            filter.expression.as_str()
        };
        if exp_type == "SQL92" && crate::filter::sql92::compile(exp).is_err() {
            return Err(Reject::new(
                Code::IllegalFilterExpression,
                format!("Parse SQL92 expression failed: {exp}"),
            ));
        }
        let subscription = SubscriptionData::build(topic, exp, Some(exp_type), 0);
        Ok(Receive {
            topic: topic.to_owned(),
            group: group.to_owned(),
            fifo,
            max_attempts,
            polling_ms: polling,
            invisible_ms,
            renew: req.auto_renew && self.broker.config_bool("enableProxyAutoRenew"),
            subscription,
        })
    }

    async fn receive(
        &self,
        caller: &Caller,
        cx: &ReceiveContext,
        req: &ReceiveMessageRequest,
    ) -> Result<Vec<ReceiveMessageResponse>, Reject> {
        let r = self.check_receive(caller, cx, req)?;
        let header = PopMessageRequestHeader {
            consumer_group: r.group.clone(),
            topic: r.topic.clone(),
            queue_id: -1,
            max_msg_nums: req.batch_size.clamp(1, GRPC_MAX_RECEIVE_BATCH),
            invisible_time: r.invisible_ms,
            poll_time: r.polling_ms,
            born_time: Some(now_millis()),
            init_mode: INIT_MODE_MAX,
            exp_type: Some(r.subscription.expression_type.clone()),
            exp: Some(r.subscription.sub_string.clone()),
            order: Some(r.fifo),
            attempt_id: req.attempt_id.clone(),
        };
        let conn = self.client_channel(caller)?;
        let cmd = RemotingCommand::request(
            RequestCode::POP_MESSAGE.code(),
            Some(header.to_ext_fields()),
        );
        let resp = crate::broker::processor::pop::pop_message(&self.broker, &conn, cmd)
            .await
            .ok_or_else(|| Reject::new(Code::InternalServerError, "no pop response"))?;
        let remark = resp.remark.clone().unwrap_or_default();
        match resp.response_code() {
            Some(ResponseCode::SUCCESS) => {}
            Some(ResponseCode::POLLING_FULL) => {
                return Err(Reject::new(Code::TooManyRequests, "polling full"));
            }
            Some(ResponseCode::POLLING_TIMEOUT | ResponseCode::PULL_NOT_FOUND) => {
                return Err(Reject::new(Code::MessageNotFound, "no new message"));
            }
            Some(ResponseCode::TOPIC_NOT_EXIST) => {
                return Err(Reject::new(Code::TopicNotFound, remark));
            }
            _ => {
                return Err(Reject::new(
                    super::status::remoting_code(resp.code),
                    if remark.is_empty() {
                        resp.code.to_string()
                    } else {
                        remark
                    },
                ));
            }
        }
        let h = PopMessageResponseHeader::from_ext_fields(resp.ext_fields.as_ref())
            .map_err(|e| Reject::new(Code::InternalServerError, e.to_string()))?;
        let messages = self.found(caller, &r, &h, resp.body).await;
        if messages.is_empty() {
            return Err(Reject::new(Code::MessageNotFound, "no match message"));
        }
        let mut out = Vec::with_capacity(messages.len() + 2);
        out.push(only_status(ok()));
        out.extend(messages.into_iter().map(|m| ReceiveMessageResponse {
            content: Some(receive_message_response::Content::Message(m)),
        }));
        Ok(out)
    }

    /// The popped records as protobuf messages with their receipt handles
    /// (`LocalMessageService.popMessage` and `ConsumerProcessor.popMessage`): messages whose
    /// tag does not match are acked, messages past the group's attempts go to the DLQ.
    async fn found(
        &self,
        caller: &Caller,
        r: &Receive,
        h: &PopMessageResponseHeader,
        body: Bytes,
    ) -> Vec<super::pb::Message> {
        let starts = offset_infos(h.start_offset_info.as_deref().unwrap_or_default());
        let counts = order_counts(h.order_count_info.as_deref().unwrap_or_default());
        let now = now_millis();
        let mut out = Vec::new();
        let mut buf = body;
        while !buf.is_empty() {
            let Ok((mut m, n)) = MessageRecord::decode(&buf, false) else {
                break;
            };
            buf = buf.slice(n.min(buf.len())..);
            let mut props = parse_properties(&m.properties);
            let ck = match get_property(&props, PROPERTY_POP_CK) {
                Some(ck) => ck.to_owned(),
                None => {
                    let mark = retry_mark(&m.topic);
                    let start = starts
                        .get(&(mark.to_owned(), m.queue_id))
                        .copied()
                        .unwrap_or(m.queue_offset);
                    if r.fifo {
                        let by_msg = format!("{mark}@qo{}%{}", m.queue_id, m.queue_offset);
                        let by_queue = format!("{mark}@{}", m.queue_id);
                        if let Some(c) = counts.get(&by_msg).or_else(|| counts.get(&by_queue))
                            && *c > 0
                        {
                            m.reconsume_times = *c;
                        }
                    }
                    ExtraInfo {
                        ck_offset: start,
                        pop_time: h.pop_time,
                        invisible_time: h.invisible_time,
                        revive_qid: h.revive_qid,
                        retry: mark.to_owned(),
                        broker_name: self.broker.name.clone(),
                        queue_id: m.queue_id,
                        queue_offset: Some(m.queue_offset),
                    }
                    .to_text()
                }
            };
            let handle = format!("{ck} {}", m.physical_offset);
            put_property(&mut props, PROPERTY_POP_CK, &handle);
            if get_property(&props, FIRST_POP_TIME).is_none() {
                put_property(&mut props, FIRST_POP_TIME, &h.pop_time.to_string());
            }
            m.properties = properties_to_string(&props);
            m.topic.clone_from(&r.topic);
            let message_id =
                get_property(&props, "UNIQ_KEY").map_or_else(|| m.msg_id(), str::to_owned);
            if !tag_matched(&r.subscription, get_property(&props, "TAGS")) {
                let _ = self.ack_handle(caller, &r.group, &r.topic, &handle);
                continue;
            }
            if m.reconsume_times >= r.max_attempts {
                let _ = self
                    .forward_handle(caller, &r.group, &r.topic, &handle, &message_id)
                    .await;
                continue;
            }
            if r.renew {
                let _ = self.renewals.add(
                    &caller.client_id,
                    &r.group,
                    &r.topic,
                    &message_id,
                    &handle,
                    m.reconsume_times,
                );
            }
            out.push(convert::to_pb(&m, now));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts() {
        assert_eq!(parse_grpc_timeout("30S"), Some(30_000));
        assert_eq!(parse_grpc_timeout("1500m"), Some(1500));
        assert_eq!(parse_grpc_timeout("2M"), Some(120_000));
        assert_eq!(parse_grpc_timeout("7000000u"), Some(7000));
        assert_eq!(parse_grpc_timeout("S"), None);
        assert_eq!(parse_grpc_timeout(""), None);
    }

    #[test]
    fn infos() {
        let m = offset_infos("0 1 10;2 0 4");
        assert_eq!(m.get(&("0".to_owned(), 1)), Some(&10));
        assert_eq!(m.get(&("2".to_owned(), 0)), Some(&4));
        let c = order_counts("0 1 2;0 qo1%7 3");
        assert_eq!(c.get("0@1"), Some(&2));
        assert_eq!(c.get("0@qo1%7"), Some(&3));
    }

    #[test]
    fn invisible_bounds() {
        assert_eq!(
            check_invisible(5_000, GRPC_MIN_INVISIBLE_MS_FOR_RECV)
                .unwrap_err()
                .code,
            Code::IllegalInvisibleTime
        );
        assert!(check_invisible(GRPC_MAX_INVISIBLE_MS + 1, 0).is_err());
        assert!(check_invisible(30_000, GRPC_MIN_INVISIBLE_MS_FOR_RECV).is_ok());
    }

    #[test]
    fn versions() {
        assert!(older_than("5.0.2", ILLEGAL_POLLING_TIME_SINCE));
        assert!(!older_than("5.0.8", ILLEGAL_POLLING_TIME_SINCE));
        assert!(older_than("", ILLEGAL_POLLING_TIME_SINCE));
    }
}
