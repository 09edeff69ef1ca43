// ggml type table: ids and block sizes as ggml defines them, row byte counts.
import t from 'tap';
import { ggmlTypeById, ggmlTypeId, rowBytes, supportedType, SUPPORTED_TYPES, tensorBytes } from '../../../model/quant/ggml-types.ts';

t.test('the supported types: ids, blocks, bytes', async (t) => {
  const want: Record<string, [number, number, number]> = { F32: [0, 1, 4], F16: [1, 1, 2], BF16: [30, 1, 2], Q8_0: [8, 32, 34], Q4_0: [2, 32, 18], Q4_K: [12, 256, 144], Q5_K: [13, 256, 176], Q6_K: [14, 256, 210] };
  t.same([...SUPPORTED_TYPES].sort(), Object.keys(want).sort());
  for (const [name, [id, elems, bytes]] of Object.entries(want)) {
    t.match(ggmlTypeById(id), { name, blockElems: elems, blockBytes: bytes });
    t.equal(ggmlTypeId(name as never), id);
    t.equal(supportedType(id), name);
  }
  t.equal(supportedType(6), null, 'Q5_0 is a ggml type Sprig does not decode');
  t.equal(ggmlTypeById(6)!.name, 'Q5_0');
  t.equal(ggmlTypeById(4), undefined, 'id 4 (removed Q4_2) is not a type');
});

t.test('row and tensor bytes', async (t) => {
  t.equal(rowBytes('Q4_K', 4096), 16 * 144);
  t.equal(rowBytes('Q8_0', 64), 68);
  t.equal(rowBytes('F16', 3), 6);
  t.equal(tensorBytes('Q6_K', [10, 512]), 10 * 2 * 210);
  t.equal(tensorBytes('F32', [7]), 28);
  t.throws(() => rowBytes('Q4_0', 48), { code: 'SPRIG_ERR_INTERNAL', message: /Q4_0 row needs a multiple of 32 values, got 48/ });
});
