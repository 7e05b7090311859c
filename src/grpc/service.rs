//! The service glue, written by hand: a `tower::Service` over HTTP/2 requests that routes the
//! path `/apache.rocketmq.v2.MessagingService/<Method>` to tonic's `server::Grpc` with the prost
//! codec, and the handlers' common steps (the caller's metadata, `CLIENT_ID_REQUIRED`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::body::Body;
use tonic::server::Grpc;
use tonic::{Request, Response, Status as GrpcStatus, Streaming};
use tonic_prost::ProstCodec;

use super::Endpoint;
use super::clients::Caller;
use super::consume::{ReceiveContext, parse_grpc_timeout};
use super::pb::{
    AckMessageRequest, AckMessageResponse, ChangeInvisibleDurationRequest,
    ChangeInvisibleDurationResponse, Code, EndTransactionRequest, EndTransactionResponse,
    ForwardMessageToDeadLetterQueueRequest, ForwardMessageToDeadLetterQueueResponse,
    HeartbeatRequest, HeartbeatResponse, NotifyClientTerminationRequest,
    NotifyClientTerminationResponse, QueryAssignmentRequest, QueryAssignmentResponse,
    QueryRouteRequest, QueryRouteResponse, RecallMessageRequest, RecallMessageResponse,
    ReceiveMessageRequest, ReceiveMessageResponse, SendMessageRequest, SendMessageResponse, Status,
    TelemetryCommand, telemetry_command::Command,
};
use super::status::{Reject, ok};
use crate::limits::{GRPC_MAX_INBOUND_MESSAGE_BYTES, GRPC_TELEMETRY_OUTBOUND_QUEUE};

/// A closure as the tower service tonic's unary and streaming glue call.
struct Handler<F>(F);

impl<Req, Resp, F, Fut> tower_service::Service<Request<Req>> for Handler<F>
where
    F: FnMut(Request<Req>) -> Fut,
    Fut: Future<Output = Result<Response<Resp>, GrpcStatus>>,
{
    type Response = Response<Resp>;
    type Error = GrpcStatus;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Req>) -> Self::Future {
        (self.0)(req)
    }
}

/// The caller's metadata (`ContextInitPipeline`); a blank client id is refused
/// (`validateContext`).
fn caller<T>(req: &Request<T>) -> Result<Caller, Reject> {
    let header = |k: &str| {
        req.metadata()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let client_id = header("x-mq-client-id");
    if client_id.trim().is_empty() {
        return Err(Reject::new(
            Code::ClientIdRequired,
            "client id cannot be empty",
        ));
    }
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    Ok(Caller {
        client_id,
        language: header("x-mq-language"),
        remote: req.remote_addr().unwrap_or(unspecified),
        local: req.local_addr().unwrap_or(unspecified),
    })
}

/// `MessagingService`, cheap to clone (one per connection).
#[derive(Debug, Clone)]
pub struct MessagingService {
    endpoint: Arc<Endpoint>,
}

impl MessagingService {
    /// The service of `endpoint`.
    #[must_use]
    pub fn new(endpoint: Arc<Endpoint>) -> Self {
        Self { endpoint }
    }
}

fn codec<T, U>() -> Grpc<ProstCodec<T, U>>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    Grpc::new(ProstCodec::default())
        .apply_max_message_size_config(Some(GRPC_MAX_INBOUND_MESSAGE_BYTES), None)
}

/// Routes one unary method: `$resp` is the response type (built with only a status when the
/// caller is refused), `$body` maps the endpoint, caller and request to the response.
macro_rules! unary {
    ($ep:expr, $req:expr, $reqty:ident => $resp:ident, |$e:ident, $c:ident, $r:ident| $body:expr) => {{
        let ep = Arc::clone(&$ep);
        Box::pin(async move {
            let handler = Handler(move |req: Request<$reqty>| {
                let $e = Arc::clone(&ep);
                async move {
                    let $c = match caller(&req) {
                        Ok(c) => c,
                        Err(r) => {
                            #[allow(clippy::needless_update)]
                            let refused = $resp {
                                status: Some(r.status()),
                                ..$resp::default()
                            };
                            return Ok(Response::new(refused));
                        }
                    };
                    let metadata = req.metadata().clone();
                    let $r = req.into_inner();
                    $e.authorize(&metadata, $c.remote, &$r)?;
                    Ok::<_, GrpcStatus>(Response::new($body))
                }
            });
            Ok(codec().unary(handler, $req).await)
        })
    }};
}

/// A response of only a status.
fn only(r: Result<(), Reject>) -> Option<Status> {
    Some(match r {
        Ok(()) => ok(),
        Err(r) => r.status(),
    })
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

impl tower_service::Service<http::Request<Body>> for MessagingService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let method = req
            .uri()
            .path()
            .strip_prefix("/apache.rocketmq.v2.MessagingService/")
            .unwrap_or_default()
            .to_owned();
        let ep = &self.endpoint;
        match method.as_str() {
            "QueryRoute" => {
                unary!(ep, req, QueryRouteRequest => QueryRouteResponse, |e, c, r| e.query_route(&r))
            }
            "QueryAssignment" => {
                unary!(ep, req, QueryAssignmentRequest => QueryAssignmentResponse, |e, c, r| e
                .query_assignment(&r))
            }
            "Heartbeat" => {
                unary!(ep, req, HeartbeatRequest => HeartbeatResponse, |e, c, r| HeartbeatResponse {
                    status: only(e.clients.heartbeat(&e.broker, &c, r.group.as_ref())),
                })
            }
            "NotifyClientTermination" => unary!(
                ep,
                req,
                NotifyClientTerminationRequest => NotifyClientTerminationResponse,
                |e, c, r| NotifyClientTerminationResponse {
                    status: only(e.clients.terminate(&e.broker, &c, r.group.as_ref())),
                }
            ),
            "SendMessage" => unary!(ep, req, SendMessageRequest => SendMessageResponse, |e, c, r| e
                .send_message(&c, r)
                .await),
            "EndTransaction" => {
                unary!(ep, req, EndTransactionRequest => EndTransactionResponse, |e, c, r| e
                .end_transaction(&c, r)
                .await)
            }
            "RecallMessage" => {
                unary!(ep, req, RecallMessageRequest => RecallMessageResponse, |e, c, r| e
                .recall_message(&c, &r))
            }
            "ReceiveMessage" => {
                let ep = Arc::clone(ep);
                Box::pin(async move {
                    let handler = Handler(move |req: Request<ReceiveMessageRequest>| {
                        let ep = Arc::clone(&ep);
                        async move {
                            let who = caller(&req);
                            let header = |k: &str| {
                                req.metadata()
                                    .get(k)
                                    .and_then(|v| v.to_str().ok())
                                    .map(str::to_owned)
                            };
                            let cx = ReceiveContext {
                                client_version: header("x-mq-client-version").unwrap_or_default(),
                                remaining_ms: header("grpc-timeout")
                                    .as_deref()
                                    .and_then(parse_grpc_timeout),
                            };
                            let metadata = req.metadata().clone();
                            let remote = who
                                .as_ref()
                                .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.remote);
                            let r = req.into_inner();
                            ep.authorize(&metadata, remote, &r)?;
                            let out = ep.receive_message(who, &cx, r).await;
                            Ok::<_, GrpcStatus>(Response::new(tokio_stream::iter(
                                out.into_iter()
                                    .map(Ok::<ReceiveMessageResponse, GrpcStatus>),
                            )))
                        }
                    });
                    Ok(codec().server_streaming(handler, req).await)
                })
            }
            "AckMessage" => {
                unary!(ep, req, AckMessageRequest => AckMessageResponse, |e, c, r| e
                .ack_message(&c, &r))
            }
            "ChangeInvisibleDuration" => unary!(
                ep,
                req,
                ChangeInvisibleDurationRequest => ChangeInvisibleDurationResponse,
                |e, c, r| e.change_invisible_duration(&c, &r)
            ),
            "ForwardMessageToDeadLetterQueue" => unary!(
                ep,
                req,
                ForwardMessageToDeadLetterQueueRequest => ForwardMessageToDeadLetterQueueResponse,
                |e, c, r| e.forward_to_dlq(&c, &r).await
            ),
            "Telemetry" => {
                let ep = Arc::clone(ep);
                Box::pin(async move {
                    let handler = Handler(move |req: Request<Streaming<TelemetryCommand>>| {
                        telemetry(Arc::clone(&ep), req)
                    });
                    Ok(codec().streaming(handler, req).await)
                })
            }
            other => {
                let status = GrpcStatus::unimplemented(unimplemented(req.uri().path(), other));
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

/// Methods of `apache.rocketmq.v2.MessagingService` (rocketmq-proto 2.0.4, Java 5.3.3's) that
/// Java's proxy leaves to grpc-java's generated base class: its
/// `GrpcMessagingApplication` overrides none of them (the SDKs' pull consumer is not served).
const JAVA_UNIMPLEMENTED: [&str; 4] = ["PullMessage", "UpdateOffset", "GetOffset", "QueryOffset"];

/// grpc-java's UNIMPLEMENTED description: `asyncUnimplementedUnaryCall`'s for a method the
/// service declares but does not override, the server's "Method not found" for any other path.
fn unimplemented(path: &str, method: &str) -> String {
    let full = path.strip_prefix('/').unwrap_or(path);
    if JAVA_UNIMPLEMENTED.contains(&method) {
        format!("Method {full} is unimplemented")
    } else {
        format!("Method not found: {full}")
    }
}

type TelemetryStream = ReceiverStream<Result<TelemetryCommand, GrpcStatus>>;

/// Telemetry (`ClientActivity.telemetry`): the client announces its settings, the server
/// registers it and answers with the merged settings; the stream stays open for server
/// commands. Thread-stack and verify results are accepted and not awaited by anything yet.
async fn telemetry(
    ep: Arc<Endpoint>,
    req: Request<Streaming<TelemetryCommand>>,
) -> Result<Response<TelemetryStream>, GrpcStatus> {
    let caller = caller(&req).map_err(|r| GrpcStatus::invalid_argument(r.message))?;
    let (tx, rx) = mpsc::channel(GRPC_TELEMETRY_OUTBOUND_QUEUE);
    let metadata = req.metadata().clone();
    let mut inbound = req.into_inner();
    drop(tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                n = inbound.message() => n,
                () = ep.stopped() => break,
            };
            let Ok(Some(cmd)) = next else {
                break;
            };
            let Some(Command::Settings(settings)) = cmd.command else {
                continue;
            };
            if let Err(denied) = ep.authorize(&metadata, caller.remote, &settings) {
                let _ = tx.send(Err(denied)).await;
                break;
            }
            if settings.pub_sub.is_none() {
                let _ = tx
                    .send(Err(GrpcStatus::invalid_argument(
                        "there is no publishing or subscription data in settings",
                    )))
                    .await;
                break;
            }
            match ep.clients.update(&ep.broker, &caller, settings, &tx) {
                Ok(merged) => {
                    let answer = TelemetryCommand {
                        status: Some(ok()),
                        command: Some(Command::Settings(merged)),
                    };
                    if tx.send(Ok(answer)).await.is_err() {
                        break;
                    }
                }
                Err(r) => {
                    let text = format!("process client telemetryCommand failed. {}", r.message);
                    let n = r.code as i32;
                    let status = if (40000..50000).contains(&n) {
                        GrpcStatus::invalid_argument(text)
                    } else {
                        GrpcStatus::internal(text)
                    };
                    let _ = tx.send(Err(status)).await;
                    break;
                }
            }
        }
    }));
    Ok(Response::new(ReceiverStream::new(rx)))
}
