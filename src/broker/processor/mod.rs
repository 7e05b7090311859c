//! The broker's dispatch table and shared handler helpers.
//!
//! One row per request code: Java name, handler, and whether it writes. Handlers are async
//! (sends may wait for a flush, pulls may be held); each returns the response, or `None` when
//! it answered by itself (pull bodies sent as mapped slices) or must not answer (oneway).

pub mod acl;
pub mod admin;
pub mod admin_ops;
pub mod admin_relay;
pub mod assignment;
pub mod auth;
pub mod client;
pub mod ha;
pub mod lock;
pub mod offset;
pub mod ops_routes;
pub mod pop;
pub mod pop_ack;
pub mod pop_notify;
pub mod pull;
pub mod query;
pub mod recall;
pub mod reply;
pub mod send;
pub mod transaction;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tracing::debug;

use super::Broker;
use crate::broker::prom::CreateKind;
use crate::ha::BrokerRole;
use crate::net::ConnectionHandle;
use crate::remoting::error::HeaderError;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// A boxed handler future.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Option<RemotingCommand>> + Send + 'a>>;

/// A handler.
type Handler =
    for<'a> fn(&'a Arc<Broker>, &'a ConnectionHandle, RemotingCommand) -> HandlerFuture<'a>;

/// One row of the dispatch table.
#[derive(Debug)]
pub struct Route {
    /// Request code.
    pub code: RequestCode,
    handler: Handler,
    /// True when the handler changes state.
    pub writes: bool,
}

const fn row(code: RequestCode, handler: Handler, writes: bool) -> Route {
    Route {
        code,
        handler,
        writes,
    }
}

/// Wraps a synchronous handler `fn(&Arc<Broker>, &ConnectionHandle, &RemotingCommand) ->
/// Result<RemotingCommand, HeaderError>` as an async table entry. With `durable` (admin changes
/// of `topics.json` or `subscriptionGroup.json`) the answer goes out once the change is on
/// disk, as Java's handlers persist before answering.
macro_rules! sync_handler {
    ($name:ident => $f:path) => {
        sync_handler!(@wrap $name => $f, false);
    };
    ($name:ident => $f:path, durable) => {
        sync_handler!(@wrap $name => $f, true);
    };
    (@wrap $name:ident => $f:path, $durable:expr) => {
        fn $name<'a>(
            b: &'a Arc<Broker>,
            c: &'a ConnectionHandle,
            req: RemotingCommand,
        ) -> HandlerFuture<'a> {
            Box::pin(async move {
                let response = $crate::broker::processor::header_result($f(b, c, &req));
                if $durable {
                    b.config_durable().await;
                }
                Some(response)
            })
        }
    };
}
pub(crate) use sync_handler;

sync_handler!(heart_beat => client::heart_beat);
sync_handler!(unregister_client => client::unregister_client);
sync_handler!(consumer_list => client::consumer_list_by_group);
sync_handler!(check_client_config => client::check_client_config);
sync_handler!(query_offset => offset::query_consumer_offset);
sync_handler!(update_offset => offset::update_consumer_offset);
sync_handler!(max_offset => offset::get_max_offset);
sync_handler!(min_offset => offset::get_min_offset);
sync_handler!(search_offset => offset::search_offset_by_timestamp);
sync_handler!(earliest_time => offset::get_earliest_msg_storetime);
sync_handler!(lock_batch => lock::lock_batch_mq);
sync_handler!(unlock_batch => lock::unlock_batch_mq);
sync_handler!(update_topic => admin::update_and_create_topic, durable);
sync_handler!(delete_topic => admin::delete_topic, durable);
sync_handler!(all_topic_config => admin::get_all_topic_config);
sync_handler!(topic_config => admin::get_topic_config);
sync_handler!(runtime_info => admin::get_broker_runtime_info);
sync_handler!(topic_stats => admin::get_topic_stats_info);
sync_handler!(consume_stats => admin::get_consume_stats);
sync_handler!(consumer_connections => admin::get_consumer_connection_list);
sync_handler!(producer_connections => admin::get_producer_connection_list);
sync_handler!(update_group => admin::update_and_create_subscription_group, durable);
sync_handler!(all_groups => admin::get_all_subscription_group);
sync_handler!(delete_group => admin::delete_subscription_group, durable);
sync_handler!(broker_config => admin::get_broker_config);
sync_handler!(update_broker_config => admin::update_broker_config);
sync_handler!(consume_by_who => admin::query_topic_consume_by_who);
sync_handler!(all_consumer_offsets => admin::get_all_consumer_offset);
sync_handler!(all_delay_offsets => admin::get_all_delay_offset);
sync_handler!(all_request_modes => assignment::get_all_message_request_mode);
sync_handler!(set_request_mode => assignment::set_message_request_mode);
sync_handler!(timer_check_point => ha::get_timer_check_point);
sync_handler!(timer_metrics => ha::get_timer_metrics);
sync_handler!(ha_status => ha::get_broker_ha_status);
sync_handler!(query_message => query::query_message);
sync_handler!(acl_update => acl::update_and_create_acl_config);
sync_handler!(acl_delete => acl::delete_acl_config);
sync_handler!(acl_info => acl::get_broker_cluster_acl_info);
sync_handler!(acl_white => acl::update_global_white_addrs);
sync_handler!(view_message => query::view_message_by_id);
sync_handler!(auth_create_user => auth::create_user);
sync_handler!(auth_update_user => auth::update_user);
sync_handler!(auth_delete_user => auth::delete_user);
sync_handler!(auth_get_user => auth::get_user);
sync_handler!(auth_list_user => auth::list_user);
sync_handler!(auth_create_acl => auth::create_acl);
sync_handler!(auth_update_acl => auth::update_acl);
sync_handler!(auth_delete_acl => auth::delete_acl);
sync_handler!(auth_get_acl => auth::get_acl);
sync_handler!(auth_list_acl => auth::list_acl);
sync_handler!(recall_message => recall::recall_message);

fn send_message<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(send::send_message(b, c, req))
}

fn send_batch<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(send::send_batch_message(b, c, req))
}

fn send_back<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(send::consumer_send_msg_back(b, c, req))
}

fn send_reply<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(reply::send_reply_message(b, c, req))
}

fn end_transaction<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(transaction::end_transaction(b, c, req))
}

fn pop_message<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(pop::pop_message(b, c, req))
}

fn ack_message<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(async move { Some(pop_ack::ack_message_request(b, c, &req)) })
}

fn batch_ack_message<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(async move { Some(pop_ack::batch_ack_message(b, c, &req)) })
}

fn change_invisible_time<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(async move { Some(pop_ack::change_invisible_time(b, c, &req)) })
}

fn notification<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(pop_notify::notification(b, c, req))
}

fn query_assignment<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(assignment::query_assignment(b, c, req))
}

fn pull_message<'a>(
    b: &'a Arc<Broker>,
    c: &'a ConnectionHandle,
    req: RemotingCommand,
) -> HandlerFuture<'a> {
    Box::pin(pull::pull_message(b, c, req))
}

/// Every request code the broker answers.
pub static TABLE: &[Route] = &[
    row(RequestCode::SEND_MESSAGE, send_message, true),
    row(RequestCode::SEND_MESSAGE_V2, send_message, true),
    row(RequestCode::SEND_BATCH_MESSAGE, send_batch, true),
    row(RequestCode::CONSUMER_SEND_MSG_BACK, send_back, true),
    row(RequestCode::END_TRANSACTION, end_transaction, true),
    row(RequestCode::RECALL_MESSAGE, recall_message, true),
    row(RequestCode::PULL_MESSAGE, pull_message, false),
    row(RequestCode::LITE_PULL_MESSAGE, pull_message, false),
    row(RequestCode::POP_MESSAGE, pop_message, true),
    row(RequestCode::ACK_MESSAGE, ack_message, true),
    row(RequestCode::BATCH_ACK_MESSAGE, batch_ack_message, true),
    row(
        RequestCode::CHANGE_MESSAGE_INVISIBLETIME,
        change_invisible_time,
        true,
    ),
    row(RequestCode::NOTIFICATION, notification, false),
    row(RequestCode::QUERY_ASSIGNMENT, query_assignment, false),
    row(
        RequestCode::SET_MESSAGE_REQUEST_MODE,
        set_request_mode,
        true,
    ),
    row(RequestCode::HEART_BEAT, heart_beat, true),
    row(RequestCode::UNREGISTER_CLIENT, unregister_client, true),
    row(
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        consumer_list,
        false,
    ),
    row(RequestCode::CHECK_CLIENT_CONFIG, check_client_config, false),
    row(RequestCode::QUERY_CONSUMER_OFFSET, query_offset, false),
    row(RequestCode::UPDATE_CONSUMER_OFFSET, update_offset, true),
    row(RequestCode::GET_MAX_OFFSET, max_offset, false),
    row(RequestCode::GET_MIN_OFFSET, min_offset, false),
    row(
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
        search_offset,
        false,
    ),
    row(
        RequestCode::GET_EARLIEST_MSG_STORETIME,
        earliest_time,
        false,
    ),
    row(RequestCode::LOCK_BATCH_MQ, lock_batch, true),
    row(RequestCode::UNLOCK_BATCH_MQ, unlock_batch, true),
    row(RequestCode::UPDATE_AND_CREATE_TOPIC, update_topic, true),
    row(RequestCode::DELETE_TOPIC_IN_BROKER, delete_topic, true),
    row(RequestCode::GET_ALL_TOPIC_CONFIG, all_topic_config, false),
    row(RequestCode::GET_TOPIC_CONFIG, topic_config, false),
    row(RequestCode::GET_BROKER_RUNTIME_INFO, runtime_info, false),
    row(RequestCode::GET_TOPIC_STATS_INFO, topic_stats, false),
    row(RequestCode::GET_CONSUME_STATS, consume_stats, false),
    row(
        RequestCode::GET_CONSUMER_CONNECTION_LIST,
        consumer_connections,
        false,
    ),
    row(
        RequestCode::GET_PRODUCER_CONNECTION_LIST,
        producer_connections,
        false,
    ),
    row(
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        update_group,
        true,
    ),
    row(
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
        all_groups,
        false,
    ),
    row(RequestCode::DELETE_SUBSCRIPTIONGROUP, delete_group, true),
    row(RequestCode::GET_BROKER_CONFIG, broker_config, false),
    row(
        RequestCode::UPDATE_BROKER_CONFIG,
        update_broker_config,
        true,
    ),
    row(
        RequestCode::QUERY_TOPIC_CONSUME_BY_WHO,
        consume_by_who,
        false,
    ),
    row(
        RequestCode::GET_ALL_CONSUMER_OFFSET,
        all_consumer_offsets,
        false,
    ),
    row(RequestCode::GET_ALL_DELAY_OFFSET, all_delay_offsets, false),
    row(
        RequestCode::GET_ALL_MESSAGE_REQUEST_MODE,
        all_request_modes,
        false,
    ),
    row(RequestCode::GET_TIMER_CHECK_POINT, timer_check_point, false),
    row(RequestCode::GET_TIMER_METRICS, timer_metrics, false),
    row(RequestCode::GET_BROKER_HA_STATUS, ha_status, false),
    row(RequestCode::QUERY_MESSAGE, query_message, false),
    row(RequestCode::VIEW_MESSAGE_BY_ID, view_message, false),
    row(RequestCode::SEND_REPLY_MESSAGE, send_reply, true),
    row(RequestCode::SEND_REPLY_MESSAGE_V2, send_reply, true),
    row(RequestCode::UPDATE_AND_CREATE_ACL_CONFIG, acl_update, true),
    row(RequestCode::DELETE_ACL_CONFIG, acl_delete, true),
    row(RequestCode::GET_BROKER_CLUSTER_ACL_INFO, acl_info, false),
    row(
        RequestCode::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        acl_white,
        true,
    ),
    row(RequestCode::AUTH_CREATE_USER, auth_create_user, true),
    row(RequestCode::AUTH_UPDATE_USER, auth_update_user, true),
    row(RequestCode::AUTH_DELETE_USER, auth_delete_user, true),
    row(RequestCode::AUTH_GET_USER, auth_get_user, false),
    row(RequestCode::AUTH_LIST_USER, auth_list_user, false),
    row(RequestCode::AUTH_CREATE_ACL, auth_create_acl, true),
    row(RequestCode::AUTH_UPDATE_ACL, auth_update_acl, true),
    row(RequestCode::AUTH_DELETE_ACL, auth_delete_acl, true),
    row(RequestCode::AUTH_GET_ACL, auth_get_acl, false),
    row(RequestCode::AUTH_LIST_ACL, auth_list_acl, false),
];

/// What a slave refuses (Java 5.x: the send processor's `rejectRequest`).
const SLAVE_REJECTS: &[RequestCode] = &[
    RequestCode::SEND_MESSAGE,
    RequestCode::SEND_MESSAGE_V2,
    RequestCode::SEND_BATCH_MESSAGE,
    RequestCode::CONSUMER_SEND_MSG_BACK,
    RequestCode::SEND_REPLY_MESSAGE,
    RequestCode::SEND_REPLY_MESSAGE_V2,
];

/// Answers one request and records its `rocketmq_rpc_latency` (Java records it when the
/// response is written; a request answered with nothing is not recorded, as in Java).
pub async fn dispatch(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    // The connection stamped the frame when it read it: one clock read per request, not three.
    let began = crate::net::arrived().unwrap_or_else(std::time::Instant::now);
    let (code, oneway) = (request.code, request.is_oneway());
    let created = created(&request);
    let response = match broker.pools.enter(code) {
        Ok(ticket) => {
            crate::broker::request_pools::with_ticket(ticket, route(broker, conn, request)).await
        }
        // Java's executor refused the task (`RejectedExecutionException`), or its
        // `BrokerFastFailure` dropped it from the queue.
        Err(refusal) => (!oneway).then(|| refusal.response()),
    };
    let Some(r) = &response else {
        return response;
    };
    let ms = u64::try_from(began.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Some(kind) = created {
        broker.metrics.record_create(kind, r.code == 0, ms);
    }
    crate::net::reject_log::note(code, conn.peer(), r);
    let result = if oneway {
        crate::broker::prom::RESULT_ONEWAY
    } else {
        crate::broker::prom::RESULT_SUCCESS
    };
    broker.metrics.record_rpc(code, r.code, result, false, ms);
    response
}

/// What a request's time is recorded under, if it creates topics or groups
/// (`AdminBrokerProcessor`'s `topicCreateExecuteTime` / `consumerGroupCreateExecuteTime`).
fn created(request: &RemotingCommand) -> Option<CreateKind> {
    use RequestCode as C;
    match RequestCode::from_i32(request.code)? {
        C::UPDATE_AND_CREATE_TOPIC => Some(CreateKind::Topic {
            is_system: request
                .ext("topic")
                .is_some_and(|t| crate::broker::topic_config::is_system_topic(t, &[])),
        }),
        // Java tests the joined names, which no system topic equals.
        C::UPDATE_AND_CREATE_TOPIC_LIST => Some(CreateKind::Topic { is_system: false }),
        C::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP | C::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST => {
            Some(CreateKind::Group)
        }
        _ => None,
    }
}

/// Finds the request's handler and runs it, after the ACL and slave checks.
async fn route(
    broker: &Arc<Broker>,
    conn: &ConnectionHandle,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    if broker.auth.config.enabled()
        && let Err(remark) = broker.auth.check(&request, conn.peer())
    {
        // Java 5.3.3: the request pipeline throws `AbortProcessException(NO_PERMISSION, msg)`
        // before any processor runs (nothing is answered to a oneway request).
        debug!(code = request.code, peer = %conn.peer(), %remark, "ACL 2.0 refused");
        return (!request.is_oneway())
            .then(|| RemotingCommand::error(ResponseCode::NO_PERMISSION, remark));
    }
    if let Some(acl) = &broker.acl
        && let Err(e) = acl.check(&request, conn.peer().ip())
    {
        // Java 4.9.8: the ACL hook throws before any processor runs; the remoting layer
        // answers SYSTEM_ERROR with `exceptionSimpleDesc` (and nothing to a oneway request).
        debug!(code = request.code, peer = %conn.peer(), error = %e, "ACL refused");
        return (!request.is_oneway())
            .then(|| RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.remark()));
    }
    let found = TABLE
        .iter()
        .chain(ops_routes::TABLE)
        .find(|r| r.code.code() == request.code);
    let Some(route) = found else {
        return Some(RemotingCommand::error(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {} not supported", request.code),
        ));
    };
    debug!(code = route.code.name(), peer = %conn.peer(), "broker request");
    if broker.role() == BrokerRole::Slave && SLAVE_REJECTS.contains(&route.code) {
        // `SendMessageProcessor.rejectRequest` on a slave, answered by the remoting layer.
        return Some(RemotingCommand::error(
            ResponseCode::SYSTEM_BUSY,
            "[REJECTREQUEST]system busy, start flow control for a while",
        ));
    }
    (route.handler)(broker, conn, request).await
}

/// Turns a header error into Java's SYSTEM_ERROR answer.
fn header_result(r: Result<RemotingCommand, HeaderError>) -> RemotingCommand {
    r.unwrap_or_else(|e| RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string()))
}

/// `FAQUrl.suggestTodo` with the 5.3.3 FAQ address.
pub(crate) const FAQ_SUFFIX: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";
