// Runs KafkaJS against one broker and checks what a KafkaJS application relies on: the admin
// client, an idempotent producer with compression and headers, a consumer group of two
// members, transactions with offsets and read_committed, compaction's key rule, record
// deletion, group offset tools, and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, over TLS too).
//
// Settings come from the environment (internal/kafkajstest sets them):
//   KJS_PLAINTEXT  host:port of a PLAINTEXT listener (required)
//   KJS_SASL       host:port of a SASL_PLAINTEXT listener with PLAIN and both SCRAMs
//   KJS_SASL_SSL   host:port of a SASL_SSL listener; KJS_CA is its CA file (PEM)
//   KJS_USERS      JSON: {"plain": [user, password], "scram256": [...], "scram512": [...]}
//
// Each check prints "ok <name>" or "FAIL <name>: <why>"; the exit status is 1 if any failed.
'use strict';

const fs = require('fs');
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');

const plaintext = process.env.KJS_PLAINTEXT;
if (!plaintext) {
  console.error('KJS_PLAINTEXT is not set');
  process.exit(2);
}
const users = JSON.parse(process.env.KJS_USERS || '{}');
const wait = 60000; // the longest any one check waits for records

function client(extra) {
  return new Kafka(Object.assign({
    clientId: 'kafkajs-conformance',
    brokers: [plaintext],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  }, extra));
}

const kafka = client({});
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log('ok ' + name);
  } catch (e) {
    failed++;
    console.log('FAIL ' + name + ': ' + (e && e.stack ? e.stack : e));
  }
}

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

function withTimeout(p, what) {
  let timer;
  const t = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('timed out: ' + what())), wait); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// consume reads topic from the beginning in group until want records arrived, then stops.
async function consume(topic, group, want, opts) {
  const c = kafka.consumer(Object.assign({ groupId: group, maxWaitTimeInMs: 200 }, opts));
  const got = [];
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  try {
    await withTimeout(new Promise((resolve) => {
      c.run({
        eachMessage: async ({ partition, message }) => {
          got.push({ partition, offset: message.offset, key: message.key && message.key.toString(), value: message.value && message.value.toString(), headers: message.headers });
          if (got.length >= want) resolve();
        },
      });
    }), () => `${topic}: ${got.length} of ${want} records`);
  } finally {
    await c.disconnect();
  }
  return got;
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();

  await check('admin: create, list and describe topics', async () => {
    await admin.createTopics({ waitForLeaders: true, topics: [
      { topic: 'kjs-in', numPartitions: 3 },
      { topic: 'kjs-out', numPartitions: 2 },
      { topic: 'kjs-compact', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ] });
    const names = await admin.listTopics();
    for (const t of ['kjs-in', 'kjs-out', 'kjs-compact']) expect(names.includes(t), `listTopics lacks ${t}: ${names}`);
    const md = await admin.fetchTopicMetadata({ topics: ['kjs-in'] });
    expect(md.topics[0].partitions.length === 3, 'kjs-in partitions: ' + JSON.stringify(md));
    for (const p of md.topics[0].partitions) expect(p.partitionErrorCode === 0 && p.leader >= 0, 'partition metadata: ' + JSON.stringify(p));
    const again = await admin.createTopics({ topics: [{ topic: 'kjs-in', numPartitions: 3 }] });
    expect(again === false, 'creating an existing topic should report false, got ' + again);
  });

  await check('admin: cluster, partitions and configs', async () => {
    const cl = await admin.describeCluster();
    expect(cl.brokers.length === 1 && cl.controller !== null, 'describeCluster: ' + JSON.stringify(cl));
    await admin.createPartitions({ topicPartitions: [{ topic: 'kjs-out', count: 3 }] });
    const md = await admin.fetchTopicMetadata({ topics: ['kjs-out'] });
    expect(md.topics[0].partitions.length === 3, 'kjs-out after createPartitions: ' + md.topics[0].partitions.length);
    await admin.alterConfigs({ resources: [{ type: 2, name: 'kjs-in', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] });
    const dc = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'kjs-in', configNames: ['retention.ms', 'cleanup.policy'] }] });
    const entries = Object.fromEntries(dc.resources[0].configEntries.map((e) => [e.configName, e.configValue]));
    expect(entries['retention.ms'] === '3600000' && entries['cleanup.policy'] === 'delete', 'describeConfigs: ' + JSON.stringify(entries));
  });

  const n = 1000;
  await check('idempotent producer: gzip batches with keys and headers', async () => {
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    for (let i = 0; i < n; i += 100) {
      const messages = [];
      for (let j = i; j < i + 100; j++) messages.push({ key: 'k' + (j % 37), value: 'v' + j, headers: { seq: String(j) } });
      const res = await p.send({ topic: 'kjs-in', acks: -1, compression: CompressionTypes.GZIP, messages });
      for (const r of res) expect(r.errorCode === 0, 'produce: ' + JSON.stringify(r));
    }
    await p.disconnect();
    const offs = await admin.fetchTopicOffsets('kjs-in');
    const total = offs.reduce((s, o) => s + Number(o.high) - Number(o.low), 0);
    expect(total === n, 'fetchTopicOffsets total ' + total + ': ' + JSON.stringify(offs));
  });

  await check('consumer group of two members reads every record once', async () => {
    const members = [0, 1].map(() => kafka.consumer({ groupId: 'kjs-two', maxWaitTimeInMs: 200, sessionTimeout: 30000, heartbeatInterval: 500 }));
    const seen = new Map();
    const byMember = [0, 0];
    try {
      for (const m of members) {
        await m.connect();
        await m.subscribe({ topic: 'kjs-in', fromBeginning: true });
      }
      await withTimeout(new Promise((resolve) => {
        members.forEach((m, who) => m.run({
          eachMessage: async ({ partition, message }) => {
            const seq = message.headers.seq.toString();
            expect(message.value.toString() === 'v' + seq && message.key.toString() === 'k' + (seq % 37), 'record ' + seq + ' came back changed');
            if (!seen.has(seq)) byMember[who]++;
            seen.set(seq, partition);
            if (seen.size === n) resolve();
          },
        }));
      }), () => `${seen.size} of ${n} records`);
      // Both members are in the group: wait for the rebalance that gives each a share.
      await withTimeout((async () => {
        for (;;) {
          const d = (await admin.describeGroups(['kjs-two'])).groups[0];
          if (d.state === 'Stable' && d.members.length === 2) return;
          await new Promise((r) => setTimeout(r, 200));
        }
      })(), () => 'group kjs-two never had two stable members');
    } finally {
      for (const m of members) await m.disconnect();
    }
    const committed = await admin.fetchOffsets({ groupId: 'kjs-two', topics: ['kjs-in'] });
    const ends = await admin.fetchTopicOffsets('kjs-in');
    for (const p of committed[0].partitions) {
      const end = ends.find((e) => e.partition === p.partition).high;
      expect(p.offset === end, `committed offset of partition ${p.partition} is ${p.offset}, its end ${end}`);
    }
  });

  await check('transactions: committed records and offsets are visible, aborted ones are not', async () => {
    const tp = kafka.producer({ transactionalId: 'kjs-tx', idempotent: true, maxInFlightRequests: 1 });
    await tp.connect();
    let tx = await tp.transaction();
    await tx.send({ topic: 'kjs-out', messages: [{ key: 'a', value: 'committed-1' }, { key: 'b', value: 'committed-2' }] });
    await tx.sendOffsets({ consumerGroupId: 'kjs-tx-group', topics: [{ topic: 'kjs-in', partitions: [{ partition: 0, offset: '5' }] }] });
    await tx.commit();
    tx = await tp.transaction();
    await tx.send({ topic: 'kjs-out', messages: [{ key: 'a', value: 'aborted' }] });
    await tx.sendOffsets({ consumerGroupId: 'kjs-tx-group', topics: [{ topic: 'kjs-in', partitions: [{ partition: 0, offset: '9' }] }] });
    await tx.abort();
    tx = await tp.transaction();
    await tx.send({ topic: 'kjs-out', messages: [{ key: 'c', value: 'committed-3' }] });
    await tx.commit();
    await tp.disconnect();
    const offs = await admin.fetchOffsets({ groupId: 'kjs-tx-group', topics: ['kjs-in'] });
    const p0 = offs[0].partitions.find((p) => p.partition === 0);
    expect(p0.offset === '5', 'transactional offset of partition 0: ' + p0.offset);
    const got = await consume('kjs-out', 'kjs-rc', 3, { readUncommitted: false });
    const values = got.map((r) => r.value).sort();
    expect(JSON.stringify(values) === JSON.stringify(['committed-1', 'committed-2', 'committed-3']), 'read_committed read ' + JSON.stringify(values));
  });

  await check('compacted topic refuses a record without a key', async () => {
    const p = kafka.producer({ retry: { retries: 0 } });
    await p.connect();
    let err;
    try {
      await p.send({ topic: 'kjs-compact', acks: -1, messages: [{ key: null, value: 'no key' }] });
    } catch (e) {
      err = e;
    } finally {
      await p.disconnect();
    }
    expect(err && err.type === 'INVALID_RECORD', 'want INVALID_RECORD, got ' + (err ? err.type + ' ' + err.message : 'success'));
  });

  await check('admin: delete records, offsets by time', async () => {
    await admin.deleteTopicRecords({ topic: 'kjs-in', partitions: [{ partition: 1, offset: '3' }] });
    const offs = await admin.fetchTopicOffsets('kjs-in');
    expect(offs.find((o) => o.partition === 1).low === '3', 'low watermark after deleteTopicRecords: ' + JSON.stringify(offs));
    const byTime = await admin.fetchTopicOffsetsByTimestamp('kjs-in', Date.now() - 3600000);
    for (const o of byTime) {
      const low = offs.find((x) => x.partition === o.partition).low;
      expect(o.offset === low, `offset by time of partition ${o.partition} is ${o.offset}, want ${low}`);
    }
  });

  await check('admin: group listing, offset reset and deletion', async () => {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(groups.includes('kjs-two'), 'listGroups: ' + groups);
    await admin.setOffsets({ groupId: 'kjs-two', topic: 'kjs-in', partitions: [{ partition: 2, offset: '7' }] });
    const offs = await admin.fetchOffsets({ groupId: 'kjs-two', topics: ['kjs-in'] });
    expect(offs[0].partitions.find((p) => p.partition === 2).offset === '7', 'after setOffsets: ' + JSON.stringify(offs));
    const del = await admin.deleteGroups(['kjs-two']);
    expect(del[0].errorCode === 0, 'deleteGroups: ' + JSON.stringify(del));
    const after = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(!after.includes('kjs-two'), 'deleted group still listed: ' + after);
  });

  await check('admin: delete topics', async () => {
    await admin.deleteTopics({ topics: ['kjs-compact'], timeout: 10000 });
    const names = await admin.listTopics();
    expect(!names.includes('kjs-compact'), 'kjs-compact still listed: ' + names);
  });
  await admin.disconnect();

  const sasl = [
    ['plain', users.plain],
    ['scram-sha-256', users.scram256],
    ['scram-sha-512', users.scram512],
  ];
  const listeners = [];
  if (process.env.KJS_SASL) listeners.push(['SASL_PLAINTEXT', process.env.KJS_SASL, undefined]);
  if (process.env.KJS_SASL_SSL) listeners.push(['SASL_SSL', process.env.KJS_SASL_SSL, { ca: [fs.readFileSync(process.env.KJS_CA, 'utf8')] }]);
  for (const [listener, addr, ssl] of listeners) {
    for (const [mechanism, cred] of sasl) {
      if (!cred) continue;
      const [username, password] = cred;
      await check(`${listener} ${mechanism}: authenticates and produces`, async () => {
        const k = client({ brokers: [addr], ssl, sasl: { mechanism, username, password } });
        const p = k.producer();
        await p.connect();
        const res = await p.send({ topic: 'kjs-in', acks: -1, messages: [{ key: 'sasl', value: mechanism }] });
        await p.disconnect();
        expect(res[0].errorCode === 0, 'produce: ' + JSON.stringify(res));
      });
      await check(`${listener} ${mechanism}: a wrong password is refused`, async () => {
        const k = client({ brokers: [addr], ssl, sasl: { mechanism, username, password: password + '-wrong' }, retry: { retries: 0 } });
        const a = k.admin();
        let err;
        try {
          await a.connect();
          await a.listTopics();
        } catch (e) {
          err = e;
        } finally {
          await a.disconnect();
        }
        expect(err && err.name === 'KafkaJSSASLAuthenticationError', 'want KafkaJSSASLAuthenticationError, got ' + (err ? err.name + ' ' + err.message : 'success'));
      });
    }
  }
}

main().then(() => {
  console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
  process.exit(failed ? 1 : 0);
}, (e) => {
  console.log('FAIL setup: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
