/**
 * The numbers behind `GET /metrics` (PROTOCOL §14), fed only by the event bus (src/events.ts), so
 * each thing is counted in one place, the token fast path included.
 *
 * Why plain counters first and prom-client only at the first scrape: importing prom-client costs
 * about 50 ms (measured on Node 20: `await import('prom-client')` 50–67 ms, against ~34 ms for
 * Hono itself), a tenth of the start-up budget, for a feature many servers never scrape. But counts
 * must start with the process, not with the first scrape. So every event lands in plain numbers
 * (nested Map lookups on constant strings and an add, about 0.1–0.3 µs an event as measured here:
 * cheap enough for the verification hot path), and the first scrape imports prom-client and builds
 * a Registry of this instance's own (never the global one, so two servers in one process stay
 * apart) whose metrics copy those numbers in at each collection. Process metrics
 * (`collectDefaultMetrics`) therefore start at the first scrape; the CPU, memory and handle figures
 * are absolute, only the event-loop-lag and GC histograms begin then.
 */
import { createRequire } from 'node:module';
import type { Histogram, Registry } from 'prom-client';
import type { EventMap, Events } from './events.js';

/** Seconds; the fast path answers in well under a millisecond, sign-in pages in tens of them. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/**
 * Series by up to three label values, as nested Maps: the label values on hot paths are constant
 * strings (route patterns, methods, cached status texts), so a lookup hashes nothing new and
 * allocates nothing, where a joined key would build and hash a fresh string per event.
 */
class Series<E extends { labels: readonly string[] }> {
  private readonly root = new Map<string, Map<string, Map<string, E>>>();
  /** Every entry, in creation order, for the scrape. */
  readonly entries: E[] = [];

  constructor(private readonly create: (labels: readonly string[]) => E) {}

  get(a: string, b: string, c: string, width: number): E {
    let level1 = this.root.get(a);
    if (level1 === undefined) {
      level1 = new Map();
      this.root.set(a, level1);
    }
    let level2 = level1.get(b);
    if (level2 === undefined) {
      level2 = new Map();
      level1.set(b, level2);
    }
    let entry = level2.get(c);
    if (entry === undefined) {
      entry = this.create([a, b, c].slice(0, width));
      level2.set(c, entry);
      this.entries.push(entry);
    }
    return entry;
  }
}

/** A counter with up to three labels, as plain numbers. */
class Tally {
  readonly series = new Series((labels) => ({ labels, value: 0 }));

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    seed: ReadonlyArray<readonly string[]> = labelNames.length === 0 ? [[]] : [],
  ) {
    for (const labels of seed) this.add(0, labels[0], labels[1], labels[2]);
  }

  /** Label values positional, so a hot caller allocates no array. */
  add(by: number, a = '', b = '', c = ''): void {
    this.series.get(a, b, c, this.labelNames.length).value += by;
  }
}

/** A histogram with two labels as plain bucket counts (not cumulative: one bucket per observation). */
class PlainHistogram {
  readonly series = new Series((labels) => ({
    labels,
    buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0),
    sum: 0,
    count: 0,
  }));

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly [string, string],
  ) {}

  observe(value: number, a: string, b: string): void {
    const entry = this.series.get(a, b, '', 2);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && value > (LATENCY_BUCKETS[i] as number)) i++;
    entry.buckets[i] = (entry.buckets[i] ?? 0) + 1;
    entry.sum += value;
    entry.count++;
  }
}

export class Metrics {
  private readonly tallies: Tally[] = [];
  private readonly latency = new PlainHistogram(
    'latchkey_http_request_duration_seconds',
    'Time from the request arriving to its answer being sent, by route pattern.',
    ['route', 'method'],
  );
  private registry: Promise<Registry> | undefined;

  constructor(events: Events) {
    const tally = (name: string, help: string, labelNames: string[], seed?: string[][]) => {
      const t = new Tally(name, help, labelNames, seed);
      this.tallies.push(t);
      return t;
    };
    const requests = tally(
      'latchkey_http_requests_total',
      'HTTP requests by route pattern (the token fast path included), method and status.',
      ['route', 'method', 'status'],
    );
    const started = tally('latchkey_signins_started_total', 'Sign-ins a method began proving.', ['method']);
    const finished = tally('latchkey_signins_finished_total', 'Sign-ins a method proved.', ['method']);
    const failed = tally('latchkey_signins_failed_total', 'Sign-ins a method refused.', ['method', 'reason']);
    const codesIssued = tally('latchkey_codes_issued_total', 'Authorization codes issued.', ['method']);
    const codesRedeemed = tally(
      'latchkey_codes_redeemed_total',
      'Authorization codes redeemed, at the authorization or the token endpoint.',
      ['at'],
      [['authorize'], ['token']],
    );
    const tokensIssued = tally(
      'latchkey_tokens_issued_total',
      'Access and refresh tokens issued, by what they were issued for.',
      ['kind', 'via'],
      [
        ['access', 'code'],
        ['access', 'mintoken'],
        ['access', 'refresh'],
        ['refresh', 'code'],
        ['refresh', 'refresh'],
      ],
    );
    const verified = tally(
      'latchkey_tokens_verified_total',
      'Access-token verifications (GET /token, introspection, userinfo), by result.',
      ['active'],
      [['true'], ['false']],
    );
    const refreshed = tally('latchkey_tokens_refreshed_total', 'Successful refresh-token exchanges.', []);
    const revoked = tally(
      'latchkey_tokens_revoked_total',
      'Revocations: single access tokens, and grants (each ending its access and refresh tokens).',
      ['kind'],
      [['access'], ['grant']],
    );
    const fetches = tally('latchkey_outbound_fetches_total', 'Outbound fetches by outcome.', ['outcome']);
    const purgeRuns = tally(
      'latchkey_purge_runs_total',
      'Purges of expired rows, by result.',
      ['result'],
      [['ok'], ['failed']],
    );
    const purgeRows = tally('latchkey_purge_rows_total', 'Expired rows the purges removed.', []);

    events.on('http.request', (e) => {
      requests.add(1, e.route, e.method, e.status);
      this.latency.observe(e.seconds, e.route, e.method);
    });
    events.on('signin.started', (e) => started.add(1, e.method));
    events.on('signin.finished', (e) => finished.add(1, e.method));
    events.on('signin.failed', (e) => failed.add(1, e.method, e.reason));
    events.on('code.issued', (e) => codesIssued.add(1, e.method));
    events.on('code.redeemed', (e) => codesRedeemed.add(1, e.at));
    events.on('token.issued', (e) => tokensIssued.add(1, e.kind, e.via));
    events.on('token.verified', (e) => verified.add(1, e.active ? 'true' : 'false'));
    events.on('token.refreshed', () => refreshed.add(1));
    events.on('token.revoked', (e) => revoked.add(e.count, e.kind));
    events.on('fetch.done', (e) => fetches.add(1, e.outcome));
    events.on('purge.run', (e: EventMap['purge.run']) => {
      purgeRuns.add(1, e.ok ? 'ok' : 'failed');
      purgeRows.add(e.rows);
    });
  }

  /** The Prometheus text exposition and its content type; the first call loads prom-client. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.registry ??= this.build().catch((error: unknown) => {
      this.registry = undefined;
      throw error;
    });
    const registry = await this.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }

  private async build(): Promise<Registry> {
    // prom-client is CommonJS: `require` gives its exports as they are, bundled or not (an esbuild
    // chunk's `import()` of it only has a `default`), and leaves it out of the bundle.
    const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry });
    for (const tally of this.tallies) {
      const counter: InstanceType<typeof prom.Counter> = new prom.Counter({
        name: tally.name,
        help: tally.help,
        labelNames: tally.labelNames,
        registers: [registry],
        collect: () => {
          counter.reset();
          for (const { labels, value } of tally.series.entries)
            counter.inc(labelObject(tally.labelNames, labels), value);
        },
      });
    }
    registry.registerMetric(histogramFrom(prom.Histogram, this.latency));
    return registry;
  }
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((name, i) => {
    labels[name] = values[i] ?? '';
  });
  return labels;
}

type HistogramValues = Awaited<ReturnType<Histogram['get']>>;

/**
 * A prom-client Histogram whose values come from the plain bucket counts. prom-client has no API to
 * set a histogram's buckets, so its read side is replaced: `get` and the `getForPromString` the
 * Registry prefers both answer from `plain`, in prom-client's own shape (`_bucket` with `le`,
 * cumulative; `_sum`; `_count`).
 */
function histogramFrom(Base: typeof Histogram, plain: PlainHistogram): Histogram {
  const histogram = new Base({
    name: plain.name,
    help: plain.help,
    labelNames: [...plain.labelNames],
    buckets: [...LATENCY_BUCKETS],
    // Not the global registry (its default): the caller registers it in this instance's own.
    registers: [],
  });
  // Taken before the read side is replaced, and never observed: just the name, help and type.
  const header = histogram.get();
  const read = async (): Promise<HistogramValues> => {
    const values: HistogramValues['values'] = [];
    for (const { labels, buckets, sum, count } of plain.series.entries) {
      const base = labelObject(plain.labelNames, labels);
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += buckets[i] ?? 0;
        values.push({ labels: { ...base, le }, value: cumulative, metricName: `${plain.name}_bucket` });
      });
      values.push({ labels: { ...base, le: '+Inf' }, value: count, metricName: `${plain.name}_bucket` });
      values.push({ labels: base, value: sum, metricName: `${plain.name}_sum` });
      values.push({ labels: base, value: count, metricName: `${plain.name}_count` });
    }
    return { ...(await header), values };
  };
  return Object.assign(histogram, { get: read, getForPromString: read });
}
