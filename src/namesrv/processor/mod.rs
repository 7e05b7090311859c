//! The name server's dispatch table and shared handler helpers.
//!
//! One row per request code: Java name, handler, and whether the request changes state. Codes
//! without a row get `REQUEST_CODE_NOT_SUPPORTED` with Java's remark and the connection stays open.

mod broker;
mod config;
mod kv;
mod route;

use tracing::debug;

use super::NameServer;
use crate::net::ConnectionHandle;
use crate::remoting::error::HeaderError;
use crate::remoting::{RemotingCommand, RequestCode, ResponseCode};

/// A handler: state, the connection, the request → the response.
type Handler =
    fn(&NameServer, &ConnectionHandle, &RemotingCommand) -> Result<RemotingCommand, HeaderError>;

/// One row of the dispatch table.
#[derive(Debug)]
pub struct Route {
    /// Request code.
    pub code: RequestCode,
    /// Handler.
    handler: Handler,
    /// True when the handler changes state (for logs and, later, metrics labels).
    pub writes: bool,
}

const fn row(code: RequestCode, handler: Handler, writes: bool) -> Route {
    Route {
        code,
        handler,
        writes,
    }
}

/// Every request code the name server answers.
pub static TABLE: &[Route] = &[
    row(RequestCode::PUT_KV_CONFIG, kv::put, true),
    row(RequestCode::GET_KV_CONFIG, kv::get, false),
    row(RequestCode::DELETE_KV_CONFIG, kv::delete, true),
    row(
        RequestCode::GET_KVLIST_BY_NAMESPACE,
        kv::list_namespace,
        false,
    ),
    row(RequestCode::REGISTER_BROKER, broker::register, true),
    row(RequestCode::UNREGISTER_BROKER, broker::unregister, true),
    row(
        RequestCode::QUERY_DATA_VERSION,
        broker::query_data_version,
        true,
    ),
    row(RequestCode::BROKER_HEARTBEAT, broker::heartbeat, true),
    row(
        RequestCode::REGISTER_TOPIC_IN_NAMESRV,
        broker::register_topic,
        true,
    ),
    row(
        RequestCode::GET_BROKER_MEMBER_GROUP,
        broker::member_group,
        false,
    ),
    row(
        RequestCode::GET_ROUTEINFO_BY_TOPIC,
        route::route_by_topic,
        false,
    ),
    row(
        RequestCode::GET_BROKER_CLUSTER_INFO,
        route::cluster_info,
        false,
    ),
    row(
        RequestCode::WIPE_WRITE_PERM_OF_BROKER,
        route::wipe_write_perm,
        true,
    ),
    row(
        RequestCode::ADD_WRITE_PERM_OF_BROKER,
        route::add_write_perm,
        true,
    ),
    row(
        RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
        route::all_topics,
        false,
    ),
    row(
        RequestCode::DELETE_TOPIC_IN_NAMESRV,
        route::delete_topic,
        true,
    ),
    row(
        RequestCode::GET_TOPICS_BY_CLUSTER,
        route::topics_by_cluster,
        false,
    ),
    row(
        RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
        route::system_topics,
        false,
    ),
    row(RequestCode::GET_UNIT_TOPIC_LIST, route::unit_topics, false),
    row(
        RequestCode::GET_HAS_UNIT_SUB_TOPIC_LIST,
        route::has_unit_sub_topics,
        false,
    ),
    row(
        RequestCode::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
        route::has_unit_sub_ununit_topics,
        false,
    ),
    row(RequestCode::UPDATE_NAMESRV_CONFIG, config::update, true),
    row(RequestCode::GET_NAMESRV_CONFIG, config::get, false),
];

/// Answers one request.
pub fn dispatch(
    server: &NameServer,
    conn: &ConnectionHandle,
    request: &RemotingCommand,
) -> RemotingCommand {
    let response = match TABLE.iter().find(|r| r.code.code() == request.code) {
        None => not_supported(request.code),
        Some(route) => {
            debug!(code = route.code.name(), peer = %conn.peer(), "namesrv request");
            match (route.handler)(server, conn, request) {
                Ok(resp) => resp,
                Err(e) => RemotingCommand::error(ResponseCode::SYSTEM_ERROR, e.to_string()),
            }
        }
    };
    crate::net::reject_log::note(request.code, conn.peer(), &response);
    response
}

/// Java's answer to a code nobody handles (`NettyRemotingAbstract.processRequestCommand`).
#[must_use]
pub fn not_supported(code: i32) -> RemotingCommand {
    RemotingCommand::error(
        ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {code} not supported"),
    )
}

/// A successful response whose `extFields` is present even when empty, as Java's
/// `createResponseCommand(SomeHeader.class)` produces.
fn success_with(ext: crate::remoting::ExtFields) -> RemotingCommand {
    RemotingCommand::success().with_ext_fields(ext)
}
