/**
 * The Mastodon method's icon: two overlapping speech bubbles (a conversation between servers),
 * drawn for Latchkey — not Mastodon's logo, no third-party asset (SECURITY E1). Inline SVG in
 * `currentColor`, so it follows the page's light and dark colours; decorative (`aria-hidden`).
 */
export const mastodonIcon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" fill="none" ' +
  'stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" ' +
  'aria-hidden="true" focusable="false">' +
  '<path d="M3 5.5A2.5 2.5 0 0 1 5.5 3h8A2.5 2.5 0 0 1 16 5.5v5a2.5 2.5 0 0 1-2.5 2.5H9l-3.5 3v-3A2.5 2.5 0 0 1 3 10.5z"/>' +
  '<path d="M16 8h2.5A2.5 2.5 0 0 1 21 10.5v5a2.5 2.5 0 0 1-2.5 2.5v3L15 18h-3.5A2.5 2.5 0 0 1 9 15.5V13"/>' +
  '<path d="M7 7h5M7 9.5h3"/>' +
  '</svg>';
