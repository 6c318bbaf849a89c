/**
 * Email (`rel="me" href="mailto:…"`, PROTOCOL §9, SECURITY F7): a one-time code sent over SMTP.
 * The code is 10 characters from an alphabet without look-alikes, lives 10 minutes, allows 5 tries
 * (each try counted before it is compared, so concurrent guesses cannot exceed the limit), is bound
 * to the attempt (hence the browser session and the site), compared in constant time and used once.
 * Sends are rate-limited per address and per client IP (SECURITY R5).
 */
import { randomInt } from 'node:crypto';
import * as z from 'zod/mini';
import type { Mailer } from '../../../mail/mailer.js';
import type { Store } from '../../../store/db.js';
import { findEmailCode, putEmailCode, takeEmailTry, useEmailCode } from '../../../store/signin.js';
import { constantTimeEqual, sha256 } from '../../../tokens/secrets.js';
import type { RateLimiter } from '../../rate-limit.js';
import type { Candidate, Method, MethodContext, StepOutcome } from '../../types.js';
import { EMAIL_ICON } from './icon.js';
import { emailViews } from './page.js';

/** No 0/O, 1/I/L, so a code read off a phone is typed right. */
export const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 10;
export const CODE_TTL = 10 * 60;
export const MAX_TRIES = 5;

/** A deliberately plain address check: one @, no spaces or angle brackets, a dotted domain. */
const ADDRESS = /^[^\s@<>()"',;:\\]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;

export function newEmailCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** What the person typed, as a code: case, spaces and dashes do not matter. */
export function normaliseEmailCode(input: string): string {
  return input.replace(/[\s-]/g, '').toUpperCase();
}

/** Salted with the attempt id, so equal codes in two attempts do not hash alike (SECURITY D7). */
function codeHash(attemptId: string, code: string): string {
  return sha256(`email-code:${attemptId}:${code}`);
}

/** The address of a `mailto:` link, lowercased domain; undefined if it is not a plain address. */
export function mailtoAddress(url: string): string | undefined {
  if (!/^mailto:/i.test(url)) return undefined;
  let address: string;
  try {
    address = decodeURIComponent(url.slice('mailto:'.length).split('?')[0] ?? '');
  } catch {
    return undefined;
  }
  if (!ADDRESS.test(address)) return undefined;
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

export interface EmailMethodOptions {
  store: Store;
  mailer: Mailer;
  limits: RateLimiter;
  clock: () => number;
  /** The service host, named in the message so the person knows who sends it. */
  serviceHost: string;
  /** The account page (PROTOCOL §13), named in the message: where sign-ins and apps are seen and revoked. */
  accountUrl?: string;
}

const EmailState = z.object({ address: z.string() });
type EmailState = z.infer<typeof EmailState>;
type Ctx = MethodContext<EmailState>;

export function emailMethod(options: EmailMethodOptions): Method<EmailState> {
  const { store, mailer, limits, clock, serviceHost, accountUrl } = options;

  const page = async (
    ctx: Ctx,
    view: 'email-send' | 'email-code',
    address: string,
    problem?: string,
  ): Promise<StepOutcome> => {
    const stepKind = view === 'email-send' ? 'email.send' : 'email.verify';
    return {
      kind: 'page',
      view,
      stepKind,
      step: await ctx.issueStep(stepKind),
      data: { address },
      ...(problem ? { problem } : {}),
    };
  };
  const sendPage = (ctx: Ctx, address: string, problem?: string) => page(ctx, 'email-send', address, problem);
  const codePage = (ctx: Ctx, address: string, problem?: string) => page(ctx, 'email-code', address, problem);

  const address = (ctx: Ctx): string => ctx.state?.address ?? '';

  return {
    id: 'email',
    name: 'email',
    icon: EMAIL_ICON,
    steps: ['email.send', 'email.verify'],
    state: EmailState,
    views: emailViews,

    recognise(link): Candidate | undefined {
      if (!mailer.enabled || link.rel !== 'me') return undefined;
      const found = mailtoAddress(link.url);
      if (!found) return undefined;
      return {
        method: 'email',
        target: found,
        label: `Email a code to ${found}`,
        link: link.url,
        account: found,
        hint: 'Latchkey emails you a one-time code.',
      };
    },

    async start(ctx, candidate) {
      await ctx.saveState({ address: candidate.target });
      return sendPage(ctx, candidate.target);
    },

    async step(ctx, kind, input) {
      const to = address(ctx);
      const me = ctx.attempt.me ?? '';
      if (kind === 'email.send') {
        const allowed = await limits.check([
          { name: 'email-address', key: to.toLowerCase() },
          { name: 'email-ip', key: ctx.clientIp },
        ]);
        if (!allowed.ok) {
          return sendPage(
            ctx,
            to,
            `Too many codes were sent recently. Wait ${allowed.retryAfterMinutes} minutes, then send a new one.`,
          );
        }
        const code = newEmailCode();
        const at = clock();
        await putEmailCode(store.db, {
          attempt_id: ctx.attempt.id,
          session_hash: ctx.attempt.sessionHash,
          me,
          address: to,
          code_hash: codeHash(ctx.attempt.id, code),
          tries: 0,
          created_at: at,
          expires_at: at + CODE_TTL,
          used_at: null,
        });
        try {
          await mailer.send({
            to,
            subject: `Your sign-in code for ${new URL(me).host}: ${code}`,
            text:
              `Someone (hopefully you) is signing in as ${me} at ${serviceHost}.\n\n` +
              `Your code is: ${code}\n\n` +
              `It works once, for 10 minutes, in the browser where you asked for it.\n` +
              `If this was not you, ignore this message.\n` +
              (accountUrl
                ? `\nSee your sign-ins and the apps with access to your site at ${accountUrl}\n`
                : ''),
          });
        } catch {
          return {
            kind: 'failed',
            title: 'The email could not be sent',
            message: `Latchkey could not send a code to ${to}: the mail server did not accept it.`,
            next: 'Try again in a few minutes, or sign in another way.',
          };
        }
        return codePage(ctx, to);
      }

      // email.verify
      const typed = normaliseEmailCode(input.get('code') ?? '');
      const row = await takeEmailTry(store.db, ctx.attempt.id, MAX_TRIES, clock());
      if (!row || row.session_hash !== ctx.attempt.sessionHash) {
        const current = await findEmailCode(store.db, ctx.attempt.id);
        if (!current) return sendPage(ctx, to, 'Send yourself a code first.');
        if (current.used_at !== null) {
          return { kind: 'failed', title: 'Code already used', message: 'That code has already been used.' };
        }
        if (current.expires_at <= clock()) return sendPage(ctx, to, 'That code has expired. Send a new one.');
        return {
          kind: 'failed',
          title: 'Too many wrong codes',
          message: `The code sent to ${to} was entered wrongly ${MAX_TRIES} times, so it no longer works.`,
          next: 'Go back to the website you were signing in to and start again.',
        };
      }
      if (!constantTimeEqual(codeHash(ctx.attempt.id, typed), row.code_hash)) {
        const left = MAX_TRIES - row.tries;
        if (left <= 0) {
          return {
            kind: 'failed',
            title: 'Too many wrong codes',
            message: `The code sent to ${to} was entered wrongly ${MAX_TRIES} times, so it no longer works.`,
            next: 'Go back to the website you were signing in to and start again.',
          };
        }
        return codePage(
          ctx,
          to,
          `That code is not right. Check the latest email from Latchkey; ${left} ${left === 1 ? 'try' : 'tries'} left.`,
        );
      }
      if (!(await useEmailCode(store.db, ctx.attempt.id, clock()))) {
        return { kind: 'failed', title: 'Code already used', message: 'That code has already been used.' };
      }
      return {
        kind: 'proven',
        proof: {
          me,
          method: 'email',
          evidence: `${me} links to mailto:${to}, and the code sent to that address was entered.`,
          email: to,
        },
      };
    },
  };
}
