/** The fixed PKCE challenge of the bench's sign-ins (RFC 7636 Appendix B's example). */
const CODE_CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/**
 * The `/authorize` query a bench sign-in starts with (PROTOCOL §4): client `clientId`, redirected to
 * its `callback`, for the site `me`. Its own module, so the site process (bench/hostile-site.ts)
 * can use it without loading the server.
 */
export function authorizeQuery(clientId: string, state: string, me: string): URLSearchParams {
  return new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: `${clientId}callback`,
    state,
    code_challenge: CODE_CHALLENGE,
    code_challenge_method: 'S256',
    me,
  });
}
