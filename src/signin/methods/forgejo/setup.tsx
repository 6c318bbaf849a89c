/** Forgejo's section of /setup (`#forgejo`): Codeberg and other Forgejo or Gitea instances. */
import { Code } from '../../../views/pages/setup.js';
import type { MethodSetup } from '../../types.js';

export const forgejoSetup: MethodSetup = {
  id: 'forgejo',
  title: 'Sign in with Codeberg or another Forgejo',
  Section: () => (
    <>
      <p>
        Link to your profile on Codeberg (or a Forgejo or Gitea instance this server's operator added) from
        your home page:
      </p>
      <Code>{'<a rel="me" href="https://codeberg.org/you">Codeberg</a>'}</Code>
      <p>
        Then make the profile link back: in <strong>Settings → Profile</strong>, put your site's address in
        the <strong>Website</strong> field or in the description. Latchkey keeps no token.
      </p>
    </>
  ),
};
