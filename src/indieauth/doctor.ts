/**
 * The report of `latchkey doctor URL`: what discovery (PROTOCOL §5) found on a site and why, in the
 * order a person debugging their homepage needs it. Pure: formats a SiteDiscovery, fetches nothing.
 */
import type { Link } from '../net/links.js';
import type { EndpointSource, SiteDiscovery } from './discovery.js';
import { displayUrl } from './urls.js';

/**
 * Remote text (link texts, titles) goes to a terminal: control characters such as ESC would let a
 * page rewrite the operator's screen, so they are shown as `?` (SECURITY E7, applied to the CLI).
 */
function clean(text: string): string {
  return text.replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '?');
}

function url(value: string): string {
  const shown = displayUrl(value);
  return shown === value ? clean(value) : `${clean(value)} (${clean(shown)})`;
}

const SOURCE_WORDS: Record<EndpointSource, string> = {
  metadata: 'from the metadata document',
  header: 'from an HTTP Link header',
  html: 'from the HTML',
};

function endpointLine(label: string, value: string | undefined, source: EndpointSource | undefined): string {
  const name = label.padEnd(24);
  if (!value) return `  ${name}none`;
  return `  ${name}${url(value)}${source ? `  (${SOURCE_WORDS[source]})` : ''}`;
}

function linkLines(rel: string, links: Link[]): string[] {
  const heading = `  rel="${rel}"`;
  if (links.length === 0) return [`${heading}: none`];
  return [
    `${heading} (${links.length}):`,
    ...links.map((link) => {
      const text = link.text ? `  "${clean(link.text)}"` : '';
      const where = link.source === 'header' ? 'Link header' : 'HTML';
      return `    ${url(link.url)}${text}  [${where}]`;
    }),
  ];
}

/** One way sign-in would offer (a Candidate of src/signin, reduced to what the report shows). */
export interface OfferedMethod {
  method: string;
  label: string;
  link: string;
  /** The outcome of the method's check before the person leaves (a provider's public back-link). */
  check?: { ok: boolean; text: string };
}

/**
 * Multi-line, human-readable report of a discovery: what sign-in would offer (when `offered` is
 * given), then the details, ending with its plain-words notes.
 */
export function formatDiscovery(d: SiteDiscovery, offered?: readonly OfferedMethod[]): string {
  const lines: string[] = [];
  lines.push(`Asked for               ${url(d.requested)}`);
  lines.push(`Identity (me)           ${url(d.me)}`);
  const type = d.contentType ? `, ${clean(d.contentType)}` : '';
  lines.push(`Page read               ${url(d.finalUrl)} (HTTP ${d.status}${type})`);
  if (d.links.baseUrl !== d.finalUrl)
    lines.push(`Links resolved against  ${url(d.links.baseUrl)} (<base href>)`);

  lines.push('', 'Redirects');
  if (d.redirects.length === 0) {
    lines.push('  none');
  } else {
    d.redirects.forEach((hop, i) => {
      const kind = hop.permanent ? 'permanent' : 'temporary';
      const effect = hop.movedIdentity ? 'identity follows' : 'identity stays';
      lines.push(`  ${i + 1}. ${hop.status} ${kind}: ${url(hop.from)} -> ${url(hop.to)}  (${effect})`);
    });
  }

  lines.push('', 'Endpoints');
  if (d.metadataUrl) {
    const state = d.metadata
      ? `issuer ${url(d.issuer ?? d.metadata.issuer)}`
      : `not used: ${clean(d.metadataProblem ?? 'unknown problem')}`;
    lines.push(`  ${'metadata'.padEnd(24)}${url(d.metadataUrl)}  (${state})`);
  } else {
    lines.push(`  ${'metadata'.padEnd(24)}none`);
  }
  lines.push(
    endpointLine('authorization endpoint', d.authorizationEndpoint, d.endpointSources.authorizationEndpoint),
  );
  lines.push(endpointLine('token endpoint', d.tokenEndpoint, d.endpointSources.tokenEndpoint));

  lines.push('', 'Sign-in links');
  lines.push(...linkLines('me', d.relMe));
  lines.push(...linkLines('authn', d.authn));
  lines.push(...linkLines('pgpkey', d.pgpkey));
  lines.push(...linkLines('ssh-key', d.sshKey));

  if (offered) {
    lines.push('', 'Sign-in would offer');
    if (offered.length === 0) lines.push('  nothing: add a link from the setup page (/setup)');
    for (const [i, method] of offered.entries()) {
      lines.push(`  ${i + 1}. ${clean(method.label)}  [${method.method}, from ${url(method.link)}]`);
      if (method.check) lines.push(`     ${method.check.ok ? 'ok' : 'problem'}: ${clean(method.check.text)}`);
    }
    if (offered.length > 1) lines.push('  (several: the person chooses)');
  }

  if (d.notes.length > 0) {
    lines.push('', 'Notes');
    for (const note of d.notes) lines.push(`  - ${clean(note)}`);
  }
  return lines.join('\n');
}
