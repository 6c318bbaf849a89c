/** The one stylesheet, served from our own origin (SECURITY E1: no third-party assets). */
export const STYLESHEET = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fdfdfc; --muted: #5c5c66; --accent: #0b57d0; --warn: #8a1c1c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8ea; --bg: #16161a; --muted: #a4a4ad; --accent: #8ab4f8; --warn: #f28b82; } }
* { box-sizing: border-box; }
html { font-size: 100%; }
body { margin: 0; font: 1.05rem/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 42rem; margin: 0 auto; padding: 1rem 1.25rem; }
header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; border-bottom: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); }
.brand { display: inline-flex; align-items: center; gap: .5rem; font-weight: 700; font-size: 1.25rem; text-decoration: none; color: var(--fg); }
.logo { flex: none; width: 28px; height: 28px; }
.logo-plate { fill: var(--accent); }
.logo-key { stroke: var(--bg); }
/* Pages with code examples (docs, setup): a wider column so the examples fit at desktop widths. */
body.wide header, body.wide main, body.wide footer { max-width: 58rem; }
.tagline { color: var(--muted); }
h1 { font-size: 1.6rem; line-height: 1.25; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
pre { overflow-x: auto; padding: .75rem; background: color-mix(in srgb, var(--fg) 7%, transparent); border-radius: 6px; }
/* Code examples wrap long lines (form bodies, URLs) instead of hiding them; they still scroll, and are focusable, if anything cannot wrap. */
pre[tabindex] { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .9rem; line-height: 1.45; }
pre[tabindex] code { font-size: 1em; }
pre:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
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
/* sign-in pages */
button, textarea, .stack input[type="text"] { font: inherit; color: inherit; }
button { min-height: 44px; padding: .6rem 1.25rem; border: 2px solid var(--accent); border-radius: 8px; background: var(--accent); color: var(--bg); font-weight: 600; line-height: 1.3; text-align: center; overflow-wrap: anywhere; cursor: pointer; }
button:hover { background: color-mix(in srgb, var(--accent) 85%, var(--fg)); border-color: color-mix(in srgb, var(--accent) 85%, var(--fg)); }
button.secondary { background: transparent; color: var(--accent); border-color: color-mix(in srgb, var(--accent) 55%, transparent); font-weight: 500; }
button.secondary:hover { background: color-mix(in srgb, var(--accent) 10%, transparent); border-color: var(--accent); }
button:focus-visible, textarea:focus-visible, input:focus-visible, summary:focus-visible, pre:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.stack { display: flex; flex-direction: column; gap: .75rem; margin: 1.25rem 0; }
.stack > p { margin: 0; }
.stack > label { font-weight: 600; margin-bottom: -.4rem; }
.stack > button { width: 100%; }
[hidden] { display: none !important; }
#command, #challenge { white-space: pre-wrap; overflow-wrap: anywhere; }
.choice { display: flex; align-items: center; gap: .75rem; text-align: left; }
.choice-icon { flex: 0 0 auto; display: inline-flex; width: 28px; height: 28px; }
.choice-icon svg { width: 28px; height: 28px; }
.choice-text { display: flex; flex-direction: column; gap: .15rem; min-width: 0; }
.choice-label { font-weight: 600; }
.choice-hint { font-size: .9rem; font-weight: 400; overflow-wrap: anywhere; }
.stack input[type="text"], .stack textarea { width: 100%; min-height: 44px; padding: .6rem .75rem; border: 1px solid color-mix(in srgb, var(--fg) 40%, transparent); border-radius: 8px; background: var(--bg); }
.stack input[type="text"] { font-size: max(1rem, 16px); }
.stack textarea { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .85rem; line-height: 1.4; resize: vertical; }
.stack input::placeholder { color: var(--muted); opacity: .8; }
#code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; letter-spacing: .12em; }
#challenge { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .9rem; }
.muted { color: var(--muted); }
.client { display: flex; align-items: center; gap: .85rem; margin: 1rem 0 1.25rem; padding: .75rem 1rem; border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 10px; background: color-mix(in srgb, var(--fg) 4%, transparent); }
.client img { flex: none; width: 48px; height: 48px; border-radius: 10px; object-fit: cover; }
.client p { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.client-text { display: flex; flex-direction: column; gap: .35rem; min-width: 0; }
.client-address { font-size: .9rem; }
main .problem { padding: .6rem .85rem; border-left: 4px solid var(--warn); border-radius: 0 6px 6px 0; background: color-mix(in srgb, var(--warn) 9%, transparent); font-weight: 500; }
.facts { display: grid; grid-template-columns: 1fr; margin: 1.25rem 0; }
.facts dt { margin-top: .6rem; color: var(--muted); font-size: .9rem; }
.facts dt:first-child { margin-top: 0; }
.facts dd { margin: .1rem 0 0; overflow-wrap: anywhere; }
.facts dd .problem { margin: .5rem 0 0; font-size: .95rem; }
fieldset { margin: 0; min-width: 0; padding: .5rem 1rem .75rem; border: 1px solid color-mix(in srgb, var(--fg) 20%, transparent); border-radius: 10px; }
legend { padding: 0 .35rem; font-weight: 600; }
.check { display: flex; align-items: flex-start; gap: .7rem; min-height: 44px; padding: .45rem 0; }
.check + .check { border-top: 1px solid color-mix(in srgb, var(--fg) 10%, transparent); }
.check input[type="checkbox"] { flex: none; width: 1.35rem; height: 1.35rem; margin: .15rem 0 0; accent-color: var(--accent); cursor: pointer; }
.check label { flex: 1; min-width: 0; cursor: pointer; }
.actions { display: flex; flex-wrap: wrap; gap: .75rem; }
.actions > button { flex: 1 1 12rem; }
main summary { min-height: 44px; padding: .6rem 0; cursor: pointer; }
.notice { padding: .6rem .85rem; border-left: 4px solid var(--accent); border-radius: 0 6px 6px 0; background: color-mix(in srgb, var(--accent) 9%, transparent); }
/* account page */
.cards { list-style: none; margin: 1rem 0; padding: 0; display: flex; flex-direction: column; gap: .85rem; }
.card { padding: .75rem 1rem; border: 1px solid color-mix(in srgb, var(--fg) 15%, transparent); border-radius: 10px; overflow-wrap: anywhere; }
.card > p { margin: .25rem 0; }
.card .client { margin: 0; padding: 0; border: 0; background: none; }
.card .facts { margin: .75rem 0; }
.scope + .scope { margin-left: .5rem; }
@media (min-width: 40rem) {
  .stack > button:not(.secondary) { align-self: flex-start; width: auto; min-width: 12rem; }
  .actions > button { flex: 0 1 auto; min-width: 10rem; }
  .facts { grid-template-columns: max-content 1fr; gap: .5rem 1.25rem; }
  .facts dt, .facts dt:first-child { margin: 0; padding-top: .1rem; }
  .facts dd { margin: 0; }
}
`;
