/**
 * The frame of every page a person sees. No scripts and no third-party assets (SECURITY E1): one
 * same-origin stylesheet; everything works without JavaScript and reads well on a phone.
 */
import type { Child } from 'hono/jsx';
import { FAVICON_PATH, Logo } from './logo.js';

export interface LayoutProps {
  title: string;
  /** Pages with code examples get a wider column, so the examples fit on a desktop screen unclipped. */
  wide?: boolean;
  children?: Child;
}

export function Layout({ title, wide, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} — Latchkey`}</title>
        <link rel="stylesheet" href="/assets/latchkey.css" />
        <link rel="icon" type="image/svg+xml" href={FAVICON_PATH} />
      </head>
      <body class={wide ? 'wide' : undefined}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <a href="/" class="brand">
            <Logo />
            Latchkey
          </a>
          <span class="tagline">Sign in with your own website</span>
        </header>
        <main id="main">{children}</main>
        <footer>
          <nav aria-label="Latchkey pages">
            <ul class="footer-nav">
              <li>
                <a href="/">Home</a>
              </li>
              <li>
                <a href="/docs">Docs</a>
              </li>
              <li>
                <a href="/setup">Set up your site</a>
              </li>
              <li>
                <a href="/faq">FAQ</a>
              </li>
              <li>
                <a href="/privacy">Privacy</a>
              </li>
            </ul>
          </nav>
          <p>
            Latchkey is a self-hosted <a href="https://indieauth.spec.indieweb.org/">IndieAuth</a> server.
          </p>
        </footer>
      </body>
    </html>
  );
}
