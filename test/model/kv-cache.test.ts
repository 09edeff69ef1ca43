// KvCache.appendRows: rows computed elsewhere (a prefix cache's blocks) become committed tokens, in order,
// growing the cache as needed; never on top of pending rows.
import t from 'tap';
import { KvCache } from '../../model/kv-cache.ts';

const rows = (n: number, base: number, rowSize: number) => Float32Array.from({ length: n * rowSize }, (_, i) => base + i);

t.test('appendRows commits rows after the committed ones, across growth', async (t) => {
  const c = new KvCache(2, 3, 64, 4); // capacity 4 rows at first
  c.appendRows([rows(3, 0, 3), rows(3, 100, 3)], [rows(3, 200, 3), rows(3, 300, 3)], 3);
  c.appendRows([rows(5, 1000, 3), rows(5, 1100, 3)], [rows(5, 1200, 3), rows(5, 1300, 3)], 4); // only the first 4 of 5
  t.equal(c.length, 7);
  t.equal(c.pending, 0);
  t.same([...c.pastKeys(0)], [...rows(3, 0, 3), ...rows(4, 1000, 3)]);
  t.same([...c.pastValues(1)], [...rows(3, 300, 3), ...rows(4, 1300, 3)]);
});

t.test('appendRows refuses pending rows, wrong layer counts, short arrays and overflow', async (t) => {
  const c = new KvCache(1, 2, 8);
  c.reserve(1);
  c.writePending(0, rows(1, 0, 2), rows(1, 0, 2), 1);
  t.throws(() => c.appendRows([rows(1, 0, 2)], [rows(1, 0, 2)], 1), { code: 'SPRIG_ERR_INTERNAL' });
  c.commitAll();
  t.throws(() => c.appendRows([], [], 1), { code: 'SPRIG_ERR_INTERNAL' });
  t.throws(() => c.appendRows([rows(1, 0, 2)], [rows(1, 0, 2)], 2), { code: 'SPRIG_ERR_INTERNAL' });
  t.throws(() => c.appendRows([rows(8, 0, 2)], [rows(8, 0, 2)], 8), { code: 'SPRIG_ERR_CONTEXT_OVERFLOW' });
  t.equal(c.length, 1);
  const two = new KvCache(2, 2, 8);
  t.throws(() => two.appendRows([rows(2, 0, 2), rows(2, 0, 2)], [rows(2, 0, 2), rows(1, 0, 2)], 2), { code: 'SPRIG_ERR_INTERNAL' }, 'a short last layer');
  t.equal(two.length, 0);
  t.equal(two.pending, 0, 'a refusal leaves no pending rows');
});
