/**
 * SECURITY R4 for page parsing: a person's page of dense markup near the 1 MiB cap costs hundreds of
 * milliseconds of parsing, which must not stall the event loop (every token verification) while it
 * runs, nor run without end.
 */
import { mf2 } from 'microformats-parser';
import { describe, expect, it } from 'vitest';
import { HtmlParseError, INLINE_MAX_CHARS, parseHtml } from '../../src/net/html-parse.js';

const BASE = 'https://alice.example/';
const UNIT = '<p class="note">hello <a href="/notes/1" rel="tag">a note</a> and more words</p>\n';
/**
 * About 400 KiB of markup, a good tenth of a second of parsing and far above the inline limit, with
 * one rel="me" link to `/id/<id>`.
 */
const dense = (id = 1) =>
  `<!doctype html><html><body><div class="h-card"><a class="u-url p-name" href="/">Alice</a></div><a rel="me" href="/id/${id}">me</a>${UNIT.repeat(5000)}</body></html>`;
const DENSE = dense();

/** How many turns of the event loop passed while `work` ran. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let spinning = true;
  const spin = () => {
    if (!spinning) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    const result = await work();
    return { result, turns };
  } finally {
    spinning = false;
  }
}

describe('parseHtml (SECURITY R4)', () => {
  it('R4: a large page is parsed in a worker while the event loop keeps turning, with the same result as inline', async () => {
    expect(DENSE.length).toBeGreaterThan(INLINE_MAX_CHARS);
    const { result, turns } = await turnsDuring(() => parseHtml(DENSE, BASE));
    expect(turns).toBeGreaterThan(0);
    expect(result).toEqual(mf2(DENSE, { baseUrl: BASE }));
    expect(result.rels.me).toEqual(['https://alice.example/id/1']);
    expect(result.items[0]?.type).toEqual(['h-card']);
  });

  it('parses a small page on the spot, where a round trip to the worker would cost more', async () => {
    const page = '<a rel="me" href="/me">me</a>';
    const { result, turns } = await turnsDuring(() => parseHtml(page, BASE));
    expect(turns).toBe(0);
    expect(result.rels.me).toEqual(['https://alice.example/me']);
  });

  it('R4: a large page not read within its deadline is given up, and the next one is read by a new worker', async () => {
    await expect(parseHtml(DENSE, BASE, { deadlineMs: 1 })).rejects.toThrow(HtmlParseError);
    await expect(parseHtml(DENSE, BASE, { deadlineMs: 1 })).rejects.toThrow(/took more than 0.001 s/);
    const doc = await parseHtml(dense(2), BASE);
    expect(doc.rels.me).toEqual(['https://alice.example/id/2']);
  });

  it('pages queued behind a slow one are each answered with their own document', async () => {
    const pages = [1, 2, 3].map(dense);
    const docs = await Promise.all(pages.map((page) => parseHtml(page, BASE)));
    expect(docs.map((doc) => doc.rels.me)).toEqual([
      ['https://alice.example/id/1'],
      ['https://alice.example/id/2'],
      ['https://alice.example/id/3'],
    ]);
  });

  it("passes on the parser's own refusal, and reads a page whose links are all in <head>", async () => {
    const headOnly = `<html><head><link rel="me" href="/x">${'<meta name="x" content="y">'.repeat(2000)}</head><body>hi</body></html>`;
    expect(headOnly.length).toBeGreaterThan(INLINE_MAX_CHARS);
    expect((await parseHtml(headOnly, BASE)).rels.me).toEqual(['https://alice.example/x']);
  });
});
