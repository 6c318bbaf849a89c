/**
 * The person's profile for the `profile` scope (IndieAuth §5.3.4): name, photo and url from the
 * representative h-card of their homepage (microformats.org/wiki/representative-h-card-parsing).
 */
import { urlEquivalent } from '../indieauth/urls.js';
import type { Mf2Item } from '../net/links.js';
import type { Profile } from '../tokens/codes.js';

const MAX_NAME = 200;

function firstString(values: unknown[] | undefined): string | undefined {
  for (const value of values ?? []) {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && 'value' in value && typeof value.value === 'string') {
      return value.value;
    }
  }
  return undefined;
}

function httpUrl(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function isHCard(item: Mf2Item): boolean {
  return item.type?.includes('h-card') ?? false;
}

/** The h-card whose url is the page itself, else the page's only h-card. */
export function representativeHCard(items: readonly Mf2Item[], me: string): Mf2Item | undefined {
  const cards = items.filter(isHCard);
  const own = cards.find((card) =>
    (card.properties.url ?? []).some((url) => {
      const value = typeof url === 'string' ? url : undefined;
      return value !== undefined && httpUrl(value) !== undefined && urlEquivalent(value, me);
    }),
  );
  if (own) return own;
  return cards.length === 1 ? cards[0] : undefined;
}

export function profileFromSite(items: readonly Mf2Item[], me: string): Profile {
  const card = representativeHCard(items, me);
  const profile: Profile = { url: me };
  if (!card) return profile;
  const name = firstString(card.properties.name)?.replace(/\s+/g, ' ').trim().slice(0, MAX_NAME);
  if (name) profile.name = name;
  const photo = httpUrl(firstString(card.properties.photo));
  if (photo) profile.photo = photo;
  return profile;
}
