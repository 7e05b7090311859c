//! ACL 2.0 over the wire: the AUTH_* user and ACL requests (3001–3010) with Java 5.3.3's
//! headers, bodies, answer codes and remarks; authentication and authorization decisions on
//! sends, pulls, heartbeats and admin codes; persistence across a restart. The official-client
//! proof (mqadmin 5.3.3, signed Java producer/consumer) is compat-tests/acl/run.sh (`acl2.*`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

use bytes::Bytes;
use common::{T, TestBroker};
use rocketmq_rs::broker::acl::resource::{signature, signed_content};
use rocketmq_rs::broker::auth::context::{self, Wanted};
use rocketmq_rs::broker::auth::model::{Action, Resource};
use rocketmq_rs::net::RemotingClient;
use rocketmq_rs::remoting::{ExtFields, RemotingCommand, ResponseCode};
use serde_json::Value;

/// Signs `cmd` as `AclClientRPCHook` does.
fn sign(mut cmd: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
    let ext = cmd.ext_fields.get_or_insert_with(ExtFields::new);
    ext.insert("AccessKey", ak);
    let sig = signature(&signed_content(ext, &cmd.body, cmd.version), sk);
    ext.insert("Signature", sig);
    cmd
}

fn req(code: i32, fields: &[(&str, &str)], body: Option<&str>) -> RemotingCommand {
    let ext: ExtFields = fields.iter().copied().collect();
    let r = RemotingCommand::request(code, Some(ext));
    match body {
        Some(b) => r.with_body(Bytes::copy_from_slice(b.as_bytes())),
        None => r,
    }
}

fn send_req(topic: &str) -> RemotingCommand {
    req(
        310,
        &[
            ("a", "pg"),
            ("b", topic),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "0"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", ""),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
        ],
        Some("acl2 body"),
    )
}

fn pull_req(topic: &str, group: &str) -> RemotingCommand {
    req(
        11,
        &[
            ("consumerGroup", group),
            ("topic", topic),
            ("queueId", "0"),
            ("queueOffset", "0"),
            ("maxMsgNums", "1"),
            ("sysFlag", "0"),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", "0"),
            ("subVersion", "0"),
        ],
        None,
    )
}

fn create_user(name: &str, password: &str, user_type: Option<&str>) -> RemotingCommand {
    let body = match user_type {
        Some(t) => format!(r#"{{"password":"{password}","userType":"{t}","username":"{name}"}}"#),
        None => format!(r#"{{"password":"{password}","username":"{name}"}}"#),
    };
    req(3001, &[("username", name)], Some(&body))
}

/// The body mqadmin's createAcl / updateAcl sends (`AclInfo.of`).
fn acl_body(
    subject: &str,
    resources: &[&str],
    actions: &[&str],
    ips: &[&str],
    decision: &str,
) -> String {
    let entries: Vec<Value> = resources
        .iter()
        .map(|r| {
            let mut e =
                serde_json::json!({"actions": actions, "decision": decision, "resource": r});
            if !ips.is_empty() {
                e["sourceIps"] = serde_json::json!(ips);
            }
            e
        })
        .collect();
    serde_json::json!({"policies": [{"entries": entries}], "subject": subject}).to_string()
}

fn create_acl(
    subject: &str,
    resources: &[&str],
    actions: &[&str],
    ips: &[&str],
    decision: &str,
) -> RemotingCommand {
    req(
        3006,
        &[("subject", subject)],
        Some(&acl_body(subject, resources, actions, ips, decision)),
    )
}

fn body_json(r: &RemotingCommand) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

struct Client {
    c: RemotingClient,
    addr: String,
}

impl Client {
    async fn call(&self, r: RemotingCommand) -> RemotingCommand {
        self.c.invoke(&self.addr, r, T).await.unwrap()
    }

    /// Asserts code and remark.
    async fn expect(
        &self,
        r: RemotingCommand,
        code: ResponseCode,
        remark: Option<&str>,
    ) -> RemotingCommand {
        let a = self.call(r).await;
        assert_eq!(a.code, code.code(), "remark {:?}", a.remark);
        if let Some(m) = remark {
            assert_eq!(a.remark.as_deref(), Some(m));
        }
        a
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_acl_requests_answer_as_java() {
    let store = std::env::temp_dir().join(format!("rmqrs-acl2-{}", common::rand_suffix()));
    let b = TestBroker::start_with_store(Some(store.clone()), &[]).await;
    let cl = Client {
        c: RemotingClient::new(),
        addr: b.addr.clone(),
    };
    use ResponseCode as R;
    // Users.
    cl.expect(create_user("alice", "alicepw1", None), R::SUCCESS, None)
        .await;
    cl.expect(
        create_user("alice", "x", None),
        R::NO_PERMISSION,
        Some("The user is existed"),
    )
    .await;
    cl.expect(
        create_user("bob", "", None),
        R::NO_PERMISSION,
        Some("password can not be blank"),
    )
    .await;
    cl.expect(
        req(3001, &[], Some("{}")),
        R::INVALID_PARAMETER,
        Some("The username is blank"),
    )
    .await;
    cl.expect(
        create_user("root", "rootpw11", Some("Super")),
        R::SUCCESS,
        None,
    )
    .await;
    let a = cl
        .expect(req(3004, &[("username", "alice")], None), R::SUCCESS, None)
        .await;
    assert_eq!(
        std::str::from_utf8(&a.body).unwrap(),
        r#"{"password":"alicepw1","userStatus":"enable","userType":"Normal","username":"alice"}"#
    );
    let a = cl
        .expect(req(3004, &[("username", "nobody")], None), R::SUCCESS, None)
        .await;
    assert!(a.body.is_empty());
    cl.expect(
        req(3004, &[("username", " ")], None),
        R::INVALID_PARAMETER,
        Some("The username is blank"),
    )
    .await;
    let upd = req(
        3002,
        &[("username", "alice")],
        Some(r#"{"password":"alicepw2","userStatus":"disable"}"#),
    );
    cl.expect(upd, R::SUCCESS, None).await;
    let upd = req(3002, &[("username", "ghost")], Some(r#"{"password":"p"}"#));
    cl.expect(upd, R::NO_PERMISSION, Some("The user is not exist"))
        .await;
    let a = cl.expect(req(3005, &[], None), R::SUCCESS, None).await;
    let names: Vec<String> = body_json(&a)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| format!("{}/{}/{}", u["username"], u["password"], u["userStatus"]))
        .collect();
    assert_eq!(
        names,
        [
            r#""alice"/"alicepw2"/"disable""#,
            r#""root"/"rootpw11"/"enable""#
        ]
    );
    let a = cl
        .expect(req(3005, &[("filter", "ro")], None), R::SUCCESS, None)
        .await;
    assert_eq!(body_json(&a).as_array().unwrap().len(), 1);
    let a = cl
        .expect(req(3005, &[("filter", "zzz")], None), R::SUCCESS, None)
        .await;
    assert!(a.body.is_empty());

    // ACLs.
    cl.expect(
        create_acl(
            "User:alice",
            &["Topic:t1", "Group:g*"],
            &["Pub", "Sub"],
            &["127.0.0.1"],
            "Allow",
        ),
        R::SUCCESS,
        None,
    )
    .await;
    cl.expect(
        create_acl("User:ghost", &["Topic:t1"], &["Pub"], &[], "Allow"),
        R::NO_PERMISSION,
        Some("The subject of User:ghost is not exist."),
    )
    .await;
    cl.expect(
        create_acl("User:alice", &["Topic:t1"], &["Any"], &[], "Allow"),
        R::NO_PERMISSION,
        Some("The actions can not be Any."),
    )
    .await;
    cl.expect(
        create_acl(
            "User:alice",
            &["Topic:t1"],
            &["Pub"],
            &["10.0.0.0/33"],
            "Allow",
        ),
        R::NO_PERMISSION,
        Some("The source ip is invalid."),
    )
    .await;
    cl.expect(
        create_acl("User:alice", &["Queue:q"], &["Pub"], &[], "Allow"),
        R::NO_PERMISSION,
        Some("The resource is null."),
    )
    .await;
    cl.expect(
        create_acl("User:alice", &["Topic:t1"], &["Pub"], &[], "Maybe"),
        R::NO_PERMISSION,
        Some("The decision is null or illegal."),
    )
    .await;
    cl.expect(
        req(3006, &[("subject", "User:alice")], Some(r#"{"subject":"User:alice"}"#)),
        R::SYSTEM_ERROR,
        Some("org.apache.rocketmq.auth.authorization.exception.AuthorizationException: The body of acl is null, org.apache.rocketmq.broker.processor.AdminBrokerProcessor.createAcl(AdminBrokerProcessor.java:3158)"),
    )
    .await;
    // updateAcl merges: t1 gets new actions and decision, t2 is added.
    let upd = req(
        3007,
        &[("subject", "User:alice")],
        Some(&acl_body(
            "User:alice",
            &["Topic:t1", "Topic:t2"],
            &["Sub"],
            &[],
            "Deny",
        )),
    );
    cl.expect(upd, R::SUCCESS, None).await;
    let a = cl
        .expect(
            req(3009, &[("subject", "User:alice")], None),
            R::SUCCESS,
            None,
        )
        .await;
    assert_eq!(
        std::str::from_utf8(&a.body).unwrap(),
        r#"{"policies":[{"entries":[{"actions":["Sub"],"decision":"Deny","resource":"Topic:t1"},{"actions":["Pub","Sub"],"decision":"Allow","resource":"Group:g*","sourceIps":["127.0.0.1"]},{"actions":["Sub"],"decision":"Deny","resource":"Topic:t2"}],"policyType":"Custom"}],"subject":"User:alice"}"#
    );
    let a = cl
        .expect(
            req(3009, &[("subject", "User:root")], None),
            R::SUCCESS,
            None,
        )
        .await;
    assert!(a.body.is_empty());
    cl.expect(
        req(3009, &[("subject", "User:ghost")], None),
        R::NO_PERMISSION,
        Some("The subject is not exist."),
    )
    .await;
    cl.expect(
        create_acl("User:root", &["Topic:r1"], &["Pub"], &[], "Allow"),
        R::SUCCESS,
        None,
    )
    .await;
    let a = cl.expect(req(3010, &[], None), R::SUCCESS, None).await;
    assert_eq!(body_json(&a).as_array().unwrap().len(), 2);
    let a = cl
        .expect(
            req(3010, &[("resourceFilter", "t2")], None),
            R::SUCCESS,
            None,
        )
        .await;
    let list = body_json(&a);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        list[0]["policies"][0]["entries"].as_array().unwrap().len(),
        1
    );
    let a = cl
        .expect(
            req(3010, &[("subjectFilter", "root")], None),
            R::SUCCESS,
            None,
        )
        .await;
    assert_eq!(body_json(&a)[0]["subject"], "User:root");
    // deleteAcl of one resource, then of the subject.
    let del = req(
        3008,
        &[("subject", "User:alice"), ("resource", "Topic:t2")],
        None,
    );
    cl.expect(del, R::SUCCESS, None).await;
    let a = cl.call(req(3009, &[("subject", "User:alice")], None)).await;
    assert!(!std::str::from_utf8(&a.body).unwrap().contains("Topic:t2"));
    cl.expect(
        req(3008, &[("subject", "User:alice")], None),
        R::SUCCESS,
        None,
    )
    .await;
    cl.expect(
        req(3008, &[("subject", "User:alice")], None),
        R::NO_PERMISSION,
        Some("The acl is not exist."),
    )
    .await;
    cl.expect(
        req(3008, &[("subject", "alice")], None),
        R::NO_PERMISSION,
        Some("The subject is null."),
    )
    .await;

    // Persisted beside the other config files; a restart keeps users and rules.
    let users_file = store.join("config").join("auth_users.json");
    assert!(
        std::fs::read_to_string(&users_file)
            .unwrap()
            .contains("rootpw11")
    );
    b.stop().await;
    let b = TestBroker::start_with_store(Some(store.clone()), &[]).await;
    let cl = Client {
        c: RemotingClient::new(),
        addr: b.addr.clone(),
    };
    let a = cl
        .expect(req(3004, &[("username", "root")], None), R::SUCCESS, None)
        .await;
    assert_eq!(body_json(&a)["userType"], "Super");
    let a = cl
        .expect(
            req(3009, &[("subject", "User:root")], None),
            R::SUCCESS,
            None,
        )
        .await;
    assert_eq!(
        body_json(&a)["policies"][0]["entries"][0]["resource"],
        "Topic:r1"
    );
    // deleteUser drops the user's rules too; an unknown user is a success.
    cl.expect(req(3003, &[("username", "root")], None), R::SUCCESS, None)
        .await;
    cl.expect(req(3003, &[("username", "root")], None), R::SUCCESS, None)
        .await;
    let a = cl.expect(req(3010, &[], None), R::SUCCESS, None).await;
    assert!(a.body.is_empty());
    b.stop().await;
    let _ = std::fs::remove_dir_all(&store);
}

const ADMIN: (&str, &str) = ("admin01", "adminpw1");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_and_authorization_decide_as_java() {
    let init = format!(r#"{{"username":"{}","password":"{}"}}"#, ADMIN.0, ADMIN.1);
    let b = TestBroker::start(&[
        ("authenticationEnabled", "true"),
        ("authorizationEnabled", "true"),
        ("initAuthenticationUser", &init),
        ("authenticationWhitelist", "28, 3004"),
        // ACL 1.0 is ignored once ACL 2.0 is on (its refusals would be code 1).
        ("aclEnable", "true"),
    ])
    .await;
    let cl = Client {
        c: RemotingClient::new(),
        addr: b.addr.clone(),
    };
    use ResponseCode as R;
    let admin = |r: RemotingCommand| sign(r, ADMIN.0, ADMIN.1);
    // The init user is a super user: it creates topics, users and rules.
    let topic = |name: &str| {
        req(
            17,
            &[
                ("topic", name),
                ("defaultTopic", "TBW102"),
                ("readQueueNums", "4"),
                ("writeQueueNums", "4"),
                ("perm", "6"),
                ("topicFilterType", "SINGLE_TAG"),
                ("topicSysFlag", "0"),
                ("order", "false"),
            ],
            None,
        )
    };
    for t in ["t-ok", "t-deny", "pre-a", "t-ip"] {
        cl.expect(admin(topic(t)), R::SUCCESS, None).await;
    }
    cl.expect(
        admin(create_user("alice", "alicepw1", None)),
        R::SUCCESS,
        None,
    )
    .await;
    cl.expect(
        admin(create_user("carol", "carolpw1", None)),
        R::SUCCESS,
        None,
    )
    .await;

    // Authentication.
    cl.expect(
        send_req("t-ok"),
        R::NO_PERMISSION,
        Some("username cannot be null."),
    )
    .await;
    cl.expect(
        sign(send_req("t-ok"), "ghost", "x"),
        R::NO_PERMISSION,
        Some("User:ghost is not found."),
    )
    .await;
    cl.expect(
        sign(send_req("t-ok"), "alice", "wrong"),
        R::NO_PERMISSION,
        Some("check signature failed."),
    )
    .await;
    // Whitelisted codes skip authentication: GET_BROKER_RUNTIME_INFO (28) needs no permission
    // either; AUTH_GET_USER (3004) is still authorized (Cluster Get), which fails unsigned.
    cl.expect(req(28, &[("x", "y")], None), R::SUCCESS, None)
        .await;
    cl.expect(
        req(3004, &[("username", "alice")], None),
        R::NO_PERMISSION,
        Some("Authorization failed. Please verify your access rights and try again."),
    )
    .await;
    cl.expect(
        req(21, &[("x", "y")], None),
        R::NO_PERMISSION,
        Some("username cannot be null."),
    )
    .await;

    // Authorization: no rule at all.
    cl.expect(
        sign(send_req("t-ok"), "alice", "alicepw1"),
        R::NO_PERMISSION,
        Some("User:alice has no permission to access Topic:t-ok from 127.0.0.1, no matched policies."),
    )
    .await;
    // Rules: Allow Pub on t-ok, Deny on the prefix "t-d", Allow Pub,Sub on "pre-*" and the
    // group, Allow on t-ip only from another address.
    cl.expect(
        admin(create_acl(
            "User:alice",
            &["Topic:t-ok", "Topic:pre-*", "Group:g-a"],
            &["Pub", "Sub"],
            &[],
            "Allow",
        )),
        R::SUCCESS,
        None,
    )
    .await;
    cl.expect(
        admin(create_acl(
            "User:alice",
            &["Topic:t-d*"],
            &["All"],
            &[],
            "Deny",
        )),
        R::SUCCESS,
        None,
    )
    .await;
    cl.expect(
        admin(create_acl(
            "User:alice",
            &["Topic:t-ip"],
            &["Pub"],
            &["10.1.0.0/16"],
            "Allow",
        )),
        R::SUCCESS,
        None,
    )
    .await;
    let alice = |r: RemotingCommand| sign(r, "alice", "alicepw1");
    cl.expect(alice(send_req("t-ok")), R::SUCCESS, None).await;
    cl.expect(alice(send_req("pre-a")), R::SUCCESS, None).await;
    cl.expect(
        alice(send_req("t-deny")),
        R::NO_PERMISSION,
        Some("User:alice has no permission to access Topic:t-deny from 127.0.0.1, the decision is deny."),
    )
    .await;
    cl.expect(
        alice(send_req("t-ip")),
        R::NO_PERMISSION,
        Some("User:alice has no permission to access Topic:t-ip from 127.0.0.1, no matched policies."),
    )
    .await;
    // A pull needs Sub on the topic and on the group.
    let a = cl.call(alice(pull_req("t-ok", "g-a"))).await;
    assert_ne!(a.code, R::NO_PERMISSION.code(), "{:?}", a.remark);
    cl.expect(
        alice(pull_req("t-ok", "g-other")),
        R::NO_PERMISSION,
        Some("User:alice has no permission to access Group:g-other from 127.0.0.1, no matched policies."),
    )
    .await;
    // A normal user cannot manage users without a rule on the cluster resource.
    cl.expect(
        alice(create_user("dave", "davepw11", None)),
        R::NO_PERMISSION,
        Some("User:alice has no permission to access Cluster:DefaultCluster from 127.0.0.1, no matched policies."),
    )
    .await;
    cl.expect(
        admin(create_acl(
            "User:carol",
            &["Cluster:DefaultCluster"],
            &["Update", "Get"],
            &[],
            "Allow",
        )),
        R::SUCCESS,
        None,
    )
    .await;
    let carol = |r: RemotingCommand| sign(r, "carol", "carolpw1");
    cl.expect(
        carol(create_user("dave", "davepw11", None)),
        R::SUCCESS,
        None,
    )
    .await;
    // ... and only a super user creates a super user.
    cl.expect(
        carol(create_user("eve", "evepw111", Some("Super"))),
        R::SYSTEM_ERROR,
        Some("The super user can only be create by super user"),
    )
    .await;
    cl.expect(
        carol(req(3003, &[("username", ADMIN.0)], None)),
        R::NO_PERMISSION,
        Some("The super user can only be update by super user"),
    )
    .await;
    // A heartbeat of a consumer group needs Sub on the group and its topics.
    let hb = |group: &str, topic: &str| {
        let body = format!(
            r#"{{"clientID":"c1","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{group}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"{topic}"}}],"unitMode":false}}],"producerDataSet":[]}}"#
        );
        req(34, &[], Some(&body))
    };
    cl.expect(alice(hb("g-a", "t-ok")), R::SUCCESS, None).await;
    cl.expect(
        alice(hb("g-a", "t-deny")),
        R::NO_PERMISSION,
        Some("User:alice has no permission to access Topic:t-deny from 127.0.0.1, the decision is deny."),
    )
    .await;
    // A disabled user is refused by authentication.
    cl.expect(
        admin(req(
            3002,
            &[("username", "alice")],
            Some(r#"{"userStatus":"disable"}"#),
        )),
        R::SUCCESS,
        None,
    )
    .await;
    cl.expect(
        alice(send_req("t-ok")),
        R::NO_PERMISSION,
        Some("User:alice is disabled."),
    )
    .await;
    b.stop().await;
}

#[test]
fn requests_map_to_resources_as_java() {
    let w = |r: Resource, a: &[Action]| Wanted {
        resource: r,
        actions: a.to_vec(),
    };
    // A send to a retry topic is a Sub on the group.
    let r = req(310, &[("a", "g1"), ("b", "%RETRY%g1")], None);
    assert_eq!(
        context::build(&r, "C").unwrap(),
        [w(Resource::group("g1"), &[Action::Sub])]
    );
    // Annotated headers: GET_CONSUME_STATS splits topicList on ';'.
    let r = req(208, &[("consumerGroup", "g"), ("topicList", "a;b")], None);
    assert_eq!(
        context::build(&r, "C").unwrap(),
        [
            w(Resource::group("g"), &[Action::Get]),
            w(Resource::topic("a"), &[Action::Get]),
            w(Resource::topic("b"), &[Action::Get]),
        ]
    );
    // Cluster-wide codes without resource fields name the cluster.
    let r = req(3005, &[("filter", "x")], None);
    assert_eq!(
        context::build(&r, "C").unwrap(),
        [w(
            Resource::literal(rocketmq_rs::broker::auth::model::ResourceType::Cluster, "C"),
            &[Action::Get]
        )]
    );
    // A header without @RocketMQAction (UPDATE_AND_CREATE_SUBSCRIPTIONGROUP) needs nothing.
    let r = req(200, &[("x", "y")], Some("{}"));
    assert!(context::build(&r, "C").unwrap().is_empty());
    // UPDATE_CONSUMER_OFFSET: topic and group, Sub or Update.
    let r = req(15, &[("consumerGroup", "g"), ("topic", "t")], None);
    assert_eq!(
        context::build(&r, "C").unwrap(),
        [
            w(Resource::topic("t"), &[Action::Sub, Action::Update]),
            w(Resource::group("g"), &[Action::Sub, Action::Update]),
        ]
    );
}

/// A gRPC QueryRoute signed as the 5.x SDKs sign (`x-mq-date-time`, `authorization`).
async fn grpc_route(
    ch: &tonic::transport::Channel,
    topic: &str,
    cred: Option<(&str, &str)>,
) -> Result<(), tonic::Status> {
    use base64::Engine as _;
    use rocketmq_rs::grpc::pb::{QueryRouteRequest, QueryRouteResponse, Resource as PbResource};
    let mut r = tonic::Request::new(QueryRouteRequest {
        topic: Some(PbResource {
            resource_namespace: String::new(),
            name: topic.into(),
        }),
        ..QueryRouteRequest::default()
    });
    let md = r.metadata_mut();
    md.insert("x-mq-client-id", "acl2-grpc-client".parse().unwrap());
    md.insert("x-mq-language", "JAVA".parse().unwrap());
    if let Some((ak, sk)) = cred {
        let date = "20261202T070000Z";
        let b64 = signature(date.as_bytes(), sk);
        let hex: String = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        md.insert("x-mq-date-time", date.parse().unwrap());
        md.insert(
            "authorization",
            format!(
                "MQv2-HMAC-SHA1 Credential={ak}, SignedHeaders=x-mq-date-time, Signature={hex}"
            )
            .parse()
            .unwrap(),
        );
    }
    let mut g = tonic::client::Grpc::new(ch.clone());
    g.ready().await.unwrap();
    let path =
        http::uri::PathAndQuery::from_static("/apache.rocketmq.v2.MessagingService/QueryRoute");
    g.unary::<_, QueryRouteResponse, _>(r, path, tonic_prost::ProstCodec::default())
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_requests_are_authenticated_and_authorized() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let init = format!(r#"{{"username":"{}","password":"{}"}}"#, ADMIN.0, ADMIN.1);
    let b = TestBroker::start(&[
        ("enableProxy", "true"),
        ("grpcServerPort", &port),
        ("authenticationEnabled", "true"),
        ("authorizationEnabled", "true"),
        ("initAuthenticationUser", &init),
    ])
    .await;
    let cl = Client {
        c: RemotingClient::new(),
        addr: b.addr.clone(),
    };
    let admin = |r: RemotingCommand| sign(r, ADMIN.0, ADMIN.1);
    cl.expect(
        admin(create_user("alice", "alicepw1", None)),
        ResponseCode::SUCCESS,
        None,
    )
    .await;
    let ch = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let e = grpc_route(&ch, "g-topic", None).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
    assert_eq!(e.message(), "username cannot be null.");
    let e = grpc_route(&ch, "g-topic", Some(("alice", "bad")))
        .await
        .unwrap_err();
    assert_eq!(e.message(), "check signature failed.");
    let e = grpc_route(&ch, "g-topic", Some(("alice", "alicepw1")))
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "User:alice has no permission to access Topic:g-topic from 127.0.0.1, no matched policies."
    );
    cl.expect(
        admin(create_acl(
            "User:alice",
            &["Topic:g-*"],
            &["Sub"],
            &[],
            "Allow",
        )),
        ResponseCode::SUCCESS,
        None,
    )
    .await;
    grpc_route(&ch, "g-topic", Some(("alice", "alicepw1")))
        .await
        .unwrap();
    grpc_route(&ch, "g-topic", Some(ADMIN)).await.unwrap();
    b.stop().await;
}
