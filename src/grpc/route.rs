//! QueryRoute and QueryAssignment (`proxy:grpc/v2/route/RouteActivity.java`, local mode): the
//! queues of this broker, with this endpoint as the broker's address.

use super::pb::{
    Address, AddressScheme, Assignment, Broker as PbBroker, Code, Endpoints, MessageQueue,
    MessageType, Permission, QueryAssignmentRequest, QueryAssignmentResponse, QueryRouteRequest,
    QueryRouteResponse, Resource,
};
use super::status::{Reject, ok, status};
use super::{Endpoint, validate};
use crate::remoting::body::topic_config::{PERM_READ, PERM_WRITE, TopicConfig};

/// `PermName.isAccessible`-style checks.
fn perm_of(perm: i32) -> Permission {
    match (perm & PERM_READ != 0, perm & PERM_WRITE != 0) {
        (true, true) => Permission::ReadWrite,
        (true, false) => Permission::Read,
        (false, true) => Permission::Write,
        (false, false) => Permission::None,
    }
}

/// `TopicConfig.getTopicMessageType`: the attribute `message.type`, NORMAL when absent.
#[must_use]
pub fn topic_message_type(tc: &TopicConfig) -> String {
    serde_json::from_str::<serde_json::Value>(&tc.attributes_json)
        .ok()
        .and_then(|v| {
            v.get("message.type")
                .and_then(|t| t.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| "NORMAL".to_owned())
}

/// `DefaultTopicMessageTypeValidator.validate(topicType, messageType)`: the message's type must
/// be the topic's, unless the topic is MIXED.
pub fn check_message_type(topic_type: &str, message_type: &str) -> Result<(), Reject> {
    if message_type == "UNSPECIFIED" || (message_type != topic_type && topic_type != "MIXED") {
        return Err(Reject::new(
            Code::MessagePropertyConflictWithType,
            format!(
                "TopicMessageType validate failed, the expected type is {topic_type}, but actual type is {message_type}"
            ),
        ));
    }
    Ok(())
}

/// The topic's message type as the queues' accepted types (`parseTopicMessageType`).
#[must_use]
pub fn accepted_types(tc: &TopicConfig) -> Vec<i32> {
    let ty = topic_message_type(tc);
    let one = |t: MessageType| vec![t as i32];
    match ty.as_str() {
        "NORMAL" => one(MessageType::Normal),
        "FIFO" => one(MessageType::Fifo),
        "DELAY" => one(MessageType::Delay),
        "TRANSACTION" => one(MessageType::Transaction),
        "MIXED" => vec![
            MessageType::Normal as i32,
            MessageType::Fifo as i32,
            MessageType::Delay as i32,
            MessageType::Transaction as i32,
        ],
        _ => one(MessageType::Unspecified),
    }
}

impl Endpoint {
    /// The topic's config, or Java's TOPIC_NOT_FOUND.
    pub(crate) fn topic_config(&self, topic: &str) -> Result<TopicConfig, Reject> {
        self.broker.topics.get(topic).ok_or_else(|| {
            Reject::new(
                Code::TopicNotFound,
                format!("No topic route info in name server for the topic: {topic}"),
            )
        })
    }

    /// The broker as clients must address it: the endpoints they used, on the gRPC port
    /// (`convertToAddressList` with `useEndpointPortFromRequest=false`).
    fn pb_broker(&self, requested: Option<&Endpoints>) -> PbBroker {
        let endpoints = match requested.filter(|e| !e.addresses.is_empty()) {
            Some(e) => Endpoints {
                scheme: e.scheme,
                addresses: e
                    .addresses
                    .iter()
                    .map(|a| Address {
                        host: a.host.clone(),
                        port: i32::from(self.port),
                    })
                    .collect(),
            },
            None => Endpoints {
                scheme: AddressScheme::IPv4 as i32,
                addresses: vec![Address {
                    host: self.broker.config_str("brokerIP1"),
                    port: i32::from(self.port),
                }],
            },
        };
        PbBroker {
            name: self.broker.name.clone(),
            id: 0,
            endpoints: Some(endpoints),
        }
    }

    /// QueryRoute.
    pub(crate) fn query_route(&self, req: &QueryRouteRequest) -> QueryRouteResponse {
        match self.route(req) {
            Ok(message_queues) => QueryRouteResponse {
                status: Some(ok()),
                message_queues,
            },
            Err(r) => QueryRouteResponse {
                status: Some(r.status()),
                message_queues: Vec::new(),
            },
        }
    }

    fn route(&self, req: &QueryRouteRequest) -> Result<Vec<MessageQueue>, Reject> {
        let topic = validate::topic(req.topic.as_ref())?;
        let tc = self.topic_config(topic)?;
        let broker = self.pb_broker(req.endpoints.as_ref());
        let resource = Resource {
            resource_namespace: req
                .topic
                .as_ref()
                .map(|t| t.resource_namespace.clone())
                .unwrap_or_default(),
            name: topic.to_owned(),
        };
        let types = accepted_types(&tc);
        let perm = tc.perm & self.broker.permission();
        // `genMessageQueueFromQueueData`: read-only, write-only, read-write, then no-access.
        let (r, w, rw, n) = match (perm & PERM_READ != 0, perm & PERM_WRITE != 0) {
            (true, true) => {
                let rw = tc.write_queue_nums.min(tc.read_queue_nums);
                (tc.read_queue_nums - rw, tc.write_queue_nums - rw, rw, 0)
            }
            (false, true) => (0, tc.write_queue_nums, 0, 0),
            (true, false) => (tc.read_queue_nums, 0, 0, 0),
            (false, false) => (0, 0, 0, tc.write_queue_nums.max(tc.read_queue_nums).max(1)),
        };
        let mut out = Vec::new();
        let mut id = 0;
        for (count, p) in [
            (r, Permission::Read),
            (w, Permission::Write),
            (rw, Permission::ReadWrite),
            (n, Permission::None),
        ] {
            for _ in 0..count.max(0) {
                out.push(MessageQueue {
                    topic: Some(resource.clone()),
                    id,
                    permission: p as i32,
                    broker: Some(broker.clone()),
                    accept_message_types: types.clone(),
                });
                id += 1;
            }
        }
        Ok(out)
    }

    /// QueryAssignment: one assignment per readable queue set of this broker (queue id -1, the
    /// broker picks), or every queue for an orderly group.
    pub(crate) fn query_assignment(&self, req: &QueryAssignmentRequest) -> QueryAssignmentResponse {
        match self.assignment(req) {
            Ok(assignments) if assignments.is_empty() => QueryAssignmentResponse {
                status: Some(status(Code::Forbidden, "no readable queue")),
                assignments,
            },
            Ok(assignments) => QueryAssignmentResponse {
                status: Some(ok()),
                assignments,
            },
            Err(r) => QueryAssignmentResponse {
                status: Some(r.status()),
                assignments: Vec::new(),
            },
        }
    }

    fn assignment(&self, req: &QueryAssignmentRequest) -> Result<Vec<Assignment>, Reject> {
        let topic = validate::topic(req.topic.as_ref())?;
        let group = validate::consumer_group(req.group.as_ref())?;
        let tc = self.topic_config(topic)?;
        let perm = tc.perm & self.broker.permission();
        if perm & PERM_READ == 0 || tc.read_queue_nums <= 0 {
            return Ok(Vec::new());
        }
        let fifo = self
            .broker
            .groups
            .get(group)
            .is_some_and(|g| g.consume_message_orderly);
        let broker = self.pb_broker(req.endpoints.as_ref());
        let queue = |id| Assignment {
            message_queue: Some(MessageQueue {
                topic: req.topic.clone(),
                id,
                permission: perm_of(perm) as i32,
                broker: Some(broker.clone()),
                accept_message_types: Vec::new(),
            }),
        };
        Ok(if fifo {
            (0..tc.read_queue_nums).map(queue).collect()
        } else {
            vec![queue(-1)]
        })
    }
}
