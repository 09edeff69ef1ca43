// Scheduler: slots, FIFO waiting, all-or-nothing admission, aborts while waiting, idempotent release.
import t from 'tap';
import { Scheduler } from '../../server/scheduler.ts';

t.test('grants up to maxConcurrent, then queues FIFO', async (t) => {
  const s = new Scheduler(2, 3);
  const [a, b] = s.reserve(2);
  await a.granted;
  await b.granted;
  const order: string[] = [];
  const [c] = s.reserve(1);
  const [d] = s.reserve(1);
  void c.granted.then(() => order.push('c'));
  void d.granted.then(() => order.push('d'));
  t.equal(s.running, 2);
  t.equal(s.waiting, 2);
  b.release();
  b.release(); // idempotent
  await c.granted;
  t.same(order, ['c']);
  t.equal(s.running, 2);
  a.release();
  await d.granted;
  t.same(order, ['c', 'd']);
  c.release();
  d.release();
  t.equal(s.running, 0);
  t.equal(s.waiting, 0);
});

t.test('admission is all or nothing', async (t) => {
  const s = new Scheduler(1, 2);
  s.reserve(1);
  t.throws(() => s.reserve(3), { code: 'SPRIG_ERR_QUEUE_FULL' });
  t.equal(s.waiting, 0, 'a rejected reservation leaves nothing behind');
  s.reserve(2);
  t.equal(s.waiting, 2);
  t.throws(() => s.reserve(1), { code: 'SPRIG_ERR_QUEUE_FULL' });
});

t.test('max queue 0: only free slots admit', async (t) => {
  const s = new Scheduler(2, 0);
  s.reserve(2);
  t.throws(() => s.reserve(1));
});

t.test('an abort while waiting leaves the queue and rejects', async (t) => {
  const s = new Scheduler(1, 4);
  const [a] = s.reserve(1);
  const ctl = new AbortController();
  const [b] = s.reserve(1, ctl.signal);
  const [c] = s.reserve(1);
  ctl.abort(new Error('gone'));
  await t.rejects(b.granted, { message: 'gone' });
  t.equal(s.waiting, 1);
  a.release();
  await c.granted;
  t.equal(s.running, 1);
  b.release(); // no effect: it never ran
  t.equal(s.running, 1);
});

t.test('releasing a waiting lease rejects it and frees its place', async (t) => {
  const s = new Scheduler(1, 1);
  s.reserve(1);
  const [b] = s.reserve(1);
  b.release();
  await t.rejects(b.granted);
  t.equal(s.waiting, 0);
  s.reserve(1);
});
