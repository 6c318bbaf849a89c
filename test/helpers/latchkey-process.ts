/**
 * A real Latchkey process for multi-instance tests: `node --import tsx src/cli.ts serve` from the
 * sources (no dependency on a built dist/), listening on a free loopback port, with its JSON log
 * lines kept so tests can wait for an event (`store.purged`) or check that nothing went wrong.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One pino log line. */
export interface LogLine {
  level: number;
  event?: string;
  [field: string]: unknown;
}

export interface LatchkeyProcess {
  name: string;
  pid: number;
  port: number;
  /** `http://127.0.0.1:PORT/`: the instance itself, not the proxy in front of it. */
  direct: string;
  /** Every JSON log line so far, in order. */
  logs: LogLine[];
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  /** Resolves with the first log line (from `from` on) that matches; rejects at the deadline or exit. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** SIGTERM (the server drains, SECURITY R2), then the exit code; SIGKILL only after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Variables config.ts reads: none leaks in from the test runner's environment. */
const CONFIG_VARIABLES =
  /^(LATCHKEY_|DATABASE_URL$|HOST$|PORT$|SMTP_URL$|MAIL_FROM$|METRICS_TOKEN$|LOG_LEVEL$|CODE_TTL$|TOKEN_TTL$|REFRESH_TOKEN|ALLOW_NO_PKCE$|FETCH_|GITHUB_|GITLAB_|CODEBERG_)/;

/**
 * Starts one instance and resolves once `/health` answers 200 on it. Spawning tsx on a busy machine
 * takes seconds, so the deadline is generous; nothing here depends on speed.
 */
export async function startLatchkeyProcess(options: {
  name: string;
  env: Record<string, string>;
  startTimeoutMs?: number;
}): Promise<LatchkeyProcess> {
  const { name, startTimeoutMs = 90_000 } = options;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !CONFIG_VARIABLES.test(key)) env[key] = value;
  }
  Object.assign(env, { HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info' }, options.env);

  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let text = '';
  let partial = '';
  let exitCode: number | null | undefined;
  const wakers = new Set<() => void>();
  const wake = () => {
    for (const fn of wakers) fn();
  };
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    text += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // Not a log line (a stray print): kept in `text` only.
      }
    }
    wake();
  });
  child.stderr?.on('data', (chunk: string) => {
    text += chunk;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exitCode = code;
      wake();
      resolve(code);
    });
  });

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 60_000, from = 0) =>
    new Promise<LogLine>((resolve, reject) => {
      let done = false;
      const check = () => {
        if (done) return;
        const found = logs.slice(from).find(match);
        if (found) {
          finish();
          resolve(found);
        } else if (exitCode !== undefined) {
          finish();
          reject(new Error(`latchkey ${name} exited (${exitCode}) before the awaited log line:\n${text}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`latchkey ${name}: no such log line within ${timeoutMs} ms:\n${text}`));
      }, timeoutMs);
      const finish = () => {
        done = true;
        clearTimeout(timer);
        wakers.delete(check);
      };
      wakers.add(check);
      check();
    });

  const stop = async (timeoutMs = 30_000): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(killer);
    }
  };

  try {
    const started = await waitForLog((line) => line.event === 'server.started', startTimeoutMs);
    const listen = String(started.listen ?? '');
    const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
    if (!(port > 0)) throw new Error(`latchkey ${name}: no port in ${listen}`);
    const direct = `http://127.0.0.1:${port}/`;
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const status = await fetch(new URL('health', direct)).then(
        (res) => res.status,
        () => 0,
      );
      if (status === 200) break;
      if (exitCode !== undefined || Date.now() > deadline)
        throw new Error(`latchkey ${name}: /health never answered 200 (last ${status}):\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      name,
      pid: child.pid ?? 0,
      port,
      direct,
      logs,
      output: () => text,
      waitForLog,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
