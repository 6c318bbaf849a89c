import { describe, expect, it } from 'vitest';
import { isTouchDue, LastUsedLedger, TOUCH_INTERVAL } from './last-used.js';

describe('last_used_at bookkeeping', () => {
  it('is due for a credential never used, or last used a minute or more ago', () => {
    expect(isTouchDue(null, 1000)).toBe(true);
    expect(isTouchDue(1000 - TOUCH_INTERVAL, 1000)).toBe(true);
    expect(isTouchDue(1000 - TOUCH_INTERVAL + 1, 1000)).toBe(false);
  });

  it('claims one touch a minute per credential, whatever the (possibly stale) row says', () => {
    const ledger = new LastUsedLedger();
    expect(ledger.claim('a', null, 1000)).toBe(true);
    // A cached row read before the touch still says "never used".
    expect(ledger.claim('a', null, 1000)).toBe(false);
    expect(ledger.claim('a', null, 1059)).toBe(false);
    expect(ledger.claim('b', null, 1059)).toBe(true);
    expect(ledger.claim('a', null, 1060)).toBe(true);
    // A row newer than the ledger (another process touched it) is believed.
    expect(ledger.claim('c', 1100, 1120)).toBe(false);
    expect(ledger.claim('c', 1100, 1160)).toBe(true);
  });

  it('answers at once when no touch is due, after the write when one is, and tries again after a failed write', async () => {
    const ledger = new LastUsedLedger();
    const written: Array<[string, number]> = [];
    const write = async (id: string, at: number) => {
      written.push([id, at]);
    };
    const first = ledger.touchIfDue('a', null, 1000, 'answer', write);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toBe('answer');
    expect(ledger.touchIfDue('a', null, 1001, 'answer', write)).toBe('answer');
    expect(written).toEqual([['a', 1000]]);
    const failing = ledger.touchIfDue('b', null, 1000, 'answer', async () => {
      throw new Error('database is locked');
    });
    await expect(failing).rejects.toThrow('database is locked');
    expect(await ledger.touchIfDue('b', null, 1001, 'answer', write)).toBe('answer');
    expect(written).toEqual([
      ['a', 1000],
      ['b', 1001],
    ]);
  });

  it('keeps only the touches that can still matter', () => {
    const ledger = new LastUsedLedger();
    for (let i = 0; i < 100; i++) ledger.claim(`early-${i}`, null, 1000);
    ledger.claim('later', null, 1000 + TOUCH_INTERVAL);
    expect(ledger.size).toBe(101);
    ledger.claim('latest', null, 1000 + 2 * TOUCH_INTERVAL);
    // The first hundred are two minutes old: dropped, and due again as they would be anyway.
    expect(ledger.size).toBe(2);
    expect(ledger.claim('early-0', null, 1000 + 2 * TOUCH_INTERVAL)).toBe(true);
    expect(ledger.claim('later', null, 1000 + 2 * TOUCH_INTERVAL - 1)).toBe(false);
  });
});
