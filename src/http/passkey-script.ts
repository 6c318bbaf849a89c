/**
 * The one script Latchkey serves (PROTOCOL §13): `@simplewebauthn/browser`'s UMD build, read from
 * node_modules once, followed by a small glue that drives the passkey forms. Same origin, so passkey
 * pages need only CSP `script-src 'self'`; every other page stays script-free.
 *
 * A passkey form carries `data-passkey="register|authenticate"`, its options in `data-options`, a
 * hidden `response` field and a `[data-status]` element; it is `hidden` until this script shows it,
 * so without JavaScript nothing broken is offered (the page's <noscript> says why).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const PASSKEY_SCRIPT_PATH = '/assets/passkeys.js';

const GLUE = `
(function () {
  var lib = window.SimpleWebAuthnBrowser;
  var forms = document.querySelectorAll('form[data-passkey]');
  for (var i = 0; i < forms.length; i++) setUp(forms[i]);
  function setUp(form) {
    var status = form.querySelector('[data-status]');
    if (!lib || !lib.browserSupportsWebAuthn()) {
      if (status) { status.hidden = false; status.textContent = 'This browser cannot use passkeys.'; }
      form.hidden = false;
      var button = form.querySelector('button');
      if (button) button.disabled = true;
      return;
    }
    form.hidden = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var optionsJSON = JSON.parse(form.getAttribute('data-options') || '{}');
      var run = form.getAttribute('data-passkey') === 'register'
        ? lib.startRegistration({ optionsJSON: optionsJSON })
        : lib.startAuthentication({ optionsJSON: optionsJSON });
      if (status) { status.hidden = false; status.textContent = 'Waiting for your device…'; }
      run.then(function (answer) {
        form.querySelector('input[name=response]').value = JSON.stringify(answer);
        form.submit();
      }, function (error) {
        if (status) status.textContent = 'The passkey step did not finish: ' + (error && error.message ? error.message : error) + ' You can try again.';
      });
    });
  }
})();
`;

let cached: string | undefined;

export function passkeyScript(): string {
  if (cached === undefined) {
    const require = createRequire(import.meta.url);
    const main = require.resolve('@simplewebauthn/browser');
    const root = join(dirname(main), '..');
    cached = `${readFileSync(join(root, 'dist/bundle/index.umd.min.js'), 'utf8')}\n${GLUE}`;
  }
  return cached;
}
