/*
 * Writes ACL-signed request frames for tests/acl.rs: each is a request built with the official
 * client's RemotingCommand, signed by its AclClientRPCHook(new SessionCredentials(ak, sk)), and
 * encoded by RemotingCommand.encode(). Run by compat-tests/acl/golden/make.sh against the 5.3.3 and
 * 4.9.8 client jars. Usage: GoldenAclFrames <out dir> <client tag>
 */

import java.io.File;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.apache.rocketmq.acl.common.AclClientRPCHook;
import org.apache.rocketmq.acl.common.SessionCredentials;
import org.apache.rocketmq.remoting.protocol.RemotingCommand;
import org.apache.rocketmq.remoting.protocol.SerializeType;

public class GoldenAclFrames {
    public static void main(String[] args) throws Exception {
        File dir = new File(args[0]);
        String tag = args[1];
        AclClientRPCHook hook = new AclClientRPCHook(new SessionCredentials("RocketMQ", "12345678"));

        RemotingCommand send = RemotingCommand.createRequestCommand(310, null);
        String[][] v2 = {{"a", "acl-pg"}, {"b", "acl-ok"}, {"c", "TBW102"}, {"d", "4"}, {"e", "1"}, {"f", "0"},
            {"g", "1700000000000"}, {"h", "0"}, {"i", "KEYS\u0001acl-key\u0002TAGS\u0001TagA\u0002WAIT\u0001true\u0002"},
            {"j", "0"}, {"k", "false"}, {"m", "false"}, {"n", "broker-a"}};
        for (String[] kv : v2) send.addExtField(kv[0], kv[1]);
        send.setBody("hello acl \u00e9".getBytes(StandardCharsets.UTF_8));
        write(dir, "acl_send_v2_" + tag, send, hook, "SEND_MESSAGE_V2 to acl-ok, body with a non-ASCII char");

        RemotingCommand hb = RemotingCommand.createRequestCommand(34, null);
        hb.setBody(("{\"clientID\":\"127.0.0.1@1\",\"consumerDataSet\":[{\"consumeFromWhere\":\"CONSUME_FROM_FIRST_OFFSET\","
            + "\"consumeType\":\"CONSUME_PASSIVELY\",\"groupName\":\"acl-g\",\"messageModel\":\"CLUSTERING\","
            + "\"subscriptionDataSet\":[{\"classFilterMode\":false,\"codeSet\":[],\"expressionType\":\"TAG\",\"subString\":\"*\","
            + "\"subVersion\":1,\"tagsSet\":[],\"topic\":\"acl-deny\"}],\"unitMode\":false}],\"producerDataSet\":[]}")
            .getBytes(StandardCharsets.UTF_8));
        write(dir, "acl_heartbeat_" + tag, hb, hook, "HEART_BEAT of consumer group acl-g subscribing acl-deny");

        RemotingCommand pull = RemotingCommand.createRequestCommand(11, null);
        String[][] p = {{"consumerGroup", "acl-g"}, {"topic", "acl-ok"}, {"queueId", "0"}, {"queueOffset", "0"},
            {"maxMsgNums", "32"}, {"sysFlag", "6"}, {"commitOffset", "0"}, {"suspendTimeoutMillis", "15000"},
            {"subscription", "*"}, {"subVersion", "1"}, {"expressionType", "TAG"}};
        for (String[] kv : p) pull.addExtField(kv[0], kv[1]);
        pull.setSerializeTypeCurrentRPC(SerializeType.ROCKETMQ);
        write(dir, "acl_pull_rocketmq_" + tag, pull, hook, "PULL_MESSAGE with the ROCKETMQ (binary) header");
    }

    static void write(File dir, String name, RemotingCommand cmd, AclClientRPCHook hook, String what) throws Exception {
        hook.doBeforeRequest("127.0.0.1:10911", cmd);
        ByteBuffer b = cmd.encode();
        StringBuilder hex = new StringBuilder();
        int n = 0;
        while (b.hasRemaining()) {
            hex.append(String.format("%02x", b.get()));
            if (++n % 32 == 0) hex.append('\n');
        }
        try (PrintWriter w = new PrintWriter(new File(dir, name + ".hex"), "UTF-8")) {
            w.println("# " + what + "; AccessKey RocketMQ, secret 12345678.");
            w.println("# Signed by AclClientRPCHook and encoded by RemotingCommand.encode() of the official Java client ("
                + name.substring(name.lastIndexOf('_') + 1) + "); made by compat-tests/acl/golden/make.sh.");
            w.println("# Signature: " + cmd.getExtFields().get("Signature"));
            w.println(hex.toString().trim());
        }
    }
}
