/*
 * Prints the key set GET_BROKER_CONFIG of a Java broker 5.3.3 answers with, at its defaults:
 * BrokerConfig, NettyServerConfig, NettyClientConfig and MessageStoreConfig as
 * BrokerController registers them in its Configuration (later objects win on a shared key),
 * sorted, "key=value" per line, null values left out (MixAll.properties2String).
 *
 * compat-tests/ops/gen_broker_config_defaults.sh writes the output to
 * src/broker/java_broker_config_defaults.properties.
 */

import java.util.Properties;

import org.apache.rocketmq.common.BrokerConfig;
import org.apache.rocketmq.common.MixAll;
import org.apache.rocketmq.remoting.netty.NettyClientConfig;
import org.apache.rocketmq.remoting.netty.NettyServerConfig;
import org.apache.rocketmq.store.config.MessageStoreConfig;

public class BrokerConfigDefaults {
    public static void main(String[] args) {
        Properties all = new Properties();
        all.putAll(MixAll.object2Properties(new BrokerConfig()));
        all.putAll(MixAll.object2Properties(new NettyServerConfig()));
        all.putAll(MixAll.object2Properties(new NettyClientConfig()));
        all.putAll(MixAll.object2Properties(new MessageStoreConfig()));
        System.out.print(MixAll.properties2String(all, true));
    }
}
