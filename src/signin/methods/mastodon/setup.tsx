/** Mastodon's section of /setup (`#mastodon`): any Mastodon-API server, nothing for an operator to do. */
import { Code } from '../../../views/pages/setup.js';
import type { MethodSetup } from '../../types.js';

export const mastodonSetup: MethodSetup = {
  id: 'mastodon',
  title: 'Sign in with Mastodon',
  Section: () => (
    <>
      <p>
        Any Mastodon server works, and servers that speak its API (GoToSocial, Akkoma, Pleroma). Link to your
        profile from your home page, exactly as the profile's address reads:
      </p>
      <Code>{'<a rel="me" href="https://social.example/@you">Mastodon</a>'}</Code>
      <p>
        Then make the profile link back: in <strong>Edit profile</strong>, add your site's address as one of
        the extra fields (Mastodon then shows it as verified, because your page links to the profile with{' '}
        <code>rel="me"</code>), or put it in your bio. Latchkey registers itself with your server the first
        time, asks only to read your profile, and revokes the token afterwards.
      </p>
    </>
  ),
};
