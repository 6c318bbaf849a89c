/**
 * The media type of a Content-Type value, lower-cased, without its parameters (RFC 9110 §8.3.1):
 * `Text/HTML; charset=utf-8` → `text/html`. Empty when there is no header.
 */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
