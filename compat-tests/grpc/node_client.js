// The official RocketMQ 5 Node.js SDK (npm rocketmq-client-nodejs, apache/rocketmq-clients) against
// our broker's gRPC endpoint. Run with NODE_PATH pointing at the node_modules it was installed in.
//
//   node_client.js produce <endpoint> <prefix> <expect-file>
//       a Producer sends 8 normal messages to GrpcNode (tag TagN, keys <prefix>-n<i> and
//       <prefix>-n<i>-k2, user property userProp=v<i>, body "node <key>") and 4 FIFO messages to
//       GrpcFifo (message groups g0 / order-42, tag TagNF, body "node <key>"); appends
//       "topic key tag group messageId 0" per message to <expect-file>; prints
//       "RESULT node-produce PASS|FAIL sent=N/12 ...".
//   node_client.js consume <endpoint> <group> <topic[:tag],...> <expect-file> <seconds>
//       a SimpleConsumer of <group> subscribed to each topic of the list (to its tag if given)
//       receives
//       (batch 16, invisible 15 s, long polling 3 s) and acks until every key of <expect-file>
//       lines for those topics was seen, checking tag, message id, message group, the body
//       ("<word> <key>") and, for tag TagN (the Node producer's normal messages), the user
//       property; prints "RESULT node-consume PASS|FAIL received=N/M duplicates=N ...".
'use strict';
const fs = require('fs');
const { Producer, SimpleConsumer } = require('rocketmq-client-nodejs');

// The SDK logs through egg-logger to ~/logs unless told otherwise: keep stdout for RESULT lines.
const logger = { info() {}, warn(...a) { console.error(...a); }, error(...a) { console.error(...a); }, debug() {} };

async function produce(endpoint, prefix, expectFile) {
  const producer = new Producer({ endpoints: endpoint, namespace: '', logger, topics: [ 'GrpcNode', 'GrpcFifo' ] });
  const t0 = Date.now();
  let sent = 0;
  let fail = '';
  const lines = [];
  try {
    await producer.startup();
    for (let i = 0; i < 8; i++) {
      const key = `${prefix}-n${i}`;
      const r = await producer.send({
        topic: 'GrpcNode', tag: 'TagN', keys: [ key, `${key}-k2` ],
        properties: new Map([[ 'userProp', `v${i}` ]]), body: Buffer.from(`node ${key}`),
      });
      lines.push(`GrpcNode ${key} TagN - ${r.messageId} 0`);
      sent++;
    }
    for (let i = 0; i < 4; i++) {
      const key = `${prefix}-f${i}`;
      const group = i % 2 === 0 ? 'g0' : 'order-42';
      const r = await producer.send({
        topic: 'GrpcFifo', tag: 'TagNF', keys: [ key ], messageGroup: group, body: Buffer.from(`node ${key}`),
      });
      lines.push(`GrpcFifo ${key} TagNF ${group} ${r.messageId} 0`);
      sent++;
    }
  } catch (e) {
    fail = String(e && e.stack || e).split('\n').slice(0, 2).join(' ');
  }
  fs.appendFileSync(expectFile, lines.map(l => l + '\n').join(''));
  try {
    await producer.shutdown();
  } catch (e) {
    // shutting down is not what is tested
  }
  console.log(`RESULT node-produce ${fail || sent !== 12 ? 'FAIL' : 'PASS'} sent=${sent}/12 elapsed=${Date.now() - t0}ms ${fail}`);
}

async function consume(endpoint, group, topics, expectFile, seconds) {
  const subs = new Map(topics.split(',').map(t => [ t.split(':')[0], t.split(':')[1] || '*' ]));
  const topicList = [ ...subs.keys() ];
  const want = new Map();
  for (const line of fs.readFileSync(expectFile, 'utf8').split('\n')) {
    const p = line.trim().split(/\s+/);
    if (p.length >= 5 && topicList.includes(p[0])) want.set(p[1], p);
  }
  const consumer = new SimpleConsumer({
    endpoints: endpoint, namespace: '', logger, consumerGroup: group, subscriptions: subs, awaitDuration: 3000,
  });
  const seen = new Map();
  const bad = [];
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  await consumer.startup();
  const done = () => [ ...want.keys() ].every(k => seen.has(k));
  while (!done() && Date.now() < deadline) {
    let msgs = [];
    try {
      msgs = await consumer.receive(16, 15000);
    } catch (e) {
      // an empty long poll is MESSAGE_NOT_FOUND, surfaced as an exception
      if (!/MESSAGE_NOT_FOUND|not found/i.test(String(e))) bad.push(String(e).slice(0, 120));
    }
    for (const m of msgs) {
      const key = m.keys.find(k => want.has(k)) || m.keys[0] || '-';
      seen.set(key, (seen.get(key) || 0) + 1);
      const w = want.get(key);
      if (!w) {
        bad.push(`unexpected ${key}`);
      } else {
        const [ topic, , tag, mgroup, mid ] = w;
        const body = m.body.toString('utf8');
        if (m.topic !== topic) bad.push(`${key}: topic ${m.topic}`);
        if ((m.tag || '-') !== tag) bad.push(`${key}: tag ${m.tag}`);
        if (mid !== '-' && m.messageId !== mid) bad.push(`${key}: id ${m.messageId} != ${mid}`);
        if (mgroup !== '-' && m.messageGroup !== mgroup) bad.push(`${key}: message group ${m.messageGroup}`);
        if (!/^(node|remoting|java) /.test(body) || !body.endsWith(` ${key}`)) bad.push(`${key}: body ${body.slice(0, 40)}`);
        if (tag === 'TagN' && (m.properties.get('userProp') || '') !== `v${key.replace(/.*-n/, '')}`) {
          bad.push(`${key}: userProp ${m.properties.get('userProp')}`);
        }
      }
      try {
        await consumer.ack(m);
      } catch (e) {
        bad.push(`ack ${key}: ${String(e).slice(0, 100)}`);
      }
    }
  }
  const elapsed = Date.now() - t0;
  try {
    await consumer.shutdown();
  } catch (e) {
    // shutting down is not what is tested
  }
  const got = [ ...want.keys() ].filter(k => seen.has(k)).length;
  const dups = [ ...seen.values() ].reduce((a, n) => a + n - 1, 0);
  const ok = bad.length === 0 && want.size > 0 && got === want.size;
  console.log(`RESULT node-consume ${ok ? 'PASS' : 'FAIL'} received=${got}/${want.size} duplicates=${dups} `
    + `elapsed=${elapsed}ms ${bad.slice(0, 6).join('; ')}`);
}

async function main() {
  const [ mode, ...a ] = process.argv.slice(2);
  if (mode === 'produce') await produce(a[0], a[1], a[2]);
  else if (mode === 'consume') await consume(a[0], a[1], a[2], a[3], Number(a[4]));
  else throw new Error(`unknown mode ${mode}`);
  process.exit(0);
}

main().catch(e => {
  console.log(`RESULT node-${process.argv[2]} FAIL ${String(e && e.stack || e).split('\n').slice(0, 2).join(' ')}`);
  process.exit(1);
});
