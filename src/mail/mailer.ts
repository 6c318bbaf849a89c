/**
 * Outgoing mail over SMTP (`SMTP_URL`, `MAIL_FROM`) with nodemailer. The mailer only sends; what to
 * send, to whom and how often is the email method's decision (PROTOCOL §9, SECURITY F7, R5).
 */
import nodemailer from 'nodemailer';

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
  const transport = nodemailer.createTransport(smtpUrl);
  const sender = from ?? `Latchkey <latchkey@${new URL(issuer).hostname}>`;
  return {
    enabled: true,
    async send(message) {
      await transport.sendMail({
        from: sender,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    },
    close() {
      transport.close();
    },
  };
}
