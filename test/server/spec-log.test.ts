// The periodic speculation log line: rates, mean accepted length and acceptance by position.
import t from 'tap';
import { emptyStats } from '../../engine/stats.ts';
import { SpecLog } from '../../server/spec-log.ts';

t.test('aggregates generations into one line and resets', async (t) => {
  const lines: { obj: Record<string, unknown>; msg: string }[] = [];
  const log = { info: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) } as never;
  const s = new SpecLog(log, 60_000);
  t.teardown(() => s.stop());
  s.add({ ...emptyStats(['lookup']), steps: 4, drafted: 10, accepted: 6, accepted_by_depth: [4, 2] });
  s.add({ ...emptyStats(['lookup']), steps: 4, drafted: 0, accepted: 0 }); // plain decoding: ignored
  s.add({ ...emptyStats(['lookup']), steps: 2, drafted: 4, accepted: 2, accepted_by_depth: [2] });
  s.flush();
  t.equal(lines.length, 1);
  t.match(lines[0].obj, { mean_accepted_length: 2.33, draft_acceptance_rate: 0.571, accepted_per_position: [1, 0.333] });
  s.flush();
  t.equal(lines.length, 1, 'nothing new: no line');
});
