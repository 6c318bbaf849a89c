/**
 * Microformats parsing of fetched HTML (rels, rel-urls, items: PROTOCOL §5–6) that does not hold
 * up the event loop (SECURITY R4).
 *
 * microformats-parser (parse5 underneath) reads about 3 MB/s on this project's machines: a page at
 * the 1 MiB cap takes ~350 ms of CPU, and while it runs on the main thread nothing else does, so a
 * person's site of dense markup just under the cap would stall every token verification for that
 * long, per sign-in. So pages above INLINE_MAX_CHARS are parsed in a worker thread, one at a time,
 * each within a deadline; smaller ones (client documents, most homepages: a few milliseconds) are
 * parsed inline, where a worker's round trip would cost more than the parse.
 *
 * The worker rests as long as each page took before it starts the next waiting one, so however many
 * large pages arrive, parsing takes at most about half a core: on a small machine the other half
 * stays with verification (and whatever else runs there), and large-page sign-ins wait instead.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { mf2 } from 'microformats-parser';

export type Mf2Document = ReturnType<typeof mf2>;
type Mf2 = typeof mf2;

/** Pages up to this many characters are parsed on the main thread (about 10 ms of dense markup here). */
export const INLINE_MAX_CHARS = 32 * 1024;
/** A page the worker has not read in this time is given up, and the worker replaced. */
export const PARSE_DEADLINE_MS = 3000;
/** Large pages waiting for the worker; more are refused at once rather than queued without end. */
const MAX_WAITING = 32;
/** Heap for the worker: a 1 MiB page's tree fits many times over; a hostile one cannot grow past it. */
const WORKER_HEAP_MB = 128;

/** A page that was not parsed: too slow, too many at once, or the worker failed. */
export class HtmlParseError extends Error {}

/**
 * The parse itself, shared by both paths: the worker runs this function's source text, so it must
 * not use anything from its surroundings. The parser refuses a document whose <body> holds no
 * element (a page with links only in <head>); such a body has nothing an empty trailing element
 * could change, so that case is retried with one.
 */
function parseWithRetry(parse: Mf2, html: string, baseUrl: string): Mf2Document {
  try {
    return parse(html, { baseUrl });
  } catch (error) {
    if (!(error instanceof Error) || !error.message.includes('unable to parse HTML')) throw error;
    return parse(`${html}\n<span></span>`, { baseUrl });
  }
}

const load = createRequire(import.meta.url);
/** Loaded by the first page read, not at start (~40 ms and ~12 MB: DESIGN "Performance targets"). */
let inlineParser: Mf2 | undefined;

interface Job {
  html: string;
  baseUrl: string;
  deadlineMs: number;
  resolve(doc: Mf2Document): void;
  reject(error: Error): void;
}

type Answer = { doc: Mf2Document } | { error: string };

/** One worker, started by the first large page; it does not keep the process alive while idle. */
class ParseWorker {
  private worker: Worker | undefined;
  private active: { job: Job; timer: NodeJS.Timeout; started: number } | undefined;
  private resting = false;
  private readonly waiting: Job[] = [];

  parse(job: Job): void {
    if (this.waiting.length >= MAX_WAITING) {
      job.reject(new HtmlParseError('too many large pages were being read at once; try again in a moment'));
      return;
    }
    this.waiting.push(job);
    this.next();
  }

  private next(): void {
    if (this.active || this.resting) return;
    const job = this.waiting.shift();
    if (!job) {
      this.worker?.unref();
      return;
    }
    const worker = this.start();
    worker.ref();
    const timer = setTimeout(() => {
      this.replace(
        new HtmlParseError(`it took more than ${job.deadlineMs / 1000} s to read, so it was given up`),
      );
    }, job.deadlineMs);
    this.active = { job, timer, started: performance.now() };
    worker.postMessage({ html: job.html, baseUrl: job.baseUrl });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const source = [
      "const { parentPort } = require('node:worker_threads');",
      `const { mf2 } = require(${JSON.stringify(load.resolve('microformats-parser'))});`,
      `const parseWithRetry = ${parseWithRetry.toString()};`,
      'parentPort.on("message", ({ html, baseUrl }) => {',
      '  let answer;',
      '  try { answer = { doc: parseWithRetry(mf2, html, baseUrl) }; }',
      '  catch (error) { answer = { error: error instanceof Error ? error.message : String(error) }; }',
      '  parentPort.postMessage(answer);',
      '});',
    ].join('\n');
    const worker = new Worker(source, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    // Only the current worker's answers count: one given up may still answer before it stops.
    worker.on('message', (answer: Answer) => {
      if (this.worker === worker) this.finish(answer);
    });
    // A crash (out of its heap, say) fails the page it was reading; the next page gets a new worker.
    worker.on('error', (error) => {
      if (this.worker === worker) this.replace(new HtmlParseError(`the parser stopped: ${error.message}`));
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.replace(new HtmlParseError('the parser stopped'));
    });
    this.worker = worker;
    return worker;
  }

  private finish(answer: Answer): void {
    const active = this.active;
    if (!active) return;
    clearTimeout(active.timer);
    this.active = undefined;
    if ('doc' in answer) active.job.resolve(answer.doc);
    else active.job.reject(new Error(answer.error));
    this.rest(performance.now() - active.started);
  }

  /** Starts the next waiting page after `ms`, or at once when none waits (see the module comment). */
  private rest(ms: number): void {
    if (this.waiting.length === 0) {
      this.next();
      return;
    }
    this.resting = true;
    setTimeout(() => {
      this.resting = false;
      this.next();
    }, ms);
  }

  /**
   * Fails the page being read and drops the worker (stopping it if it still runs). A page given up
   * at its deadline used the worker all that time, so the rest follows it as after any page:
   * otherwise pages that each run out their deadline would keep a whole core busy.
   */
  private replace(error: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    const active = this.active;
    this.active = undefined;
    if (!active) {
      this.next();
      return;
    }
    clearTimeout(active.timer);
    active.job.reject(error);
    this.rest(performance.now() - active.started);
  }
}

let pool: ParseWorker | undefined;

/**
 * The microformats document of `html`, links resolved against `baseUrl`. Rejects with the
 * parser's error, or an HtmlParseError when a large page could not be read in time.
 */
export function parseHtml(
  html: string,
  baseUrl: string,
  options: { deadlineMs?: number } = {},
): Promise<Mf2Document> {
  if (html.length <= INLINE_MAX_CHARS) {
    try {
      inlineParser ??= (load('microformats-parser') as { mf2: Mf2 }).mf2;
      return Promise.resolve(parseWithRetry(inlineParser, html, baseUrl));
    } catch (error) {
      return Promise.reject(error);
    }
  }
  pool ??= new ParseWorker();
  const worker = pool;
  return new Promise((resolve, reject) =>
    worker.parse({ html, baseUrl, deadlineMs: options.deadlineMs ?? PARSE_DEADLINE_MS, resolve, reject }),
  );
}
