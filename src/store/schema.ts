/**
 * Table types for Kysely. Portable SQL only (DESIGN "Data"): text, integer epoch seconds, no arrays;
 * scopes are space-separated strings. Secrets are never stored, only their SHA-256 hashes (SECURITY D7).
 */
export interface SettingsTable {
  key: string;
  value: string;
}

/** Authorization endpoints whose codes the token endpoint accepts (Mintoken's `settings` rows). */
export interface TrustedEndpointsTable {
  url: string;
  created_at: number;
}

/** Resource servers allowed to call `/introspect`; the secret is shown once and stored hashed. */
export interface ResourceServersTable {
  id: string;
  name: string;
  secret_hash: string;
  created_at: number;
  last_used_at: number | null;
}

/** One authorization a person gave one client; tokens hang off it so a grant revokes as a whole. */
export interface GrantsTable {
  id: string;
  me: string;
  client_id: string;
  scope: string;
  /** How the grant came about: 'mintoken' (code verified with a trusted endpoint) or 'code'. */
  source: string;
  /** The authorization endpoint that vouched for `me` (Mintoken mode), else null. */
  authorization_endpoint: string | null;
  created_at: number;
  revoked_at: number | null;
  /** JSON Profile proven at sign-in (migration 004); null for Mintoken grants. */
  profile: string | null;
  /** The client's name and https logo as the consent page showed them (migration 006; remote text, E7). */
  client_name: string | null;
  client_logo: string | null;
  /** The sign-in method that proved `me` when the grant was made (migration 008); null for Mintoken. */
  auth_method: string | null;
}

export interface AccessTokensTable {
  id: string;
  token_hash: string;
  grant_id: string;
  me: string;
  client_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/**
 * Codes from other authorization endpoints that already produced a token. Stateless endpoints such as
 * selfauth verify a code as often as it is presented until it expires; remembering the hash makes the
 * exchange single-use here too (RFC 6749 §4.1.2: a code MUST NOT be used more than once).
 */
export interface RedeemedCodesTable {
  code_hash: string;
  grant_id: string;
  expires_at: number;
}

/** Codes this server issued (PROTOCOL §7): hashed, single-use, bound to client, redirect and PKCE. */
export interface AuthCodesTable {
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string | null;
  me: string;
  /** Space-separated; '' when the code is for sign-in only. */
  scope: string;
  /** JSON of the profile (name, url, photo, email) shown for `profile`/`email` scopes. */
  profile: string | null;
  /** How the person proved who they are ('email', 'pgp', 'indieauth', …). */
  auth_method: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  /** Where it was redeemed: 'authorize' or 'token' (SECURITY C7). */
  used_by: string | null;
  /** The grant the redemption created, revoked if the code is replayed (SECURITY C1). */
  grant_id: string | null;
  /** The client's name and https logo at sign-in, copied to the grant (migration 006). */
  client_name: string | null;
  client_logo: string | null;
  /** 1 when the proof was made for this sign-in, 0 for "Continue as" (PROTOCOL §13); null before 006. */
  proof_fresh: number | null;
}

export interface RefreshTokensTable {
  id: string;
  token_hash: string;
  grant_id: string;
  me: string;
  client_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  /** Set when it was exchanged; a second use is reuse and revokes the grant (SECURITY D5). */
  rotated_at: number | null;
  revoked_at: number | null;
}

/**
 * Good client_id documents (PROTOCOL §6), keyed by the client_id as the client sent it. `info` is the
 * JSON of a `ClientInfo`; a row past `expires_at` is stale and fetched again. Failures are never stored.
 */
export interface ClientCacheTable {
  client_id: string;
  info: string;
  fetched_at: number;
  expires_at: number;
}

/**
 * The operator's decisions about clients (`latchkey clients allow|deny`). Any 'allow' row switches the
 * deployment to allow-list mode; 'deny' always refuses.
 */
export interface ClientPolicyTable {
  /** Canonical client_id (as `validateClientId` returns it). */
  client_id: string;
  decision: 'allow' | 'deny';
  created_at: number;
}

/**
 * A sign-in attempt (PROTOCOL §9): one authorization request on its way from "requested" to "done".
 * `request`, `client`, `candidates`, `method_state` and `proof` are JSON owned by src/signin.
 */
export interface SigninAttemptsTable {
  id: string;
  /** SHA-256 of the browser session id the attempt belongs to (SECURITY F9). */
  session_hash: string;
  state: string;
  request: string;
  client: string;
  me: string | null;
  candidates: string | null;
  method: string | null;
  method_state: string | null;
  proof: string | null;
  created_at: number;
  updated_at: number;
  expires_at: number;
}

/** Typed, session-bound, single-use step tokens (SECURITY E4, E5, F9); only hashes are stored. */
export interface SigninStepsTable {
  token_hash: string;
  kind: string;
  attempt_id: string;
  session_hash: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Identities a browser session has proven, for "Continue as …" (PROTOCOL §9). */
export interface SessionIdentitiesTable {
  session_hash: string;
  me: string;
  method: string;
  /** JSON of the Profile found at sign-in (name, url, photo, email). */
  profile: string | null;
  authenticated_at: number;
  expires_at: number;
}

/** One email code per attempt (PROTOCOL §9, SECURITY F7): hashed, counted tries, single use. */
export interface EmailCodesTable {
  attempt_id: string;
  session_hash: string;
  me: string;
  address: string;
  code_hash: string;
  tries: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Fixed-window counters for rate limits (SECURITY R5), shared by every instance. */
export interface RateLimitsTable {
  key: string;
  window_start: number;
  hits: number;
  expires_at: number;
}

/** An instance an operator added with `latchkey providers add` (PROTOCOL §9.1); the secret is sealed. */
export interface ProviderInstancesTable {
  provider: string;
  base_url: string;
  client_id: string;
  client_secret_sealed: string;
  created_at: number;
}

/** Latchkey's registration at one Mastodon-API host (`POST /api/v1/apps`); the secret is sealed. */
export interface MastodonAppsTable {
  host: string;
  redirect_uri: string;
  scopes: string;
  client_id: string;
  client_secret_sealed: string;
  created_at: number;
}

/** A browser signed in to the account page (PROTOCOL §13): the cookie's random id, hashed (D7). */
export interface AccountSessionsTable {
  id_hash: string;
  me: string;
  method: string;
  proven_at: number;
  /** 1 when the proof was made for this sign-in, 0 when it came from "Continue as". */
  fresh: number;
  created_at: number;
  expires_at: number;
}

/** One row per successful sign-in (PROTOCOL §13 "recent sign-ins"), kept 90 days (SECURITY R6). */
export interface SigninLogTable {
  id: string;
  me: string;
  client_id: string;
  /** Remote text (SECURITY E7). */
  client_name: string | null;
  method: string;
  /** Plain words: what linked back to the site, where. */
  evidence: string;
  created_at: number;
}

export interface Database {
  settings: SettingsTable;
  trusted_endpoints: TrustedEndpointsTable;
  resource_servers: ResourceServersTable;
  grants: GrantsTable;
  access_tokens: AccessTokensTable;
  redeemed_codes: RedeemedCodesTable;
  auth_codes: AuthCodesTable;
  refresh_tokens: RefreshTokensTable;
  client_cache: ClientCacheTable;
  client_policy: ClientPolicyTable;
  signin_attempts: SigninAttemptsTable;
  signin_steps: SigninStepsTable;
  session_identities: SessionIdentitiesTable;
  email_codes: EmailCodesTable;
  rate_limits: RateLimitsTable;
  provider_instances: ProviderInstancesTable;
  mastodon_apps: MastodonAppsTable;
  account_sessions: AccountSessionsTable;
  signin_log: SigninLogTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
}

/** A site owner's passkey (PROTOCOL §13, SECURITY E9); `id` is the credential id, base64url. */
export interface PasskeysTable {
  id: string;
  me: string;
  /** COSE public key, base64url (public: fine in clear). */
  public_key: string;
  counter: number;
  /** JSON array of the authenticator's transports. */
  transports: string;
  name: string;
  /** JSON `{ method, link }`: what proved the site at registration; link null = it named this server. */
  registered_via: string;
  created_at: number;
  last_used_at: number | null;
}

/** One WebAuthn challenge, hashed, single-use, bound to a session or attempt, 5 minutes (E9). */
export interface WebauthnChallengesTable {
  challenge_hash: string;
  kind: 'register' | 'authenticate';
  /** The account session's id hash (register) or the sign-in attempt's id (authenticate). */
  binding: string;
  me: string;
  expires_at: number;
  used_at: number | null;
}
