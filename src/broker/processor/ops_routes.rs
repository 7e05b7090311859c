//! Dispatch rows of the operator commands (`admin_ops`, `admin_relay`), kept apart from the
//! main table so the shared dispatch file only chains this one in.

use std::sync::Arc;

use super::{HandlerFuture, Route, admin_ops, admin_relay, row, sync_handler};
use crate::broker::Broker;
use crate::net::ConnectionHandle;
use crate::remoting::{RemotingCommand, RequestCode};

/// Wraps an async handler.
macro_rules! wrap_async {
    ($name:ident => $f:path) => {
        fn $name<'a>(
            b: &'a Arc<Broker>,
            c: &'a ConnectionHandle,
            req: RemotingCommand,
        ) -> HandlerFuture<'a> {
            Box::pin($f(b, c, req))
        }
    };
}

sync_handler!(topic_list => admin_ops::update_and_create_topic_list, durable);
sync_handler!(group_list => admin_ops::update_and_create_subscription_group_list, durable);
sync_handler!(producer_info => admin_ops::get_all_producer_info);
sync_handler!(stats_data => admin_ops::view_broker_stats_data);
sync_handler!(broker_consume_stats => admin_ops::get_broker_consume_stats);
sync_handler!(system_topics => admin_ops::get_system_topic_list);
sync_handler!(query_cq => admin_ops::query_consume_queue);
sync_handler!(clone_offset => admin_ops::clone_group_offset);
sync_handler!(clean_cq => admin_ops::clean_expired_consume_queue);
sync_handler!(delete_commit_log => admin_ops::delete_expired_commit_log);
sync_handler!(clean_unused => admin_ops::clean_unused_topic);
sync_handler!(pop_rollback => admin_ops::export_pop_record);
sync_handler!(master_flush => admin_ops::reset_master_flush_offset);
wrap_async!(running_info => admin_relay::get_consumer_running_info);
wrap_async!(consume_directly => admin_relay::consume_message_directly);
wrap_async!(reset_offset => admin_relay::reset_offset);
wrap_async!(consumer_status => admin_relay::get_consumer_status);

/// The operator commands' request codes.
pub static TABLE: &[Route] = &[
    row(RequestCode::UPDATE_AND_CREATE_TOPIC_LIST, topic_list, true),
    row(
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST,
        group_list,
        true,
    ),
    row(RequestCode::GET_ALL_PRODUCER_INFO, producer_info, false),
    row(RequestCode::VIEW_BROKER_STATS_DATA, stats_data, false),
    row(
        RequestCode::GET_BROKER_CONSUME_STATS,
        broker_consume_stats,
        false,
    ),
    row(
        RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
        system_topics,
        false,
    ),
    row(RequestCode::QUERY_CONSUME_QUEUE, query_cq, false),
    row(RequestCode::CLONE_GROUP_OFFSET, clone_offset, true),
    row(RequestCode::CLEAN_EXPIRED_CONSUMEQUEUE, clean_cq, true),
    row(
        RequestCode::DELETE_EXPIRED_COMMITLOG,
        delete_commit_log,
        true,
    ),
    row(RequestCode::CLEAN_UNUSED_TOPIC, clean_unused, true),
    row(RequestCode::POP_ROLLBACK, pop_rollback, false),
    row(RequestCode::RESET_MASTER_FLUSH_OFFSET, master_flush, false),
    row(RequestCode::GET_CONSUMER_RUNNING_INFO, running_info, false),
    row(
        RequestCode::CONSUME_MESSAGE_DIRECTLY,
        consume_directly,
        false,
    ),
    row(
        RequestCode::INVOKE_BROKER_TO_RESET_OFFSET,
        reset_offset,
        true,
    ),
    row(
        RequestCode::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
        consumer_status,
        false,
    ),
];
