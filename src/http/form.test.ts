import { describe, expect, it } from 'vitest';
import { parseParams } from './form.js';

describe('parseParams', () => {
  it('reads a form as URLSearchParams does, the plain one-pair shortcut included', () => {
    const forms = [
      'token=abc-DEF_123.~x',
      'token=',
      'token',
      '=x',
      'token=a+b',
      'token=a%20b',
      'to%6Ben=abc',
      'a=1&b=2',
      'token=abc&',
      '',
      'me=https%3A%2F%2Falice.example%2F',
    ];
    for (const form of forms) expect(parseParams(form), form).toEqual(new Map(new URLSearchParams(form)));
  });

  it('A6: refuses repeated parameters and control characters', () => {
    expect(() => parseParams('token=a&token=b')).toThrow('more than once');
    expect(() => parseParams('token=a%0d%0ab')).toThrow('control characters');
    expect(() => parseParams('to%00ken=a')).toThrow('control characters');
    expect(parseParams('text=a%0Ab', new Set(['text'])).get('text')).toBe('a\nb');
  });
});
