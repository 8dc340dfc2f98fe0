// librdkafka (kcat, another process) against the in-process broker:
// produce, read back, and read again as a consumer group.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { Broker } from '../index.mjs';

const run = promisify(execFile);
const haveKcat = spawnSync('kcat', ['-V']).status === 0;

test('kcat: produce, consume, consume in a group', { skip: !haveKcat && 'kcat is not installed' }, async () => {
  const broker = await Broker.start({ topics: [{ name: 'lines', partitions: 2 }] });
  try {
    const producer = run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'lines', '-K:']);
    producer.child.stdin.end('a:one\nb:two\nc:three\n');
    await producer;
    const read = async (args) => {
      const { stdout } = await run('kcat', ['-b', broker.bootstrap, ...args, '-o', 'beginning', '-e', '-q', '-f', '%k=%s\n']);
      return stdout.split('\n').filter(Boolean).sort();
    };
    assert.deepEqual(await read(['-C', '-t', 'lines']), ['a=one', 'b=two', 'c=three']);
    assert.deepEqual(await read(['-G', 'kcat-group', 'lines']), ['a=one', 'b=two', 'c=three']);
  } finally {
    await broker.close();
  }
});
