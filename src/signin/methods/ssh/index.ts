/**
 * SSH (`rel="ssh-key"`, PROTOCOL §9 and §9.1, SECURITY F8): the site links to a list of SSH public
 * keys (a `.pub` file, an `authorized_keys` file, `https://github.com/<login>.keys` or any other URL
 * serving that format); the person signs a challenge with `ssh-keygen -Y sign -n <service host>` and
 * pastes the signature. It must verify for one of the listed keys, in our namespace, over the
 * issued challenge. A challenge lives 10 minutes, allows 5 tries and is used once: the attempt moves
 * on when it verifies, every page carries a fresh single-use step token (SECURITY F9), and a new
 * attempt gets a new nonce. Needs no configuration.
 */
import * as z from 'zod/mini';
import { FetchError, type Fetcher, LIMITS } from '../../../net/types.js';
import { randomToken } from '../../../tokens/secrets.js';
import { MAX_TRIES, takeChallengeTry, tooManyTries } from '../../challenge.js';
import type { AnyMethod, Candidate, Method, MethodContext, StepOutcome } from '../../types.js';
import type { ProviderDeps } from '../index.js';
import { keyFileFor, SUPPORTED_TYPES, signCommand, signFileCommand, sshChallenge } from './command.js';
import { SSH_ICON } from './icon.js';
import { sshViews } from './page.js';
import { sshSetup } from './setup.js';
import { parseKeyList, type SshPublicKey, type SshVerifyResult, verifySshSignature } from './sshsig.js';

/** Challenges live 10 minutes and allow 5 tries (signin/challenge.ts, shared with PGP). */
export { CHALLENGE_TTL, MAX_TRIES } from '../../challenge.js';

/** An armored SSHSIG of a 16384-bit RSA key is under 3 KiB; anything far larger is not one. */
const MAX_SIGNATURE_CHARS = 16 * 1024;
/** Keys listed on the page; a long list is summarised ("and 40 more"). */
const SHOWN_KEYS = 10;
const SHOWN_COMMENT = 80;

/**
 * Verifies the signature over exactly the challenge, or the challenge followed by one `\n`.
 *
 * Why the one newline (SECURITY F8 says the signed data must equal the challenge): the page's own
 * command (`printf '%s'`) signs exactly the challenge, but people also run `echo … |` or save the
 * challenge in a file first, and `echo` and nearly every editor add one final newline. That line
 * end adds nothing an attacker chooses: the nonce, site and service are all still inside what was
 * signed, so the signature still proves this key holder answered this challenge, once. Anything else
 * — other text, two newlines, CRLF, leading or trailing spaces — is refused. (The PGP check is
 * looser still: clear-signing drops trailing whitespace and line ends, RFC 4880 §7.1.)
 */
export function verifyChallengeSignature(
  armored: string,
  challenge: string,
  namespace: string,
  keys: readonly SshPublicKey[],
): SshVerifyResult {
  const exact = verifySshSignature(armored, challenge, namespace, keys);
  if (exact.ok) return exact;
  const withNewline = verifySshSignature(armored, `${challenge}\n`, namespace, keys);
  return withNewline.ok ? withNewline : exact;
}

const ShownKey = z.object({ fingerprint: z.string(), type: z.string(), comment: z.string() });

const SshState = z.object({
  keyUrl: z.string(),
  challenge: z.string(),
  issuedAt: z.int(),
  tries: z.int(),
  /** What the page lists (the first few keys); verification always uses a fresh fetch. */
  keys: z.array(ShownKey).check(z.maxLength(SHOWN_KEYS)),
  keyCount: z.int(),
});
type SshState = z.infer<typeof SshState>;

export interface SshMethodOptions {
  fetcher: Fetcher;
  clock: () => number;
  /** ISSUER; its host is the signature namespace and is named in the challenge. */
  issuer: string;
}

type KeyFetch = { ok: true; keys: SshPublicKey[] } | { ok: false; reason: string };

/** Reads the key list through the safe fetcher (PROTOCOL §4: 1 MiB cap, SECURITY G1–G6). */
async function fetchKeys(fetcher: Fetcher, url: string): Promise<KeyFetch> {
  let body: string;
  try {
    const response = await fetcher(url, { accept: 'text/plain, */*;q=0.1', maxBytes: LIMITS.key });
    if (response.status !== 200) {
      return {
        ok: false,
        reason: `Latchkey could not read the SSH keys at ${url}: it answered HTTP ${response.status}.`,
      };
    }
    body = response.body;
  } catch (error) {
    const why = error instanceof FetchError ? error.message : 'the request failed';
    return { ok: false, reason: `Latchkey could not read the SSH keys at ${url}: ${why}.` };
  }
  const keys = parseKeyList(body);
  if (keys.length === 0) {
    return {
      ok: false,
      reason: `${url} lists no SSH public key Latchkey can use. Latchkey can use ${SUPPORTED_TYPES} keys, one per line as in a .pub or authorized_keys file.`,
    };
  }
  return { ok: true, keys };
}

function shownKeys(keys: readonly SshPublicKey[]): SshState['keys'] {
  return keys.slice(0, SHOWN_KEYS).map((key) => ({
    fingerprint: key.fingerprint,
    type: key.type,
    comment: key.comment.length > SHOWN_COMMENT ? `${key.comment.slice(0, SHOWN_COMMENT)}…` : key.comment,
  }));
}

export function sshMethod(options: SshMethodOptions): Method<SshState> {
  const { fetcher, clock } = options;
  const serviceHost = new URL(options.issuer).host;
  const namespace = serviceHost;

  const page = async (
    ctx: MethodContext<SshState>,
    state: SshState,
    problem?: string,
  ): Promise<StepOutcome> => {
    const keyFile = keyFileFor(state.keys[0]?.type);
    return {
      kind: 'page',
      view: 'ssh',
      stepKind: 'ssh.verify',
      step: await ctx.issueStep('ssh.verify'),
      data: {
        keyUrl: state.keyUrl,
        challenge: state.challenge,
        namespace,
        keyFile,
        command: signCommand(state.challenge, keyFile, namespace),
        fileCommand: signFileCommand(keyFile, namespace),
        // Tab-separated, one key a line: comments come from a split on whitespace, so hold no tabs.
        keys: state.keys.map((key) => `${key.fingerprint}\t${key.type}\t${key.comment}`).join('\n'),
        moreKeys: String(Math.max(0, state.keyCount - state.keys.length)),
      },
      ...(problem ? { problem } : {}),
    };
  };

  /** A refused try: the page again with the reason, or the end once the tries are used up (F8). */
  const refuse = async (
    ctx: MethodContext<SshState>,
    state: SshState,
    reason: string,
  ): Promise<StepOutcome> => {
    await ctx.saveState(state);
    return state.tries >= MAX_TRIES ? tooManyTries(reason) : page(ctx, state, reason);
  };

  return {
    id: 'ssh',
    name: 'SSH',
    icon: SSH_ICON,
    multilineFields: ['signed'],
    steps: ['ssh.verify'],
    state: SshState,
    views: sshViews,
    setup: sshSetup,

    /**
     * Any http(s) URL with `rel="ssh-key"` (PROTOCOL §5, §9): the relation is the site's statement,
     * and the body is parsed as a key list whatever the file is called, so no host is special —
     * GitHub's, GitLab's and Forgejo's `/<login>.keys` and a file on the site itself are alike.
     */
    recognise(link): Candidate | undefined {
      if (link.rel !== 'ssh-key' || !/^https?:\/\//i.test(link.url)) return undefined;
      return {
        method: 'ssh',
        target: link.url,
        label: 'Sign a challenge with your SSH key',
        link: link.url,
        hint: `You sign a short text with ssh-keygen and a key listed at ${link.url}.`,
      };
    },

    async start(ctx, candidate) {
      const fetched = await fetchKeys(fetcher, candidate.target);
      if (!fetched.ok) {
        return {
          kind: 'failed',
          title: 'Your SSH keys could not be used',
          message: fetched.reason,
          next: 'Fix the key list your site links to with rel="ssh-key" (the setup page, /setup#ssh, shows how), then start again.',
        };
      }
      const state: SshState = {
        keyUrl: candidate.target,
        challenge: sshChallenge(serviceHost, ctx.attempt.me ?? '', randomToken(18)),
        issuedAt: clock(),
        tries: 0,
        keys: shownKeys(fetched.keys),
        keyCount: fetched.keys.length,
      };
      await ctx.saveState(state);
      return page(ctx, state);
    },

    async step(ctx, _kind, input) {
      const me = ctx.attempt.me ?? '';
      const taken = takeChallengeTry(ctx.state, clock());
      if (!taken.ok) return taken.outcome;
      // Every post counts, whatever is wrong with it: 5 posts are at most 5 key fetches. The step
      // token was single-use, so no other post of this attempt runs meanwhile.
      const counted: SshState = taken.counted;
      const state = counted;

      // `signed`: the form field the shared form parser lets keep line breaks (http/signin.ts).
      const signature = input.get('signed') ?? '';
      if (!signature.trim()) return refuse(ctx, counted, 'Paste the SSH signature into the box.');
      if (signature.length > MAX_SIGNATURE_CHARS)
        return refuse(ctx, counted, 'That is far too long to be an SSH signature.');

      // Fetched again, not taken from the start: a key the site owner removed in the meantime (a
      // lost laptop) must stop working at once, and no key material has to be kept in the attempt.
      const fetched = await fetchKeys(fetcher, state.keyUrl);
      if (!fetched.ok) return refuse(ctx, counted, fetched.reason);
      const next: SshState = { ...counted, keys: shownKeys(fetched.keys), keyCount: fetched.keys.length };

      const check = verifyChallengeSignature(signature, state.challenge, namespace, fetched.keys);
      if (!check.ok) return refuse(ctx, next, check.reason);
      return {
        kind: 'proven',
        proof: {
          me,
          method: 'ssh',
          evidence: `${me} links to the SSH keys at ${state.keyUrl}; the key ${check.key.fingerprint} (${check.key.type}) signed the challenge.`,
        },
      };
    },
  };
}

/** The registry's factory (methods/index.ts PROVIDERS): SSH needs no configuration, so always one. */
export function sshMethods(deps: ProviderDeps): AnyMethod[] {
  return [sshMethod({ fetcher: deps.fetcher, clock: deps.clock, issuer: deps.config.publicUrl })];
}
