/** The one stylesheet, served from our own origin (SECURITY E1: no third-party assets). */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fdfdfc; --muted: #5c5c66; --accent: #0b57d0; --warn: #8a1c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #16161a; --muted: #a4a4ad; --accent: #8ab4f8; --warn: #f28b82; } }
* { box-sizing: border-box; }
html { font-size: 100%; }
body { margin: 0; font: 1.05rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 42rem; margin: 0 auto; padding: 1rem 1.25rem; }
header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; border-bottom: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); }
.brand { font-weight: 700; font-size: 1.25rem; text-decoration: none; color: var(--fg); }
.tagline { color: var(--muted); }
h1 { font-size: 1.6rem; line-height: 1.25; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
pre { overflow-x: auto; padding: .75rem; background: color-mix(in srgb, var(--fg) 7%, transparent); border-radius: 6px; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .92em; overflow-wrap: anywhere; }
.problem { color: var(--warn); font-weight: 600; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: .5rem; }
footer { color: var(--muted); font-size: .9rem; }
/* info pages */
.footer-nav { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0 1.25rem; }
.footer-nav a { display: inline-block; padding: .4rem 0; }
.demo { padding: .25rem 1rem; border: 1px solid color-mix(in srgb, var(--fg) 20%, transparent); border-radius: 6px; }
.demo label { display: block; font-weight: 600; margin-bottom: .25rem; }
.demo input[type="text"] { width: 100%; max-width: 24rem; font: inherit; padding: .45rem .6rem; }
.demo button { font: inherit; padding: .45rem 1.1rem; }
`;
