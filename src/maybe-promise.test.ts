import { describe, expect, it } from 'vitest';
// Imported whole: a bare `after` reads to the linter as vitest's hook.
import * as maybe from './maybe-promise.js';

describe('maybe-promise', () => {
  it('after: runs the next step at once on a ready value, and after the promise on a pending one', async () => {
    expect(maybe.after(2, (n) => n * 3)).toBe(6);
    const later = maybe.after(Promise.resolve(2), (n) => n * 3);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBe(6);
  });

  it('atEndOfTurn: runs after the code now running and the microtasks already queued, before the next macrotask', async () => {
    const seen: string[] = [];
    const macrotask = new Promise<void>((resolve) =>
      setImmediate(() => {
        seen.push('next macrotask');
        resolve();
      }),
    );
    queueMicrotask(() => seen.push('queued before'));
    maybe.atEndOfTurn(() => seen.push('end of turn'));
    seen.push('running code');
    await macrotask;
    expect(seen).toEqual(['running code', 'queued before', 'end of turn', 'next macrotask']);
  });
});
