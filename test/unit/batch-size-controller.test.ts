/** `--batch-size auto`: the controller that sizes each batch from the measured time of the last ones. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adaptivePageSize, AUTO_BATCH } from '../../src/runner/batches.js';
import { LIMITS } from '../../src/parse.js';

/** Drive the controller against a database that handles `rowsPerMs` rows per millisecond. */
function drive(targetMs: number, rowsPerMs: (page: number) => number, pages: number): number[] {
  const controller = adaptivePageSize(targetMs);
  const sizes: number[] = [];
  for (let page = 0; page < pages; page++) {
    const size = controller.nextPageSize();
    sizes.push(size);
    controller.pageDone(size, size / rowsPerMs(page));
  }
  return sizes;
}

function assertSteps(sizes: number[]): void {
  for (let i = 1; i < sizes.length; i++) {
    assert.ok(sizes[i]! <= sizes[i - 1]! * 2, `step ${i}: ${sizes[i - 1]} → ${sizes[i]} more than doubles`);
    assert.ok(sizes[i]! >= Math.ceil(sizes[i - 1]! / 2), `step ${i}: ${sizes[i - 1]} → ${sizes[i]} less than halves`);
  }
}

describe('batch-size controller (--batch-size auto)', () => {
  test('starts at 1,000 rows', () => {
    assert.equal(adaptivePageSize(200).nextPageSize(), 1000);
  });

  test('the upper bound is the smaller of 100,000 and the bound-parameter-safe --batch-size cap', () => {
    assert.equal(AUTO_BATCH.max, Math.min(100_000, LIMITS.batchSize));
    assert.equal(AUTO_BATCH.min, 100);
  });

  test('converges to the size whose batch takes --batch-time on a steady rate', () => {
    // 20 rows/ms × 200 ms = 4,000 rows per batch.
    const sizes = drive(200, () => 20, 12);
    assert.deepEqual(sizes.slice(0, 3), [1000, 2000, 4000]);
    for (const size of sizes.slice(3)) assert.equal(size, 4000);
    assertSteps(sizes);
  });

  test('converges downward too, halving at most per batch', () => {
    // 1 row/ms × 200 ms = 200 rows.
    const sizes = drive(200, () => 1, 10);
    assert.deepEqual(sizes.slice(0, 4), [1000, 500, 250, 200]);
    assert.equal(sizes.at(-1), 200);
    assertSteps(sizes);
  });

  test('shrinks at once after one slow batch, without waiting for the average to catch up', () => {
    const controller = adaptivePageSize(200);
    // Settle at 4,000 rows on a fast, steady rate.
    for (let i = 0; i < 10; i++) controller.pageDone(controller.nextPageSize(), controller.nextPageSize() / 20);
    assert.equal(controller.nextPageSize(), 4000);
    // One batch takes 800 ms (the table got slow): the very next batch is halved.
    controller.pageDone(4000, 800);
    assert.equal(controller.nextPageSize(), 2000);
    // The slow rate is the estimate now, not a mix with the fast past: it keeps shrinking to 1,000.
    controller.pageDone(2000, 400);
    assert.equal(controller.nextPageSize(), 1000);
  });

  test('never leaves 100 … max, however fast or slow the batches', () => {
    const fast = drive(200, () => 1e9, 30);
    assert.equal(fast.at(-1), AUTO_BATCH.max);
    assert.ok(fast.every((s) => s <= AUTO_BATCH.max));
    assertSteps(fast);
    const slow = drive(200, () => 1e-6, 30);
    assert.equal(slow.at(-1), AUTO_BATCH.min);
    assert.ok(slow.every((s) => s >= AUTO_BATCH.min));
    assertSteps(slow);
  });

  test('a swinging rate never moves the size more than ×2 or ÷2 per batch, within bounds', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const sizes = drive(200, () => 10 ** (random() * 8 - 4), 500);
    assertSteps(sizes);
    assert.ok(sizes.every((s) => s >= AUTO_BATCH.min && s <= AUTO_BATCH.max && Number.isInteger(s)));
  });

  test('a zero-millisecond or empty batch does not break the estimate', () => {
    const controller = adaptivePageSize(200);
    controller.pageDone(0, 0);
    assert.equal(controller.nextPageSize(), 1000);
    controller.pageDone(1000, 0);
    assert.equal(controller.nextPageSize(), 2000);
  });
});
