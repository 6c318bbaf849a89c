/** GitHub's section of /setup (`#github`): the link on the site and the link back on the profile. */
import { Code } from '../../../views/pages/setup.js';
import type { MethodSetup } from '../../types.js';

export const githubSetup = (host: string): MethodSetup => ({
  id: 'github',
  title: 'Sign in with GitHub',
  Section: () => (
    <>
      <p>Link to your GitHub profile from your home page:</p>
      <Code>{`<a rel="me" href="https://${host}/you">GitHub</a>`}</Code>
      <p>
        Then make the profile link back: on GitHub, <strong>Settings → Public profile</strong>, put your
        site's address in the <strong>Website</strong> field (or in your bio, or as one of your social
        accounts). <code>you.example</code>, <code>https://you.example/</code> and{' '}
        <code>http://you.example</code> all count; <code>you.example.other.site</code> does not.
      </p>
      <p>
        Latchkey checks the public profile before sending you to GitHub, so a missing link is explained first.
        It asks GitHub for no permissions and keeps no GitHub token.
      </p>
    </>
  ),
});
