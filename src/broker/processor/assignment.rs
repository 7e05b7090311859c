//! QUERY_ASSIGNMENT, SET_MESSAGE_REQUEST_MODE and GET_ALL_MESSAGE_REQUEST_MODE
//! (`broker:processor/QueryAssignmentProcessor.java`, `MessageRequestModeManager`): server-side
//! rebalance for clients with `clientRebalance=false` (over the topic's route from the name
//! server), and the PULL/POP mode per topic and group that `mqadmin setConsumeMode` sets.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::broker::Broker;
use crate::broker::config_file::ConfigManager as _;
use crate::broker::pop::RETRY_PREFIX;
use crate::broker::pop::request_mode::RequestMode;
use crate::broker::register::namesrv_addrs;
use crate::net::ConnectionHandle;
use crate::remoting::body::topic_config::PERM_READ;
use crate::remoting::error::HeaderError;
use crate::remoting::header::namesrv::GetRouteInfoRequestHeader;
use crate::remoting::json_tree::Node;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};
use crate::store::message_store::now_millis;

/// A message queue, ordered as Java's `MessageQueue.compareTo` (topic, broker, queue id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Mq {
    topic: String,
    broker: String,
    queue_id: i32,
}

/// `AllocateMessageQueueAveragely` ("AVG").
fn allocate_avg(mq_all: &[Mq], cid_all: &[String], cid: &str) -> Vec<Mq> {
    let Some(index) = cid_all.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    let (n, c) = (mq_all.len(), cid_all.len());
    if n == 0 {
        return Vec::new();
    }
    let m = n % c;
    let average = if n <= c {
        1
    } else if m > 0 && index < m {
        n / c + 1
    } else {
        n / c
    };
    let start = if m > 0 && index < m {
        index * average
    } else {
        index * average + m
    };
    let range = average.min(n.saturating_sub(start));
    (0..range)
        .filter_map(|i| mq_all.get((start + i) % n).cloned())
        .collect()
}

/// `AllocateMessageQueueAveragelyByCircle` ("AVG_BY_CIRCLE").
fn allocate_circle(mq_all: &[Mq], cid_all: &[String], cid: &str) -> Vec<Mq> {
    let Some(index) = cid_all.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    mq_all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % cid_all.len() == index)
        .map(|(_, q)| q.clone())
        .collect()
}

fn allocate(strategy: &str, mq_all: &[Mq], cid_all: &[String], cid: &str) -> Option<Vec<Mq>> {
    match strategy {
        "AVG" => Some(allocate_avg(mq_all, cid_all, cid)),
        "AVG_BY_CIRCLE" => Some(allocate_circle(mq_all, cid_all, cid)),
        _ => None,
    }
}

/// `allocate4Pop`: every client pops every queue (queue id -1) unless `popShareQueueNum`
/// limits sharing to the next N clients' queues.
fn allocate_pop(
    strategy: &str,
    mq_all: &[Mq],
    cid_all: &[String],
    cid: &str,
    share: i32,
) -> Option<Vec<Mq>> {
    let share_n = usize::try_from(share).unwrap_or(0);
    if share <= 0 || share_n >= cid_all.len().saturating_sub(1) {
        return Some(
            mq_all
                .iter()
                .map(|q| Mq {
                    queue_id: -1,
                    ..q.clone()
                })
                .collect(),
        );
    }
    if cid_all.len() <= mq_all.len() {
        let mut out = allocate(strategy, mq_all, cid_all, cid)?;
        if let Some(mut index) = cid_all.iter().position(|c| c == cid) {
            for _ in 0..share_n {
                index = (index + 1) % cid_all.len();
                let other = cid_all.get(index)?;
                out.extend(allocate(strategy, mq_all, cid_all, other)?);
            }
        }
        return Some(out);
    }
    let index = cid_all.iter().position(|c| c == cid)?;
    Some(
        mq_all
            .get(index % mq_all.len().max(1))
            .cloned()
            .into_iter()
            .collect(),
    )
}

fn mq_node(q: &Mq) -> Node {
    Node::object(vec![
        ("brokerName", Node::str(&q.broker)),
        ("queueId", Node::Int(i64::from(q.queue_id))),
        ("topic", Node::str(&q.topic)),
    ])
}

/// How long a topic route learned from the name server is used (`TopicRouteInfoManager`
/// refreshes every 30 s).
const ROUTE_TTL_MS: i64 = 30_000;

/// `TopicRouteInfoManager.getTopicSubscribeInfo`: every readable queue of every broker in the
/// topic's route, from the name server (cached 30 s); this broker's own queues when no name
/// server answers.
async fn subscribe_info(broker: &Broker, topic: &str) -> Option<Vec<Mq>> {
    let now = now_millis();
    if let Some(qs) = broker.pop.cached_route(topic, now - ROUTE_TTL_MS) {
        return Some(route_queues(topic, &qs));
    }
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: Some(true),
    };
    for addr in namesrv_addrs(broker) {
        let req = RemotingCommand::request(
            RequestCode::GET_ROUTEINFO_BY_TOPIC.code(),
            Some(header.to_ext_fields()),
        );
        let Ok(resp) = broker
            .namesrv
            .invoke(&addr, req, Duration::from_secs(3))
            .await
        else {
            continue;
        };
        if resp.code == ResponseCode::TOPIC_NOT_EXIST.code() {
            return local_queues(broker, topic);
        }
        let Some(qs) = (resp.code == 0)
            .then(|| readable_queue_datas(&resp.body))
            .flatten()
        else {
            continue;
        };
        broker.pop.cache_route(topic, qs.clone(), now);
        return Some(route_queues(topic, &qs));
    }
    local_queues(broker, topic)
}

/// `(brokerName, readQueueNums)` of the readable queue datas of a route body.
fn readable_queue_datas(body: &[u8]) -> Option<Vec<(String, i32)>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let qds = v.get("queueDatas")?.as_array()?;
    Some(
        qds.iter()
            .filter(|q| {
                q.get("perm").and_then(Value::as_i64).unwrap_or(0) & i64::from(PERM_READ) != 0
            })
            .filter_map(|q| {
                Some((
                    q.get("brokerName")?.as_str()?.to_owned(),
                    i32::try_from(q.get("readQueueNums")?.as_i64()?).ok()?,
                ))
            })
            .collect(),
    )
}

fn route_queues(topic: &str, qs: &[(String, i32)]) -> Vec<Mq> {
    qs.iter()
        .flat_map(|(b, n)| {
            (0..*n).map(move |q| Mq {
                topic: topic.to_owned(),
                broker: b.clone(),
                queue_id: q,
            })
        })
        .collect()
}

fn local_queues(broker: &Broker, topic: &str) -> Option<Vec<Mq>> {
    let tc = broker.topics.get(topic)?;
    if tc.perm & PERM_READ == 0 {
        return Some(Vec::new());
    }
    Some(
        (0..tc.read_queue_nums)
            .map(|q| Mq {
                topic: topic.to_owned(),
                broker: broker.name.clone(),
                queue_id: q,
            })
            .collect(),
    )
}

/// QUERY_ASSIGNMENT (400).
pub(crate) async fn query_assignment(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "QueryAssignmentRequestBody is not JSON",
        ));
    };
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    let (topic, group, cid, strategy, model) = (
        s("topic"),
        s("consumerGroup"),
        s("clientId"),
        s("strategyName"),
        s("messageModel"),
    );
    let mode = broker.pop.modes.get(topic, group).unwrap_or_else(|| {
        let m = if topic.starts_with(RETRY_PREFIX) {
            "PULL".to_owned()
        } else {
            broker.config_str("defaultMessageRequestMode")
        };
        let share = if m == "POP" {
            i32::try_from(broker.config_i64("defaultPopShareQueueNum")).unwrap_or(-1)
        } else {
            0
        };
        RequestMode {
            topic: topic.to_owned(),
            consumer_group: group.to_owned(),
            mode: m,
            pop_share_queue_num: share,
        }
    });
    let assigned: Option<Vec<Mq>> = match model {
        "BROADCASTING" => subscribe_info(broker, topic).await,
        "CLUSTERING" => subscribe_info(broker, topic).await.and_then(|mut mq_all| {
            if !broker.config_bool("serverLoadBalancerEnable") {
                return Some(mq_all);
            }
            let cid_all = broker.clients.consumer_ids(group);
            if cid_all.is_empty() {
                return None;
            }
            mq_all.sort();
            if mode.mode == "POP" {
                allocate_pop(strategy, &mq_all, &cid_all, cid, mode.pop_share_queue_num)
            } else {
                allocate(strategy, &mq_all, &cid_all, cid)
            }
        }),
        _ => Some(Vec::new()),
    };
    let text = match assigned {
        None => "{}".to_owned(),
        Some(mut qs) => {
            qs.sort();
            qs.dedup();
            let items = qs
                .iter()
                .map(|q| {
                    Node::object(vec![
                        ("messageQueue", mq_node(q)),
                        ("mode", Node::str(&mode.mode)),
                    ])
                })
                .collect();
            Node::object(vec![("messageQueueAssignments", Node::Array(items))]).to_compact()
        }
    };
    Some(RemotingCommand::success().with_body(text.into_bytes()))
}

/// SET_MESSAGE_REQUEST_MODE (401): persisted before the answer, as Java's `persist()`.
pub(crate) fn set_message_request_mode(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    let mode = serde_json::from_slice::<Value>(&req.body)
        .ok()
        .as_ref()
        .and_then(RequestMode::from_value);
    let Some(mode) = mode else {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            "SetMessageRequestModeRequestBody needs topic and consumerGroup",
        ));
    };
    if mode.mode != "PULL" && mode.mode != "POP" {
        return Ok(RemotingCommand::error(
            ResponseCode::SYSTEM_ERROR,
            format!("mode {} is not PULL or POP", mode.mode),
        ));
    }
    if mode.topic.starts_with(RETRY_PREFIX) {
        return Ok(RemotingCommand::error(
            ResponseCode::NO_PERMISSION,
            "retry topic is not allowed to set mode",
        ));
    }
    if broker.topics.get(&mode.topic).is_none() {
        return Ok(RemotingCommand::error(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", mode.topic),
        ));
    }
    if broker
        .groups
        .find_or_create(
            &mode.consumer_group,
            broker.config_bool("autoCreateSubscriptionGroup"),
        )
        .is_none()
    {
        return Ok(RemotingCommand::error(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            "subscription group does not exist",
        ));
    }
    broker.pop.modes.set(mode);
    broker.pop.modes.persist_now();
    Ok(RemotingCommand::success())
}

/// GET_ALL_MESSAGE_REQUEST_MODE (402, a 5.x slave's `syncMessageRequestMode`).
pub(crate) fn get_all_message_request_mode(
    broker: &Arc<Broker>,
    _c: &ConnectionHandle,
    _req: &RemotingCommand,
) -> Result<RemotingCommand, HeaderError> {
    Ok(RemotingCommand::success().with_body(broker.pop.modes.to_node().to_compact().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mqs(n: i32) -> Vec<Mq> {
        (0..n)
            .map(|q| Mq {
                topic: "T".into(),
                broker: "b".into(),
                queue_id: q,
            })
            .collect()
    }

    #[test]
    fn averagely_like_java() {
        let cids = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let ids = |v: Vec<Mq>| v.iter().map(|q| q.queue_id).collect::<Vec<_>>();
        assert_eq!(ids(allocate_avg(&mqs(8), &cids, "a")), vec![0, 1, 2]);
        assert_eq!(ids(allocate_avg(&mqs(8), &cids, "b")), vec![3, 4, 5]);
        assert_eq!(ids(allocate_avg(&mqs(8), &cids, "c")), vec![6, 7]);
        assert_eq!(ids(allocate_circle(&mqs(8), &cids, "b")), vec![1, 4, 7]);
    }

    #[test]
    fn pop_shares_every_queue() {
        let cids = vec!["a".to_owned(), "b".to_owned()];
        let r = allocate_pop("AVG", &mqs(8), &cids, "a", 8).unwrap();
        assert!(r.iter().all(|q| q.queue_id == -1));
        let r = allocate_pop(
            "AVG",
            &mqs(8),
            &["a".into(), "b".into(), "c".into()],
            "a",
            1,
        )
        .unwrap();
        assert_eq!(r.len(), 6);
    }
}
