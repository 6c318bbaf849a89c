/**
 * Latchkey's own SSH icon: a terminal window with a prompt and a small key (currentColor, no
 * third-party artwork, SECURITY E1). The chooser sizes it; width and height are only a fallback.
 */
export const SSH_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><rect x="2" y="4" width="20" height="16" rx="2"/><path d="m6 9 3 3-3 3"/><circle cx="14" cy="12" r="1.8"/><path d="M15.8 12H19M18 12v1.8"/></svg>';
