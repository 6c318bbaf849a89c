/**
 * The shapes of the sign-in core (PROTOCOL §9, DESIGN "The sign-in core"): an attempt, the
 * candidates discovery finds, the steps a method asks the browser to take, and the proof it ends with.
 */
import type { JSX } from 'hono/jsx/jsx-runtime';
import type * as z from 'zod/mini';
import type { SiteDiscovery } from '../indieauth/discovery.js';
import type { Link } from '../net/links.js';
import type { Profile } from '../tokens/codes.js';

/** The sign-in states, in order; every transition names the states it may leave. */
export type AttemptState = 'requested' | 'discovered' | 'proving' | 'proven' | 'done' | 'denied';

/** The authorization request, as validated by `checkAuthorizationRequest` (PROTOCOL §7). */
export interface AttemptRequest {
  responseType: 'code' | 'id';
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  codeChallenge: string | null;
  scope: string[];
  forceLogin: boolean;
  /** The original query string, so error pages can offer "start again". */
  query: string;
}

/** What the consent page shows about the client (PROTOCOL §6, SECURITY E7, E8). */
export interface AttemptClient {
  name?: string;
  logoUri?: string;
  clientUri?: string;
  /** The redirect_uri's host differs from the client_id's: the consent page says so. */
  redirectHostDiffers: boolean;
}

/** One way the person could prove their site (PROTOCOL §9). */
export interface Candidate {
  method: string;
  /** What the method works with: an authorization endpoint, an email address, a key URL. */
  target: string;
  /** Plain words for the chooser, e.g. "Email a code to a…@example.com". */
  label: string;
  /** The link on the site that offered it. */
  link: string;
  /** The account the link names, for the chooser ("alice" on github.com). */
  account?: string;
  /** What happens next, in a few words ("You log in at github.com."). */
  hint?: string;
  /** Method-specific facts from discovery (e.g. token endpoint, issuer). */
  details?: Record<string, string>;
}

export interface Attempt {
  id: string;
  sessionHash: string;
  state: AttemptState;
  request: AttemptRequest;
  client: AttemptClient;
  me: string | undefined;
  candidates: Candidate[];
  /** The profile from the discovered site's h-card (IndieAuth §5.3.4). */
  siteProfile?: Profile;
  method: string | undefined;
  /** Method-owned JSON (sealed PKCE verifier, challenge text, …); each method parses it with its schema. */
  methodState: unknown;
  proof: Proof | undefined;
  expiresAt: number;
}

/** How the person proved who they are; shown on pages and recorded with the code. */
export interface Proof {
  me: string;
  method: string;
  /** Plain words: what linked to the site, where (DESIGN "A Proof carries … evidence"). */
  evidence: string;
  profile?: Profile;
  /** The address proven by the email method (for the `email` scope). */
  email?: string;
  /**
   * True when this proof was not made now but reused from "Continue as" (PROTOCOL §13): the code
   * records it, so the account page knows whether its sign-in was fresh (passkeys need a fresh one).
   */
  reused?: boolean;
}

/** A page a method asks the browser to show, with the step token its form must post back. */
export interface StepPage {
  kind: 'page';
  /** A view the method declares in `views`. */
  view: string;
  /** The step kind the page's form posts to (`/signin/step/<stepKind>`). */
  stepKind: string;
  step: string;
  data: Record<string, string>;
  /** A plain-words problem with the last input (wrong code, bad signature), shown above the form. */
  problem?: string;
  /** The page runs Latchkey's own same-origin script (passkeys only): CSP `script-src 'self'`. */
  script?: boolean;
}

/** What a method step leads to. */
export type StepOutcome =
  | StepPage
  | { kind: 'redirect'; url: string }
  | { kind: 'proven'; proof: Omit<Proof, 'profile'> }
  /** The attempt cannot go on; the page says why and what to do. */
  | { kind: 'failed'; title: string; message: string; next?: string };

/** Props of a method's page component (src/signin/methods/<id>/page.tsx). */
export interface MethodViewProps {
  client: import('./service.js').ClientView;
  me: string;
  page: StepPage;
  /** Where the page's form posts. */
  action: string;
}

export type MethodView = (props: MethodViewProps) => JSX.Element;

/** A method's section of `/setup`: exactly what to add on the site and at the provider. */
export interface MethodSetup {
  /** The anchor (`/setup#github`); error pages link to it. */
  id: string;
  title: string;
  Section: (props: { issuer: string; serviceHost: string }) => JSX.Element;
}

/** What a method may use; handed in by the sign-in service. */
export interface MethodContext<S> {
  attempt: Attempt;
  /** The method's state, as its schema read it; undefined before `saveState` or when unreadable. */
  state: S | undefined;
  /** Issues a typed step token for this attempt's session. */
  issueStep(kind: string): Promise<string>;
  /** Saves method-owned state on the attempt. */
  saveState(state: S): Promise<void>;
  /** The client's IP, for per-IP limits. */
  clientIp: string;
  /**
   * On a callback, the server segment of the address the browser came back to
   * (`/signin/<id>/callback/<server>`; undefined for `/signin/<id>/callback`): see
   * OAuthClient.callbackServer.
   */
  callbackServer?: string | undefined;
}

/**
 * A sign-in method (DESIGN "Methods"): only its differences. It recognises links on a site, starts,
 * and takes the browser's next input until it proves the identity or fails. Routing, step tokens,
 * state storage, the callback route and the back-link rule are shared.
 */
export interface Method<S = unknown> {
  id: string;
  /** The provider's name for people: "GitHub", "email". */
  name: string;
  /** Its icon: Latchkey's own inline SVG markup (no third-party assets, SECURITY E1). */
  icon?: string;
  /** Step kinds this method accepts; a token issued for another kind never reaches it (SECURITY F9). */
  steps: readonly string[];
  /** The shape of its stored state (DESIGN: typed method state, never a loose record). */
  state: z.ZodMiniType<S>;
  /** Its pages, by view name. */
  views?: Readonly<Record<string, MethodView>>;
  /** Form fields of its pages that hold pasted multi-line text (a signature block). */
  multilineFields?: readonly string[];
  /** False while the method has nothing to work with (GitLab with no instance set up); default true. */
  available?(): Promise<boolean>;
  /** Its section of `/setup` (the built-in email, PGP and IndieAuth sections live in setup.tsx). */
  setup?: MethodSetup;
  recognise(link: Link, site: SiteDiscovery): Candidate | undefined | Promise<Candidate | undefined>;
  /** Methods that come from the site as a whole (its own IndieAuth server) rather than one link. */
  recogniseSite?(site: SiteDiscovery): Candidate | undefined;
  /** A candidate offered before all others for the site as a whole (a passkey of this `me`, §13). */
  offerFirst?(site: SiteDiscovery): Promise<Candidate | undefined>;
  /**
   * A check the method can make before the person leaves (a provider's public profile links back,
   * PROTOCOL §9.1); `latchkey doctor` shows its outcome. Methods without one have nothing to check.
   */
  precheck?(
    candidate: Candidate,
    me: string,
  ): Promise<{ ok: true; evidence: string } | { ok: false; outcome: { title: string; message: string } }>;
  start(ctx: MethodContext<S>, candidate: Candidate): Promise<StepOutcome>;
  step(ctx: MethodContext<S>, kind: string, input: ReadonlyMap<string, string>): Promise<StepOutcome>;
}

/** A method whose state type is not known here (the registry holds several). */
// biome-ignore lint/suspicious/noExplicitAny: the registry's members each narrow their own state.
export type AnyMethod = Method<any>;
