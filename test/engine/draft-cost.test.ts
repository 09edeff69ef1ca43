// The online draft-cost model: a linear fit over asks, proportional while the asks seen barely differ.
import t from 'tap';
import { askFor, CHEAP_ASK_FLOOR, DraftCost } from '../../engine/draft-cost.ts';

t.test('no data: drafting is free', async (t) => {
  t.equal(new DraftCost().at(16), 0);
});

t.test('one ask seen: time taken as proportional to the ask', async (t) => {
  const c = new DraftCost();
  for (let i = 0; i < 5; i++) c.observe(8, 4);
  t.ok(Math.abs(c.at(8) - 4) < 1e-9);
  t.ok(Math.abs(c.at(16) - 8) < 1e-9, 'twice the ask, twice the time');
});

t.test('varied asks: recovers intercept and slope', async (t) => {
  const c = new DraftCost();
  for (let i = 0; i < 200; i++) {
    const ask = [2, 4, 8, 16][i % 4];
    c.observe(ask, 1 + 0.25 * ask);
  }
  t.ok(Math.abs(c.at(32) - 9) < 1e-6, `at(32) = ${c.at(32)}`);
  t.ok(Math.abs(c.at(1) - 1.25) < 1e-6, `at(1) = ${c.at(1)}`);
});

t.test('asks: twice the size (at least 8) while drafting is cheap, the next tree size once it is not', async (t) => {
  const cheap = new DraftCost();
  cheap.observe(8, 0.1);
  t.equal(cheap.cheap(10), true);
  const costly = new DraftCost();
  costly.observe(8, 3);
  t.equal(costly.cheap(10), false);
  t.equal(askFor(1, 64, true), CHEAP_ASK_FLOOR);
  t.equal(askFor(10, 64, true), 20);
  t.equal(askFor(50, 64, true), 64, 'never past the cap');
  t.equal(askFor(0, 64, false), 0, 'trees kept at about nothing: no drafting between probes');
  t.equal(askFor(0.3, 64, false, true), 2, 'a probe still asks');
  t.equal(askFor(1, 64, false), 2);
  t.equal(askFor(2, 64, false), 2);
  t.equal(askFor(4, 64, false), 4);
  t.equal(askFor(5.2, 64, false), 6);
  t.equal(askFor(7.2, 64, false), 8);
  t.equal(askFor(40, 32, false), 32, 'never past the cap');
  t.equal(askFor(4, 64, false, true), 6, 'a probe asks one size up');
  t.equal(askFor(8, 64, false, true), 12);
});
