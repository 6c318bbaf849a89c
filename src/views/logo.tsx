/**
 * Latchkey's mark: a key on a rounded plate, drawn on a 32-unit grid with strokes of whole units so
 * it stays crisp at 16 px. Served from our own origin (SECURITY E1: no third-party assets).
 */
import { createHash } from 'node:crypto';

/** The key's strokes, shared by the favicon file and the header mark so both stay one drawing. */
const KEY_PATH = 'M13 16h12M21 16v5M25 16v4';
const PLATE = { x: 1, y: 1, width: 30, height: 30, rx: 7 } as const;

/**
 * The favicon file. Fixed colours (white key on the accent blue) read on light and dark tab strips
 * alike; presentation attributes only, because the file is served under a CSP without styles.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32">
<rect x="${PLATE.x}" y="${PLATE.y}" width="${PLATE.width}" height="${PLATE.height}" rx="${PLATE.rx}" fill="#0b57d0"/>
<circle cx="10" cy="16" r="4.5" fill="none" stroke="#fff" stroke-width="3"/>
<path d="${KEY_PATH}" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`;

/** A content-addressed path, so pages can ask browsers to keep the icon for a year (immutable). */
export const FAVICON_PATH = `/assets/latchkey-${createHash('sha256').update(FAVICON_SVG).digest('hex').slice(0, 12)}.svg`;

/**
 * The same mark inline in the page header, coloured by the stylesheet (`.logo-plate`, `.logo-key`)
 * so it follows the light and dark themes. Decorative: the text name beside it says "Latchkey".
 */
export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
      <rect class="logo-plate" {...PLATE} />
      <circle class="logo-key" cx="10" cy="16" r="4.5" fill="none" stroke-width="3" />
      <path
        class="logo-key"
        d={KEY_PATH}
        fill="none"
        stroke-width="3"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}
