/**
 * The GitHub method's icon, drawn for Latchkey from plain shapes (no third-party artwork, SECURITY
 * E1): a code branch — two commits and a merge line — inside a rounded badge. Inline SVG markup in
 * `currentColor`, so it follows the page's colours; decorative, so pages mark it `aria-hidden`.
 */
export const githubIcon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" fill="none" ' +
  'stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" ' +
  'aria-hidden="true" focusable="false">' +
  '<rect x="2.5" y="2.5" width="19" height="19" rx="5"/>' +
  '<circle cx="8.5" cy="7.5" r="1.6"/>' +
  '<circle cx="8.5" cy="16.5" r="1.6"/>' +
  '<circle cx="15.5" cy="10" r="1.6"/>' +
  '<path d="M8.5 9.1v5.8M15.5 11.6c0 2.4-2.6 3-5.4 4"/>' +
  '</svg>';
