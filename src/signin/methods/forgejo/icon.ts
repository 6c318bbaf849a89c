/**
 * The Forgejo/Gitea method's icon, drawn for Latchkey from plain shapes (no third-party artwork,
 * SECURITY E1): an anvil under three sparks — a forge, for self-hosted software forges. Inline
 * SVG in `currentColor`; decorative, so pages mark it `aria-hidden`.
 */
export const forgejoIcon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" fill="none" ' +
  'stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" ' +
  'aria-hidden="true" focusable="false">' +
  '<path d="M3 9h14.5l3-2v4h-3.5c-.4 1.8-1.8 3-3.5 3.3V17h2.5v2.5H8.5V17H11v-2.7C8.6 14 6.8 12.6 6.3 11H3z"/>' +
  '<path d="M11 3.5v2M8 4.3l1 1.3M14 4.3l-1 1.3"/>' +
  '</svg>';
