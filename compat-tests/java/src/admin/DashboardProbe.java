/*
 * The DefaultMQAdminExt calls rocketmq-dashboard makes (docs: ops-surface B4), one per
 * OpsBatch row "@dashboard <main|vip> <method> {ADDR} {MSGID} {CLIENTID} {NS}";
 * "viewBrokerStatsData:<statsName>:<statsKey>" asks for one of the stats rocketmq-exporter reads. "vip" turns on
 * vipChannelEnabled as the dashboard does by default, so broker calls go to listenPort - 2.
 *
 * Prints "<method>.<field> = <type>" for the result's fields (top level, and one level into
 * lists and maps of objects), so OpsBatch's "keys" comparison checks the field sets against the
 * Java broker's. A failing call throws (the row fails).
 */

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.alibaba.fastjson.JSON;
import com.alibaba.fastjson.JSONArray;
import com.alibaba.fastjson.JSONObject;
import com.alibaba.fastjson.serializer.SerializerFeature;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.apache.rocketmq.tools.admin.DefaultMQAdminExt;

public class DashboardProbe {
    private static final Map<String, DefaultMQAdminExt> ADMINS = new HashMap<>();

    private static synchronized DefaultMQAdminExt admin(String mode) throws Exception {
        DefaultMQAdminExt a = ADMINS.get(mode);
        if (a == null) {
            a = new DefaultMQAdminExt(5000);
            a.setInstanceName("ops-dashboard-" + mode);
            a.setVipChannelEnabled("vip".equals(mode));
            a.start();
            ADMINS.put(mode, a);
        }
        return a;
    }

    public static void run(List<String> args) throws Exception {
        String mode = args.get(0);
        String method = args.get(1);
        String addr = args.get(2);
        String msgId = args.get(3);
        String clientId = args.get(4);
        String ns = args.get(5);
        DefaultMQAdminExt a = admin(mode);
        long now = System.currentTimeMillis();
        Object r;
        if (method.startsWith("viewBrokerStatsData:")) {
            // The stats rocketmq-exporter reads: "viewBrokerStatsData:<statsName>:<statsKey>".
            String[] p = method.split(":", 3);
            r = a.viewBrokerStatsData(addr, p[1], p[2]);
            method = "viewBrokerStatsData";
        } else switch (method) {
            case "examineBrokerClusterInfo": r = a.examineBrokerClusterInfo(); break;
            case "examineTopicRouteInfo": r = a.examineTopicRouteInfo("OpsT"); break;
            case "examineTopicStats": r = a.examineTopicStats("OpsT"); break;
            case "examineConsumeStats": r = a.examineConsumeStats("OpsG"); break;
            case "examineConsumerConnectionInfo": r = a.examineConsumerConnectionInfo("OpsG"); break;
            case "examineProducerConnectionInfo": r = a.examineProducerConnectionInfo("OpsPG", "OpsT"); break;
            case "queryTopicConsumeByWho": r = a.queryTopicConsumeByWho("OpsT"); break;
            case "fetchAllTopicList": r = a.fetchAllTopicList(); break;
            case "fetchBrokerRuntimeStats": r = a.fetchBrokerRuntimeStats(addr).getTable().keySet(); break;
            case "viewBrokerStatsData": r = a.viewBrokerStatsData(addr, "GROUP_GET_NUMS", "OpsT@OpsG"); break;
            case "getBrokerConfig": r = new TreeSet<>(a.getBrokerConfig(addr).stringPropertyNames()).size() > 400; break;
            case "getAllTopicConfig": r = a.getAllTopicConfig(addr, 5000); break;
            case "getAllSubscriptionGroup": r = a.getAllSubscriptionGroup(addr, 5000); break;
            case "examineTopicConfig": r = a.examineTopicConfig(addr, "OpsT"); break;
            case "examineSubscriptionGroupConfig": r = a.examineSubscriptionGroupConfig(addr, "OpsG"); break;
            case "createAndUpdateTopicConfig":
                a.createAndUpdateTopicConfig(addr, new TopicConfig("OpsDash", 4, 4, 6));
                r = a.examineTopicConfig(addr, "OpsDash");
                break;
            case "createAndUpdateSubscriptionGroupConfig": {
                SubscriptionGroupConfig g = new SubscriptionGroupConfig();
                g.setGroupName("OpsDashG");
                a.createAndUpdateSubscriptionGroupConfig(addr, g);
                r = a.examineSubscriptionGroupConfig(addr, "OpsDashG");
                break;
            }
            case "viewMessage": r = a.viewMessage("OpsT", msgId); break;
            case "queryMessage": r = a.queryMessage("OpsT", "ops-key-1", 32, 0, now + 60_000); break;
            case "messageTrackDetail": r = a.messageTrackDetail(a.viewMessage("OpsT", msgId)); break;
            case "getConsumerRunningInfo": r = a.getConsumerRunningInfo("OpsG", clientId, false); break;
            case "consumeMessageDirectly": r = a.consumeMessageDirectly("OpsG", clientId, "OpsT", msgId); break;
            case "resetOffsetByTimestamp": r = a.resetOffsetByTimestamp("OpsT", "OpsG", now, true); break;
            case "resetOffsetByTimestampOld": r = a.resetOffsetByTimestampOld("OpsG", "OpsT", now, true); break;
            case "deleteSubscriptionGroup":
                a.deleteSubscriptionGroup(addr, "OpsDashG");
                r = true;
                break;
            case "deleteTopic":
                a.deleteTopicInBroker(Collections.singleton(addr), "OpsDash");
                a.deleteTopicInNameServer(Collections.singleton(ns), "OpsDash");
                r = true;
                break;
            default:
                throw new IllegalArgumentException("unknown method " + method);
        }
        for (String f : fields(method, r)) {
            System.out.println(f);
        }
    }

    /** "<prefix>.<field> = <kind>" lines of a result's JSON shape. */
    static Set<String> fields(String prefix, Object r) {
        Set<String> out = new TreeSet<>();
        if (r == null) {
            out.add(prefix + " = null");
            return out;
        }
        Object json = JSON.toJSON(r);
        if (r instanceof Set || r instanceof Boolean) {
            if (r instanceof Set) {
                for (Object k : (Set<?>) r) {
                    out.add(prefix + "." + k + " = key");
                }
            } else {
                out.add(prefix + " = " + r);
            }
            return out;
        }
        walk(prefix, json, 0, out);
        return out;
    }

    private static void walk(String prefix, Object v, int depth, Set<String> out) {
        if (v instanceof JSONObject) {
            JSONObject o = (JSONObject) v;
            if (depth > 0 && o.keySet().stream().anyMatch(k -> !k.matches("[a-z][A-Za-z0-9]*"))) {
                // A map keyed by data (addresses, queues, topics): its first value's shape.
                out.add(prefix + " = map");
                for (Object x : o.values()) {
                    walk(prefix + "[]", x, depth + 1, out);
                    break;
                }
                return;
            }
            out.add(prefix + " = object");
            if (depth >= 3) {
                return;
            }
            for (String k : o.keySet()) {
                walk(prefix + "." + k, o.get(k), depth + 1, out);
            }
        } else if (v instanceof JSONArray) {
            out.add(prefix + " = list");
            JSONArray a = (JSONArray) v;
            if (!a.isEmpty()) {
                walk(prefix + "[]", a.get(0), depth + 1, out);
            }
        } else {
            out.add(prefix + " = value");
        }
    }
}
