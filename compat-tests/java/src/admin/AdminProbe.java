/*
 * Small admin-API probe used by compat-tests/run.sh next to the real mqadmin CLI.
 * Compiled against rocketmq-tools 5.3.3 (DefaultMQAdminExt), i.e. the same client code as mqadmin.
 *
 * mqadmin has updateKvConfig and deleteKvConfig but no subcommand that reads a KV entry back, and
 * each mqadmin invocation costs a JVM start; these two probes cover that.
 *
 *   AdminProbe <namesrvAddr> kvget <namespace> <key>
 *       GET_KV_CONFIG (101), then GET_KVLIST_BY_NAMESPACE (219) for information.
 *       Prints "KV FOUND <ns> <key>=<value>" (exit 0), "KV NOTFOUND <ns> <key> code=<c> ..." (exit 3)
 *       or "KV ERROR <exception>" (exit 2).
 *   AdminProbe <namesrvAddr> waitbroker <timeoutSeconds> <cluster> <brokerAddr>
 *       Polls GET_BROKER_CLUSTER_INFO (106) until <brokerAddr> is listed under <cluster>. Prints
 *       "BROKER OK ..." (exit 0) or "BROKER MISSING ..." (exit 3) at the deadline. Cheaper than
 *       starting mqadmin clusterList in a loop while waiting for the broker's first registration.
 *   AdminProbe <namesrvAddr> waitroute <timeoutSeconds> <topic>...
 *       Polls GET_ROUTEINFO_BY_TOPIC (105) until every topic has a route with at least one broker
 *       address and one queue entry. Prints "ROUTE OK <topic> ..." per topic and exits 0, or
 *       "ROUTE MISSING <topic> <last error>" and exits 3 at the deadline.
 *   AdminProbe <namesrvAddr> createtopic <brokerAddr> <queues> <topic>...
 *       UPDATE_AND_CREATE_TOPIC (17) to the broker for each topic (<queues> read and write queues,
 *       perm 6), one JVM for many topics. Prints "TOPIC OK <topic>" per topic (exit 0) or
 *       "TOPIC ERROR <topic> <exception>" (exit 3 after trying all).
 *   AdminProbe <namesrvAddr> subgroup <brokerAddr> <group>
 *       Reads the subscription group back from the broker (examineSubscriptionGroupConfig, i.e.
 *       GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201). Prints "SUBGROUP OK <group> <config>" (exit 0),
 *       "SUBGROUP MISSING <group>" or "SUBGROUP ERROR <exception>" (exit 3).
 *   AdminProbe <namesrvAddr> topicconfig <brokerAddr> <topic>
 *       GET_TOPIC_CONFIG (351) to the broker. Prints "TOPICCONFIG OK <topic> <config>" (exit 0) or
 *       "TOPICCONFIG ERROR <topic> <exception>" (exit 3).
 */

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.remoting.protocol.body.ClusterInfo;
import org.apache.rocketmq.remoting.protocol.body.KVTable;
import org.apache.rocketmq.remoting.protocol.route.BrokerData;
import org.apache.rocketmq.remoting.protocol.route.TopicRouteData;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

public class AdminProbe {
    public static void main(String[] args) {
        int code;
        DefaultMQAdminExt admin = null;
        try {
            if (args.length < 2) {
                System.out.println("usage: AdminProbe <namesrvAddr> kvget <namespace> <key> | waitbroker <timeoutSeconds> <cluster> <brokerAddr>"
                    + " | waitroute <timeoutSeconds> <topic>... | createtopic <brokerAddr> <queues> <topic>...");
                System.exit(2);
            }
            admin = new DefaultMQAdminExt(5000);
            admin.setNamesrvAddr(args[0]);
            admin.setInstanceName("compat-probe-" + System.nanoTime());
            admin.start();
            if ("kvget".equals(args[1]) && args.length == 4) {
                code = kvget(admin, args[2], args[3]);
            } else if ("waitbroker".equals(args[1]) && args.length == 5) {
                code = waitbroker(admin, Integer.parseInt(args[2]), args[3], args[4]);
            } else if ("createtopic".equals(args[1]) && args.length >= 5) {
                code = 0;
                for (int i = 4; i < args.length; i++) {
                    if (createtopic(admin, args[2], Integer.parseInt(args[3]), args[i]) != 0) {
                        code = 3;
                    }
                }
            } else if ("subgroup".equals(args[1]) && args.length == 4) {
                code = subgroup(admin, args[2], args[3]);
            } else if ("topicconfig".equals(args[1]) && args.length == 4) {
                code = topicconfig(admin, args[2], args[3]);
            } else if ("waitroute".equals(args[1]) && args.length >= 4) {
                List<String> topics = new ArrayList<>();
                for (int i = 3; i < args.length; i++) {
                    topics.add(args[i]);
                }
                code = waitroute(admin, Integer.parseInt(args[2]), topics);
            } else {
                System.out.println("bad arguments");
                code = 2;
            }
        } catch (Throwable t) {
            System.out.println("PROBE ERROR " + t);
            code = 2;
        } finally {
            if (admin != null) {
                try {
                    admin.shutdown();
                } catch (Throwable ignored) {
                    // best effort
                }
            }
        }
        System.out.flush();
        System.exit(code);
    }

    static int kvget(DefaultMQAdminExt admin, String ns, String key) throws Exception {
        int code;
        try {
            String v = admin.getKVConfig(ns, key);
            System.out.println("KV FOUND " + ns + " " + key + "=" + v);
            code = 0;
        } catch (MQClientException e) {
            System.out.println("KV NOTFOUND " + ns + " " + key + " code=" + e.getResponseCode()
                + " msg=" + e.getErrorMessage());
            code = 3;
        }
        try {
            KVTable t = admin.getKVListByNamespace(ns);
            System.out.println("KV LIST " + ns + " " + (t == null ? "null" : t.getTable()));
        } catch (MQClientException e) {
            System.out.println("KV LIST " + ns + " unavailable code=" + e.getResponseCode());
        }
        return code;
    }

    static int waitbroker(DefaultMQAdminExt admin, int timeoutSec, String cluster, String addr) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutSec * 1000L;
        long t0 = System.currentTimeMillis();
        String last = "not queried";
        while (true) {
            try {
                ClusterInfo ci = admin.examineBrokerClusterInfo();
                Set<String> names = ci.getClusterAddrTable() == null ? null : ci.getClusterAddrTable().get(cluster);
                if (names != null) {
                    for (String name : names) {
                        BrokerData bd = ci.getBrokerAddrTable() == null ? null : ci.getBrokerAddrTable().get(name);
                        if (bd != null && bd.getBrokerAddrs() != null && bd.getBrokerAddrs().containsValue(addr)) {
                            System.out.println("BROKER OK " + cluster + " " + name + " " + bd.getBrokerAddrs()
                                + " after " + (System.currentTimeMillis() - t0) + " ms");
                            return 0;
                        }
                    }
                }
                last = "clusterAddrTable=" + ci.getClusterAddrTable();
            } catch (Exception e) {
                last = e.toString();
            }
            if (System.currentTimeMillis() > deadline) {
                System.out.println("BROKER MISSING " + cluster + " " + addr + " last: " + last);
                return 3;
            }
            Thread.sleep(500);
        }
    }

    static int waitroute(DefaultMQAdminExt admin, int timeoutSec, List<String> topics) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutSec * 1000L;
        for (String topic : topics) {
            String last = "not queried";
            boolean ok = false;
            while (true) {
                try {
                    TopicRouteData r = admin.examineTopicRouteInfo(topic);
                    int addrs = 0;
                    StringBuilder sb = new StringBuilder();
                    for (BrokerData bd : r.getBrokerDatas()) {
                        addrs += bd.getBrokerAddrs() == null ? 0 : bd.getBrokerAddrs().size();
                        sb.append(bd.getBrokerName()).append(bd.getBrokerAddrs()).append(' ');
                    }
                    if (addrs > 0 && r.getQueueDatas() != null && !r.getQueueDatas().isEmpty()) {
                        System.out.println("ROUTE OK " + topic + " brokers=" + sb.toString().trim()
                            + " queueDatas=" + r.getQueueDatas().size());
                        ok = true;
                    } else {
                        last = "route without brokers or queues: " + r;
                    }
                } catch (MQClientException e) {
                    last = "code=" + e.getResponseCode() + " " + e.getErrorMessage();
                }
                if (ok || System.currentTimeMillis() > deadline) {
                    break;
                }
                Thread.sleep(500);
            }
            if (!ok) {
                System.out.println("ROUTE MISSING " + topic + " " + last);
                return 3;
            }
        }
        return 0;
    }

    static int createtopic(DefaultMQAdminExt admin, String brokerAddr, int queues, String topic) {
        org.apache.rocketmq.common.TopicConfig tc = new org.apache.rocketmq.common.TopicConfig(topic, queues, queues, 6);
        try {
            admin.createAndUpdateTopicConfig(brokerAddr, tc);
            System.out.println("TOPIC OK " + topic);
            return 0;
        } catch (Exception e) {
            System.out.println("TOPIC ERROR " + topic + " " + e);
            return 3;
        }
    }

    static int subgroup(DefaultMQAdminExt admin, String brokerAddr, String group) {
        try {
            Object c = admin.examineSubscriptionGroupConfig(brokerAddr, group);
            if (c == null) {
                System.out.println("SUBGROUP MISSING " + group);
                return 3;
            }
            System.out.println("SUBGROUP OK " + group + " " + c);
            return 0;
        } catch (Exception e) {
            System.out.println("SUBGROUP ERROR " + group + " " + e);
            return 3;
        }
    }

    static int topicconfig(DefaultMQAdminExt admin, String brokerAddr, String topic) {
        try {
            Object c = admin.examineTopicConfig(brokerAddr, topic);
            System.out.println("TOPICCONFIG OK " + topic + " " + c);
            return c == null ? 3 : 0;
        } catch (Exception e) {
            System.out.println("TOPICCONFIG ERROR " + topic + " " + e);
            return 3;
        }
    }
}
