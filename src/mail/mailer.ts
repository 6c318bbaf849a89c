/**
 * Outgoing mail over SMTP (`SMTP_URL`, `MAIL_FROM`) with nodemailer. The mailer only sends; what to
 * send, to whom and how often is the email method's decision (PROTOCOL §9, SECURITY F7, R5).
 */
import type { Transporter } from 'nodemailer';

export interface Message {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** True when SMTP is configured; the email method is only offered then. */
  readonly enabled: boolean;
  send(message: Message): Promise<void>;
  close(): void;
}

/**
 * `smtp://user:pass@host:587` (STARTTLS when offered), `smtps://…:465` (TLS). Without `SMTP_URL` the
 * mailer is disabled and sign-in by email is not offered.
 */
export function createMailer(smtpUrl: string | undefined, from: string | undefined, issuer: string): Mailer {
  if (!smtpUrl) {
    return {
      enabled: false,
      async send() {
        throw new Error('SMTP_URL is not set, so Latchkey cannot send email.');
      },
      close() {},
    };
  }
  const sender = from ?? `Latchkey <latchkey@${new URL(issuer).hostname}>`;
  // nodemailer is loaded with the first message, not at start: most processes (the CLI, a server
  // answering tokens) never send one, and importing it costs ~60 ms and ~15 MB (DESIGN "lean start").
  let transport: Promise<Transporter> | undefined;
  const connect = () => {
    transport ??= import('nodemailer').then((nodemailer) => nodemailer.default.createTransport(smtpUrl));
    return transport;
  };
  return {
    enabled: true,
    async send(message) {
      await (await connect()).sendMail({
        from: sender,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
    close() {
      void transport?.then((t) => t.close());
    },
  };
}
