import t from 'tap';
import { TurnBatcher, packBatch } from '../../src/shared/turn-batcher.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

t.test('what one turn adds is written once, in order, after the turn', async (t) => {
  const writes: number[][] = [];
  const batcher = new TurnBatcher<number>((messages) => writes.push(messages));
  batcher.add(1);
  batcher.add(2);
  batcher.add(3);
  t.same(writes, [], 'nothing written during the turn');
  await nextTurn();
  t.same(writes, [[1, 2, 3]]);
  batcher.add(4);
  await nextTurn();
  t.same(writes, [[1, 2, 3], [4]], 'the next turn is the next batch');
});

t.test('flush writes now; drop forgets; an empty turn writes nothing', async (t) => {
  const writes: string[][] = [];
  const batcher = new TurnBatcher<string>((messages) => writes.push(messages));
  batcher.add('a');
  batcher.flush();
  t.same(writes, [['a']]);
  batcher.add('b');
  batcher.drop();
  await nextTurn();
  t.same(writes, [['a']], 'dropped messages are never written, and no empty batch is');
});

t.test('packBatch: one message as it is, several wrapped', async (t) => {
  const wrap = (messages: string[]) => `[${messages.join(',')}]`;
  t.equal(packBatch(['x'], wrap), 'x');
  t.equal(packBatch(['x', 'y'], wrap), '[x,y]');
});
