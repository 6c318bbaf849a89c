/** The benchmark's tokens: `count` grants with one access token each; returns the first 256. */
import type { Services } from '../src/services.js';

export async function issueTokens(services: Services, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1000) {
    await services.store.write(async (tx) => {
      for (let j = i; j < Math.min(i + 1000, count); j++) {
        const issued = await services.tokens.issueForNewGrant(tx, {
          me: `https://user${j}.example/`,
          clientId: 'https://app.example/',
          scope: 'create update',
          source: 'code',
          authorizationEndpoint: null,
        });
        if (tokens.length < 256) tokens.push(issued.accessToken);
      }
    });
  }
  return tokens;
}
