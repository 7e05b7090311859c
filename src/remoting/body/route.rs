//! Route bodies: `TopicRouteData`, `BrokerData`, `QueueData`, `ClusterInfo`.
//!
//! `brokerAddrs` is a `HashMap<Long, String>`, so fastjson's default writer leaves its keys
//! unquoted (`{0:"ip:port"}`); the browser-compatible writer quotes them. Which one a route
//! reply uses depends on the caller's version (see the name server's route handler).

use std::collections::BTreeMap;

use crate::remoting::fastjson::{JsonWriter, Style};

/// A broker group: one name, one master (id 0) and its slaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerData {
    /// Cluster the group belongs to.
    pub cluster: String,
    /// Broker name.
    pub broker_name: String,
    /// Broker id → address; ascending ids, as Java's HashMap iterates small Long keys.
    pub broker_addrs: BTreeMap<i64, String>,
    /// 5.x: slave-acting-master mode.
    pub enable_acting_master: bool,
    /// 5.x: zone of the broker; omitted when unknown.
    pub zone_name: Option<String>,
}

impl BrokerData {
    /// Writes the object in fastjson property order.
    pub fn write(&self, w: &mut JsonWriter) {
        w.begin_object().key("brokerAddrs").begin_object();
        for (id, addr) in &self.broker_addrs {
            w.key_number(*id).string(addr);
        }
        w.end_object();
        w.field_str("brokerName", &self.broker_name);
        w.field_str("cluster", &self.cluster);
        w.field_bool("enableActingMaster", self.enable_acting_master);
        if let Some(zone) = &self.zone_name {
            w.field_str("zoneName", zone);
        }
        w.end_object();
    }
}

/// One broker's queues of one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueData {
    /// Readable queues.
    pub read_queue_nums: i32,
    /// Writable queues.
    pub write_queue_nums: i32,
    /// `PermName` bits.
    pub perm: i32,
    /// `TopicSysFlag` bits.
    pub topic_sys_flag: i32,
}

/// The route of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicRouteData {
    /// `ORDER_TOPIC_CONFIG` KV value, when order messages are enabled.
    pub order_topic_conf: Option<String>,
    /// Queue data per broker name.
    pub queue_datas: Vec<(String, QueueData)>,
    /// Broker groups serving the topic.
    pub broker_datas: Vec<BrokerData>,
    /// Filter servers per broker address (legacy).
    pub filter_server_table: BTreeMap<String, Vec<String>>,
}

impl TopicRouteData {
    /// The JSON text in `style`.
    #[must_use]
    pub fn to_json(&self, style: Style) -> String {
        let mut w = JsonWriter::new(style);
        w.begin_object().key("brokerDatas").begin_array();
        for bd in &self.broker_datas {
            bd.write(&mut w);
        }
        w.end_array();
        w.key("filterServerTable").begin_object();
        for (addr, list) in &self.filter_server_table {
            w.field_str_array(addr, list.iter().map(String::as_str));
        }
        w.end_object();
        if let Some(conf) = &self.order_topic_conf {
            w.field_str("orderTopicConf", conf);
        }
        w.key("queueDatas").begin_array();
        for (name, qd) in &self.queue_datas {
            w.begin_object()
                .field_str("brokerName", name)
                .field_num("perm", i64::from(qd.perm))
                .field_num("readQueueNums", i64::from(qd.read_queue_nums))
                .field_num("topicSysFlag", i64::from(qd.topic_sys_flag))
                .field_num("writeQueueNums", i64::from(qd.write_queue_nums))
                .end_object();
        }
        w.end_array().end_object();
        w.finish()
    }
}

/// GET_BROKER_CLUSTER_INFO body: every broker group, and cluster → broker names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterInfo {
    /// Broker name → group.
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    /// Cluster name → broker names.
    pub cluster_addr_table: BTreeMap<String, Vec<String>>,
}

impl ClusterInfo {
    /// The JSON text, always in fastjson's default style as Java's `ClusterInfo.encode()`.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new(Style::Default);
        w.begin_object().key("brokerAddrTable").begin_object();
        for (name, bd) in &self.broker_addr_table {
            w.key(name);
            bd.write(&mut w);
        }
        w.end_object().key("clusterAddrTable").begin_object();
        for (cluster, names) in &self.cluster_addr_table {
            w.field_str_array(cluster, names.iter().map(String::as_str));
        }
        w.end_object().end_object();
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TopicRouteData {
        TopicRouteData {
            order_topic_conf: None,
            queue_datas: vec![(
                "broker-a".into(),
                QueueData {
                    read_queue_nums: 4,
                    write_queue_nums: 4,
                    perm: 6,
                    topic_sys_flag: 0,
                },
            )],
            broker_datas: vec![BrokerData {
                cluster: "DefaultCluster".into(),
                broker_name: "broker-a".into(),
                broker_addrs: [
                    (0, "192.168.0.47:10911".to_owned()),
                    (1, "192.168.0.48:10911".to_owned()),
                ]
                .into_iter()
                .collect(),
                enable_acting_master: false,
                zone_name: None,
            }],
            filter_server_table: BTreeMap::new(),
        }
    }

    /// The expected texts are the fastjson 1.2.83 outputs recorded in protocol-map §4.1.
    #[test]
    fn route_matches_fastjson_both_styles() {
        assert_eq!(
            sample().to_json(Style::Default),
            r#"{"brokerDatas":[{"brokerAddrs":{0:"192.168.0.47:10911",1:"192.168.0.48:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
        assert_eq!(
            sample().to_json(Style::Browser),
            r#"{"brokerDatas":[{"brokerAddrs":{"0":"192.168.0.47:10911","1":"192.168.0.48:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
        );
    }

    #[test]
    fn cluster_info_matches_fastjson() {
        let bd = sample().broker_datas.remove(0);
        let ci = ClusterInfo {
            broker_addr_table: [("broker-a".to_owned(), bd)].into_iter().collect(),
            cluster_addr_table: [("DefaultCluster".to_owned(), vec!["broker-a".to_owned()])]
                .into_iter()
                .collect(),
        };
        assert_eq!(
            ci.to_json(),
            r#"{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"192.168.0.47:10911",1:"192.168.0.48:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}},"clusterAddrTable":{"DefaultCluster":["broker-a"]}}"#
        );
    }
}
