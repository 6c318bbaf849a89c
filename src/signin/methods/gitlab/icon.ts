/**
 * The GitLab method's icon, drawn for Latchkey from plain shapes (no third-party artwork, SECURITY
 * E1): a shield holding a merge request — two commits joined by a line with an arrowhead. Inline
 * SVG in `currentColor`; decorative, so pages mark it `aria-hidden`.
 */
export const gitlabIcon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" fill="none" ' +
  'stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" ' +
  'aria-hidden="true" focusable="false">' +
  '<path d="M12 2.5l8 3v6c0 4.6-3.3 8.4-8 10-4.7-1.6-8-5.4-8-10v-6z"/>' +
  '<circle cx="9" cy="8.5" r="1.5"/>' +
  '<circle cx="15" cy="14.5" r="1.5"/>' +
  '<path d="M9 10v4.5h4.5M11.5 12.5l2 2-2 2"/>' +
  '</svg>';
