/**
 * The shapes of the sign-in core (PROTOCOL §9, DESIGN "The sign-in core"): an attempt, the
 * candidates discovery finds, the steps a method asks the browser to take, and the proof it ends with.
 */
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
  /** Method-owned JSON (PKCE verifier, challenge text, …). */
  methodState: Record<string, unknown> | undefined;
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
}

/** A page a method asks the browser to show, with the step token its form must post back. */
export interface StepPage {
  kind: 'page';
  view: string;
  step: string;
  data: Record<string, string>;
  /** A plain-words problem with the last input (wrong code, bad signature), shown above the form. */
  problem?: string;
}

/** What a method step leads to. */
export type StepOutcome =
  | StepPage
  | { kind: 'redirect'; url: string }
  | { kind: 'proven'; proof: Omit<Proof, 'profile'> }
  /** The attempt cannot go on; the page says why and what to do. */
  | { kind: 'failed'; title: string; message: string; next?: string };

/** What a method may use; handed in by the sign-in service. */
export interface MethodContext {
  attempt: Attempt;
  /** Issues a typed step token for this attempt's session. */
  issueStep(kind: string): Promise<string>;
  /** Saves method-owned state on the attempt. */
  saveState(state: Record<string, unknown>): Promise<void>;
  /** The client's IP, for per-IP limits. */
  clientIp: string;
}

/**
 * A sign-in method (DESIGN "Methods share one small interface"): recognise links on a site, start,
 * and take the browser's next input until it proves the identity or fails.
 */
export interface Method {
  id: string;
  /** Step kinds this method accepts; a token issued for another kind never reaches it (SECURITY F9). */
  steps: readonly string[];
  recognise(link: Link, site: SiteDiscovery): Candidate | undefined;
  /** Methods that come from the site as a whole (its own IndieAuth server) rather than one link. */
  recogniseSite?(site: SiteDiscovery): Candidate | undefined;
  start(ctx: MethodContext, candidate: Candidate): Promise<StepOutcome>;
  step(ctx: MethodContext, kind: string, input: ReadonlyMap<string, string>): Promise<StepOutcome>;
}
