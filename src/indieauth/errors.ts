/**
 * The OAuth error family. Services throw these; one handler in app.ts turns them into
 * RFC 6749 §5.2 JSON (or RFC 6750 §3 `WWW-Authenticate` for bearer-protected resources).
 */

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable';

export class OAuthError extends Error {
  /** Extra response headers, e.g. `WWW-Authenticate`. */
  readonly headers: Record<string, string> = {};

  constructor(
    readonly code: OAuthErrorCode,
    /** Plain words for the developer reading the response; never contains a secret. */
    readonly description: string,
    readonly status: number = 400,
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string, status = 400) {
    super('invalid_request', description, status);
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', description, 400);
  }
}

/** RFC 6749 §5.2: client authentication failed → 401. */
export class InvalidClient extends OAuthError {
  constructor(description: string) {
    super('invalid_client', description, 401);
    this.headers['WWW-Authenticate'] = 'Bearer';
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(grantType: string) {
    super('unsupported_grant_type', `grant_type "${grantType}" is not supported here.`, 400);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description, 400);
  }
}

/**
 * Too much at once from one address (SECURITY R4): 429 with `Retry-After` (RFC 6585 §4), and the
 * error code RFC 6749 §4.1.2.1 gives for a server that cannot take the request now.
 */
export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string, retryAfterSeconds: string) {
    super('temporarily_unavailable', description, 429);
    this.headers['Retry-After'] = retryAfterSeconds;
  }
}

/**
 * RFC 6750 §3.1: a missing token gets a bare challenge (no error code); a bad one gets
 * `error="invalid_token"`. Both are 401.
 */
export class InvalidToken extends OAuthError {
  constructor(description: string, missing = false) {
    super('invalid_token', description, 401);
    this.headers['WWW-Authenticate'] = missing
      ? 'Bearer'
      : `Bearer error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`;
  }
}
