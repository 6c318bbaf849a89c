/**
 * What the sign-in flow shows next (its view models): the service decides a Screen, the routes
 * render it. Nothing here holds rules.
 */
import type { Link } from '../net/links.js';
import type { Transport } from './consent.js';
import type { Session } from './session.js';
import type { AttemptClient, Candidate, MethodView, Proof, StepPage } from './types.js';

/** The browser's session for one request; the service replaces it when the id rotates. */
export interface SessionHandle {
  current: Session;
  /** True when the cookie must be (re)sent. */
  changed: boolean;
}

/** What the client looks like on pages (remote text: escaped by the views, SECURITY E7). */
export interface ClientView extends AttemptClient {
  clientId: string;
  redirectUri: string;
}

export interface IdentityView {
  me: string;
  method: string;
}

/** One way to sign in on the chooser: the candidate with its method's name and icon. */
export interface ChooserOption {
  candidate: Candidate;
  /** Its position in the attempt's candidates (what the form posts back). */
  index: number;
  methodName: string;
  icon: string | undefined;
}

/** What the browser is shown next. */
export type Screen =
  | {
      kind: 'signin';
      step: string;
      client: ClientView;
      identities: IdentityView[];
      continueStep?: string;
      problem?: string;
      value?: string;
      /** The site has no https at all: its plain-http address, offered as an explicit choice. */
      plainHttp?: string;
      /** This authorization request again (where "Sign out" returns to). */
      startAgain: string;
    }
  | { kind: 'chooser'; step: string; client: ClientView; me: string; options: ChooserOption[] }
  | {
      kind: 'continue';
      step: string;
      client: ClientView;
      me: string;
      /** The method's name for people, e.g. "GitHub". */
      methodName: string;
      otherStep: string;
    }
  | { kind: 'method'; client: ClientView; me: string; page: StepPage; view: MethodView }
  | {
      kind: 'consent';
      methodName: string;
      step: string;
      client: ClientView;
      me: string;
      proof: Proof;
      scope: string[];
      noPkce: boolean;
      transport: { clientId: Transport; redirectUri: Transport };
    }
  | { kind: 'no-methods'; me: string; links: Link[]; notes: string[]; startAgain: string }
  | {
      kind: 'problem';
      title: string;
      message: string;
      next?: string;
      startAgain?: string;
      /** 400 developer or stale-page errors, 403 policy, 429 limits, 502 the person's site. */
      status: 400 | 403 | 429 | 502;
      /** Addressed to the developer of the client (PROTOCOL §12). */
      developer?: boolean;
    }
  | { kind: 'redirect'; url: string };

export type ProblemScreen = Extract<Screen, { kind: 'problem' }>;
