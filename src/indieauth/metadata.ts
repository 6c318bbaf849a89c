/**
 * Authorization server metadata (RFC 8414 §2, IndieAuth §4.1.1, PROTOCOL §11): every endpoint this
 * server serves, with the issuer the authorization responses carry as `iss` (RFC 9207).
 */
import { KNOWN_SCOPES } from './scopes.js';

export interface ServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  introspection_endpoint: string;
  introspection_endpoint_auth_methods_supported: string[];
  revocation_endpoint: string;
  revocation_endpoint_auth_methods_supported: string[];
  scopes_supported: string[];
  response_types_supported: string[];
  grant_types_supported: string[];
  code_challenge_methods_supported: string[];
  authorization_response_iss_parameter_supported: boolean;
  userinfo_endpoint: string;
  client_id_metadata_document_supported: boolean;
  service_documentation: string;
}

export function serverMetadata(issuer: string, options: { refreshTokens: boolean }): ServerMetadata {
  const at = (path: string) => new URL(path, issuer).href;
  return {
    issuer,
    authorization_endpoint: at('authorize'),
    token_endpoint: at('token'),
    introspection_endpoint: at('introspect'),
    introspection_endpoint_auth_methods_supported: ['Bearer'],
    revocation_endpoint: at('revoke'),
    revocation_endpoint_auth_methods_supported: ['none'],
    scopes_supported: [...KNOWN_SCOPES],
    response_types_supported: ['code'],
    grant_types_supported: options.refreshTokens
      ? ['authorization_code', 'refresh_token']
      : ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    userinfo_endpoint: at('userinfo'),
    client_id_metadata_document_supported: true,
    service_documentation: at('docs'),
  };
}
