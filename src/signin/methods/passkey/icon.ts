/** Latchkey's own passkey icon: a person and a key (currentColor, no third-party artwork). */
export const PASSKEY_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><circle cx="9" cy="7" r="4"/><path d="M2 21v-2a5 5 0 0 1 5-5h4"/><circle cx="17" cy="14" r="2.5"/><path d="M17 16.5V22M17 19.5h2"/></svg>';
