// The rotary row order: the two maps are inverse permutations, match llama.cpp's reshape(n_head, 2, hd/2).swapaxes(1, 2)
// on a worked example, and move whole rows of raw bytes.
import t from 'tap';
import { ggufRowOfHfRow, ggufToHfRows, hfRowOfGgufRow, hfToGgufRows } from '../../../model/gguf/permute.ts';

t.test('head dim 4, two heads: HF rows [a0 a1 b0 b1] per head become [a0 b0 a1 b1]', async (t) => {
  // llama.cpp: w.reshape(2 heads, 2 halves, 2, cols).swapaxes(1, 2) → per head rows 0, 2, 1, 3
  t.same(Array.from({ length: 8 }, (_, r) => hfRowOfGgufRow(r, 4)), [0, 2, 1, 3, 4, 6, 5, 7]);
  t.same(Array.from({ length: 8 }, (_, r) => ggufRowOfHfRow(r, 4)), [0, 2, 1, 3, 4, 6, 5, 7]);
  // head dim 8: GGUF rows 0..7 come from HF rows 0 4 1 5 2 6 3 7
  t.same(Array.from({ length: 8 }, (_, r) => hfRowOfGgufRow(r, 8)), [0, 4, 1, 5, 2, 6, 3, 7]);
  t.same(Array.from({ length: 8 }, (_, r) => ggufRowOfHfRow(r, 8)), [0, 2, 4, 6, 1, 3, 5, 7]);
});

t.test('the maps are inverse for several head sizes', async (t) => {
  for (const hd of [2, 8, 64, 128]) {
    let bad = 0;
    for (let r = 0; r < 3 * hd; r++) if (hfRowOfGgufRow(ggufRowOfHfRow(r, hd), hd) !== r) bad++;
    t.equal(bad, 0, `head dim ${hd}`);
  }
});

t.test('rows of bytes move whole, and back', async (t) => {
  const rows = 16, rowBytes = 3;
  const hf = Uint8Array.from({ length: rows * rowBytes }, (_, i) => i);
  const g = hfToGgufRows(hf, rows, rowBytes, 8);
  t.same(Array.from(g.subarray(3, 6)), [12, 13, 14], 'GGUF row 1 = HF row 4');
  t.same(Array.from(g.subarray(8 * 3 + 3, 8 * 3 + 6)), [36, 37, 38], 'second head: GGUF row 9 = HF row 12');
  t.same(ggufToHfRows(g, rows, rowBytes, 8), hf);
});
