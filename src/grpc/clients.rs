//! gRPC clients known to the endpoint (`proxy:grpc/v2/common/GrpcClientSettingsManager.java`,
//! `GrpcChannelManager.java`): each client id's settings as announced on Telemetry, its
//! Telemetry stream, and an in-process channel registered in the broker's producer and consumer
//! tables the way a remoting client's connection is, so heartbeats, expiry and the consumer
//! lists work alike for both protocols.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use prost_types::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use super::pb::{
    ClientType, Code, ExponentialBackoff, Metric, RetryPolicy, Settings, SubscriptionEntry,
    TelemetryCommand, retry_policy, settings::PubSub,
};
use super::status::Reject;
use crate::broker::Broker;
use crate::broker::client_manager::{ClientChannel, SubscriptionData};
use crate::broker::processor::client::notify_consumer_ids_changed;
use crate::broker::topic_config::RETRY_PREFIX;
use crate::limits::{GRPC_CLIENT_CHANNEL_QUEUE, GRPC_MAX_CLIENTS, GRPC_MAX_MESSAGE_BODY_BYTES};
use crate::net::ConnectionHandle;
use crate::remoting::LanguageCode;
use crate::remoting::body::topic_config::{PERM_READ, PERM_WRITE};

/// `ProxyConfig.grpcClientProducerMaxAttempts`.
const PRODUCER_MAX_ATTEMPTS: i32 = 3;
/// `ProxyConfig.grpcClientProducerBackoffInitialMillis`.
const PRODUCER_BACKOFF_INITIAL_MS: i64 = 10;
/// `ProxyConfig.grpcClientProducerBackoffMaxMillis`.
const PRODUCER_BACKOFF_MAX_MS: i64 = 1000;
/// `ProxyConfig.grpcClientProducerBackoffMultiplier`.
const PRODUCER_BACKOFF_MULTIPLIER: f32 = 2.0;
/// `ProxyConfig.grpcClientConsumerLongPollingBatchSize`.
const CONSUMER_BATCH_SIZE: i32 = 32;
/// `ProxyConfig.grpcClientConsumerMaxLongPollingTimeoutMillis`.
const CONSUMER_LONG_POLLING_MS: i64 = 20_000;
/// `ExponentialRetryPolicy` defaults (initial 1 s, max 2 h, multiplier 2).
const CONSUMER_BACKOFF: (i64, i64, f32) = (1000, 2 * 60 * 60 * 1000, 2.0);

/// `MQVersion.Version.V5_0_0.ordinal()`, what a gRPC client registers as.
const V5_0_0: i32 = 413;

/// What the request metadata says about the caller (`ContextInitPipeline`).
#[derive(Debug, Clone)]
pub struct Caller {
    /// `x-mq-client-id`.
    pub client_id: String,
    /// `x-mq-language` (`JAVA`, `GOLANG`, …).
    pub language: String,
    /// Remote address.
    pub remote: SocketAddr,
    /// Local address.
    pub local: SocketAddr,
}

/// One client.
#[derive(Debug)]
struct Entry {
    /// Last request of the client (any RPC naming its client id).
    last_seen: Instant,
    settings: Settings,
    conn: ConnectionHandle,
    telemetry: Option<mpsc::WeakSender<Result<TelemetryCommand, tonic::Status>>>,
}

/// What the broker wrote to a client's in-process channel: the client id and the frame.
pub type Relayed = (String, bytes::Bytes);

/// The clients of one endpoint.
#[derive(Debug)]
pub struct Clients {
    table: Mutex<HashMap<String, Entry>>,
    /// Frames the broker writes to clients go here (the endpoint's relay translates them).
    relay: mpsc::Sender<Relayed>,
}

/// Milliseconds as a protobuf duration.
pub(crate) fn millis(ms: i64) -> Duration {
    Duration {
        seconds: ms / 1000,
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

fn client_type(s: &Settings) -> ClientType {
    s.client_type
        .and_then(|t| ClientType::try_from(t).ok())
        .unwrap_or(ClientType::Unspecified)
}

/// `mergeProducerData` / `mergeSubscriptionData` / `mergeMetric`: the settings the server
/// answers, the client's own with the server's retry policy and limits.
fn merged(broker: &Broker, raw: &Settings) -> Settings {
    let mut s = raw.clone();
    match &mut s.pub_sub {
        Some(PubSub::Publishing(p)) => {
            s.backoff_policy = Some(RetryPolicy {
                max_attempts: PRODUCER_MAX_ATTEMPTS,
                strategy: Some(retry_policy::Strategy::ExponentialBackoff(
                    ExponentialBackoff {
                        initial: Some(millis(PRODUCER_BACKOFF_INITIAL_MS)),
                        max: Some(millis(PRODUCER_BACKOFF_MAX_MS)),
                        multiplier: PRODUCER_BACKOFF_MULTIPLIER,
                    },
                )),
            });
            p.validate_message_type = true;
            p.max_body_size = i32::try_from(GRPC_MAX_MESSAGE_BODY_BYTES).unwrap_or(i32::MAX);
        }
        Some(PubSub::Subscription(sub)) => {
            let group = sub.group.as_ref().map_or("", |g| g.name.as_str());
            let cfg = broker.groups.get(group);
            sub.receive_batch_size = Some(CONSUMER_BATCH_SIZE);
            sub.long_polling_timeout = Some(millis(CONSUMER_LONG_POLLING_MS));
            sub.fifo = Some(cfg.as_ref().is_some_and(|g| g.consume_message_orderly));
            let retry_max = cfg.as_ref().map_or(16, |g| g.retry_max_times);
            let (initial, max, multiplier) = CONSUMER_BACKOFF;
            s.backoff_policy = Some(RetryPolicy {
                max_attempts: retry_max.saturating_add(1),
                strategy: Some(retry_policy::Strategy::ExponentialBackoff(
                    ExponentialBackoff {
                        initial: Some(millis(initial)),
                        max: Some(millis(max)),
                        multiplier,
                    },
                )),
            });
        }
        None => {}
    }
    s.metric = Some(Metric {
        on: false,
        endpoints: None,
    });
    s
}

/// `FilterAPI.build` from a gRPC subscription entry.
fn subscription(e: &SubscriptionEntry) -> SubscriptionData {
    let topic = e.topic.as_ref().map_or("", |t| t.name.as_str());
    let (expr, ty) = e.expression.as_ref().map_or(("*", "TAG"), |x| {
        let ty = if x.r#type == super::pb::FilterType::Sql as i32 {
            "SQL92"
        } else {
            "TAG"
        };
        (x.expression.as_str(), ty)
    });
    SubscriptionData::build(
        topic,
        expr,
        Some(ty),
        crate::store::message_store::now_millis(),
    )
}

impl Clients {
    /// No clients yet; frames for them go to `relay`.
    #[must_use]
    pub fn new(relay: mpsc::Sender<Relayed>) -> Self {
        Self {
            table: Mutex::new(HashMap::new()),
            relay,
        }
    }

    /// The in-process channel of `caller`, created on first use. Frames the broker writes to
    /// it (check-backs, notifications) are drained here.
    fn channel(&self, caller: &Caller) -> Result<ClientChannel, Reject> {
        let mut t = self
            .table
            .lock()
            .map_err(|_| Reject::new(Code::InternalServerError, "client table poisoned"))?;
        let conn = match t.get_mut(&caller.client_id) {
            Some(e) => {
                e.last_seen = Instant::now();
                Arc::clone(&e.conn)
            }
            None => {
                if t.len() >= GRPC_MAX_CLIENTS {
                    return Err(Reject::new(
                        Code::TooManyRequests,
                        format!("too many gRPC clients, max is {GRPC_MAX_CLIENTS}"),
                    ));
                }
                let (conn, rx) = crate::net::connection::detached(
                    caller.remote,
                    caller.local,
                    GRPC_CLIENT_CHANNEL_QUEUE,
                );
                drop(tokio::spawn(drain(
                    rx,
                    caller.client_id.clone(),
                    self.relay.clone(),
                )));
                let _ = t.insert(
                    caller.client_id.clone(),
                    Entry {
                        last_seen: Instant::now(),
                        settings: Settings::default(),
                        conn: Arc::clone(&conn),
                        telemetry: None,
                    },
                );
                conn
            }
        };
        drop(t);
        Ok(ClientChannel {
            conn,
            client_id: caller.client_id.clone(),
            language: LanguageCode::from_name(&caller.language).or(Some(LanguageCode::Java)),
            version: V5_0_0,
            last_update: Instant::now(),
        })
    }

    /// The in-process connection of a known client, without creating one or counting as its
    /// activity (`None` once it terminated or went idle).
    #[must_use]
    pub fn known_connection(&self, client_id: &str) -> Option<ConnectionHandle> {
        let t = self.table.lock().ok()?;
        t.get(client_id).map(|e| Arc::clone(&e.conn))
    }

    /// The in-process connection of a caller, created on first use.
    pub fn connection(&self, caller: &Caller) -> Option<ConnectionHandle> {
        self.channel(caller).ok().map(|c| c.conn)
    }

    /// The settings a client announced, merged with the server's (`getClientSettings`).
    #[must_use]
    pub fn settings(&self, broker: &Broker, client_id: &str) -> Option<Settings> {
        let t = self.table.lock().ok()?;
        let e = t.get(client_id)?;
        e.settings.pub_sub.as_ref()?;
        Some(merged(broker, &e.settings))
    }

    /// The settings a consumer of `group` gets before its own reach the server (its first
    /// ReceiveMessage can overtake its Telemetry stream): the server's half of the merged
    /// settings, with the SDKs' default request timeout (3 s). Ours: Java's proxy fails such a
    /// receive with an internal error (a null settings object).
    #[must_use]
    pub fn consumer_defaults(broker: &Broker, group: Option<&super::pb::Resource>) -> Settings {
        let raw = Settings {
            client_type: Some(ClientType::SimpleConsumer as i32),
            request_timeout: Some(millis(3000)),
            pub_sub: Some(PubSub::Subscription(super::pb::Subscription {
                group: group.cloned(),
                ..super::pb::Subscription::default()
            })),
            ..Settings::default()
        };
        merged(broker, &raw)
    }

    /// Telemetry `Settings`: stores them, registers the client (`processAndWriteClientSettings`)
    /// and returns the settings to answer with.
    pub fn update(
        &self,
        broker: &Arc<Broker>,
        caller: &Caller,
        settings: Settings,
        telemetry: &mpsc::Sender<Result<TelemetryCommand, tonic::Status>>,
    ) -> Result<Settings, Reject> {
        match &settings.pub_sub {
            Some(PubSub::Publishing(p)) => {
                for t in &p.topics {
                    let _ = super::validate::topic(Some(t))?;
                }
            }
            Some(PubSub::Subscription(s)) => {
                let _ = super::validate::consumer_group(s.group.as_ref())?;
            }
            None => {}
        }
        let _ = self.channel(caller)?;
        if let Ok(mut t) = self.table.lock()
            && let Some(e) = t.get_mut(&caller.client_id)
        {
            e.settings = settings.clone();
            e.telemetry = Some(telemetry.downgrade());
        }
        self.register(broker, caller, &settings)?;
        Ok(merged(broker, &settings))
    }

    /// Registers the client in the broker's tables as its settings say (`registerProducer`:
    /// the topic is the producer group; `registerConsumer`: clustering, from the last offset).
    fn register(
        &self,
        broker: &Arc<Broker>,
        caller: &Caller,
        settings: &Settings,
    ) -> Result<(), Reject> {
        let ch = self.channel(caller)?;
        match &settings.pub_sub {
            Some(PubSub::Publishing(p)) => {
                for t in &p.topics {
                    broker.clients.register_producer(&t.name, ch.clone());
                }
            }
            Some(PubSub::Subscription(s)) => {
                let group = super::validate::consumer_group(s.group.as_ref())?;
                let consume_type = if client_type(settings) == ClientType::SimpleConsumer {
                    "CONSUME_ACTIVELY"
                } else {
                    "CONSUME_PASSIVELY"
                };
                if let Some(g) = broker
                    .groups
                    .find_or_create(group, broker.config_bool("autoCreateSubscriptionGroup"))
                {
                    let retry = format!("{RETRY_PREFIX}{group}");
                    if broker.topics.get(&retry).is_none() {
                        let _ = broker.topics.ensure(
                            &retry,
                            g.retry_queue_nums.max(1),
                            PERM_WRITE | PERM_READ,
                        );
                        broker.notify_topics_changed();
                    }
                    let outcome = broker.clients.register_consumer(
                        group,
                        ch,
                        consume_type,
                        "CLUSTERING",
                        "CONSUME_FROM_LAST_OFFSET",
                        s.subscriptions.iter().map(subscription).collect(),
                    );
                    if (outcome.channel_added || outcome.subscription_changed)
                        && g.notify_consumer_ids_changed_enable
                    {
                        notify_consumer_ids_changed(broker, group);
                    }
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Heartbeat (`ClientActivity.heartbeat`): refreshes the registration.
    pub fn heartbeat(
        &self,
        broker: &Arc<Broker>,
        caller: &Caller,
        group: Option<&super::pb::Resource>,
    ) -> Result<(), Reject> {
        let Some(settings) = self.raw(&caller.client_id) else {
            return Err(Reject::new(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            ));
        };
        match client_type(&settings) {
            ClientType::Producer => self.register(broker, caller, &settings),
            ClientType::PushConsumer | ClientType::SimpleConsumer => {
                let _ = super::validate::consumer_group(group)?;
                self.register(broker, caller, &settings)
            }
            other => Err(Reject::new(
                Code::UnrecognizedClientType,
                other.proto_name(),
            )),
        }
    }

    fn raw(&self, client_id: &str) -> Option<Settings> {
        let t = self.table.lock().ok()?;
        t.get(client_id)
            .map(|e| e.settings.clone())
            .filter(|s| s.pub_sub.is_some())
    }

    /// NotifyClientTermination: forgets the client and takes it out of the broker's tables.
    pub fn terminate(
        &self,
        broker: &Arc<Broker>,
        caller: &Caller,
        group: Option<&super::pb::Resource>,
    ) -> Result<(), Reject> {
        let Some(settings) = self.raw(&caller.client_id) else {
            return Err(Reject::new(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            ));
        };
        let ty = client_type(&settings);
        if matches!(ty, ClientType::PushConsumer | ClientType::SimpleConsumer) {
            let _ = super::validate::consumer_group(group)?;
        } else if ty != ClientType::Producer {
            return Err(Reject::new(Code::UnrecognizedClientType, ty.proto_name()));
        }
        let removed = self
            .table
            .lock()
            .ok()
            .and_then(|mut t| t.remove(&caller.client_id));
        if let Some(e) = removed {
            e.conn.evict();
            for group in broker.clients.on_close(e.conn.id()) {
                notify_consumer_ids_changed(broker, &group);
            }
        }
        Ok(())
    }

    /// Forgets clients silent for `idle` whose Telemetry stream is gone (Java drops a gRPC
    /// client's channel and settings after `grpcClientIdleTimeMills` / the channel expiry), and
    /// takes them out of the broker's tables. Returns how many went.
    pub fn sweep_idle(&self, broker: &Arc<Broker>, idle: std::time::Duration) -> usize {
        let gone: Vec<Entry> = match self.table.lock() {
            Ok(mut t) => {
                let ids: Vec<String> = t
                    .iter()
                    .filter(|(_, e)| {
                        e.last_seen.elapsed() >= idle
                            && e.telemetry
                                .as_ref()
                                .and_then(mpsc::WeakSender::upgrade)
                                .is_none()
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                ids.iter().filter_map(|id| t.remove(id)).collect()
            }
            Err(_) => Vec::new(),
        };
        for e in &gone {
            e.conn.evict();
            for group in broker.clients.on_close(e.conn.id()) {
                notify_consumer_ids_changed(broker, &group);
            }
        }
        gone.len()
    }

    /// The live Telemetry stream of a client, if any.
    #[must_use]
    pub fn telemetry(
        &self,
        client_id: &str,
    ) -> Option<mpsc::Sender<Result<TelemetryCommand, tonic::Status>>> {
        let t = self.table.lock().ok()?;
        t.get(client_id)?.telemetry.as_ref()?.upgrade()
    }

    /// Number of clients known.
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.len())
    }

    /// True when no client is known.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drains what the broker writes to a client's in-process channel into the endpoint's relay;
/// when the relay is full the frame is dropped (the broker re-sends check-backs on its next
/// round), so a slow client never holds the broker.
async fn drain(
    mut rx: mpsc::Receiver<crate::net::connection::Outbound>,
    client_id: String,
    relay: mpsc::Sender<Relayed>,
) {
    use crate::net::connection::Outbound;
    while let Some(out) = rx.recv().await {
        let frame = match out {
            Outbound::Frame(b) => b,
            Outbound::Parts(parts) => parts.concat().into(),
        };
        if relay.try_send((client_id.clone(), frame)).is_err() {
            debug!(client = %client_id, "frame for a gRPC client dropped: relay full");
        }
    }
}
