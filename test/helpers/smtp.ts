/**
 * A real SMTP server on loopback (smtp-server) that keeps every message it receives, so tests read
 * the email code the way a person would: from the delivered mail.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  to: string[];
  raw: string;
}

export interface SmtpFixture {
  url: string;
  messages: ReceivedMail[];
  /** Resolves with the next (or an already received, unread) message for `to`. */
  nextMessage(to: string, timeoutMs?: number): Promise<ReceivedMail>;
  /** The sign-in code in a message. */
  codeIn(mail: ReceivedMail): string;
  close(): Promise<void>;
}

export async function startSmtp(): Promise<SmtpFixture> {
  const messages: ReceivedMail[] = [];
  const read = new Set<ReceivedMail>();
  const waiters: Array<() => void> = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        for (const wake of waiters.splice(0)) wake();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;

  const unread = (to: string) => messages.find((m) => !read.has(m) && m.to.includes(to));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async nextMessage(to, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = unread(to);
        if (found) {
          read.add(found);
          return found;
        }
        if (Date.now() > deadline) throw new Error(`no mail for ${to}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    codeIn(mail) {
      const match = /Your code is: ([A-Z0-9]+)/.exec(mail.raw);
      if (!match?.[1]) throw new Error('no code in the message');
      return match[1];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
