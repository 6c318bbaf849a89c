/** GitLab's section of /setup (`#gitlab`). */
import { Code } from '../../../views/pages/setup.js';
import type { MethodSetup } from '../../types.js';

export const gitlabSetup: MethodSetup = {
  id: 'gitlab',
  title: 'Sign in with GitLab',
  Section: () => (
    <>
      <p>
        Link to your profile on a GitLab this server knows (gitlab.com, or an instance its operator added)
        from your home page:
      </p>
      <Code>{'<a rel="me" href="https://gitlab.com/you">GitLab</a>'}</Code>
      <p>
        Then make the profile link back: in GitLab, <strong>Edit profile</strong>, put your site's address in
        the <strong>Website</strong> field or in your bio. Latchkey asks GitLab only to read your profile (
        <code>read_user</code>) and revokes the token afterwards.
      </p>
    </>
  ),
};
