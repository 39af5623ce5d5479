import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  bigintArray,
  splitReceipts,
  textArray,
} from '../../src/messaging/drivers/postgres/context.js';

it('writes the checked parts of receipts as bigint[] literals, and nothing else', () => {
  const { seqs, tokens } = splitReceipts(['12:3', 'x:1', '1:"}', '7:9', '1,2:3']);
  assert.equal(bigintArray(seqs), '{12,7}');
  assert.equal(bigintArray(tokens), '{3,9}');
  assert.equal(bigintArray([]), '{}');
});

it('quotes every text[] element as pg does, escaping quotes and backslashes', () => {
  assert.equal(textArray([]), '{}');
  assert.equal(textArray(['NULL', 'a,b', '{x}', ' ']), '{"NULL","a,b","{x}"," "}');
  assert.equal(textArray(['say "hi"', 'C:\\dir', '\\"']), '{"say \\"hi\\"","C:\\\\dir","\\\\\\""}');
});
