/**
 * Parsing of structured header values such as `multipart/form-data; boundary="x y"` or
 * `form-data; name="conference_name"` (RFC 9110 parameters, quoted strings with backslash escapes).
 */

export interface HeaderValue {
  /** The part before the first `;`, trimmed and lower-cased (a media type or a disposition type). */
  readonly value: string;
  /** Parameter names are lower-cased; values keep their case and have quotes/escapes removed. */
  readonly params: Readonly<Record<string, string>>;
}

export function parseHeaderValue(header: string): HeaderValue {
  const params: Record<string, string> = Object.create(null);
  let i = header.indexOf(';');
  const value = (i < 0 ? header : header.slice(0, i)).trim().toLowerCase();
  if (i < 0) return { value, params };

  while (i < header.length) {
    i++; // past ';'
    const eq = header.indexOf('=', i);
    if (eq < 0) break;
    const name = header.slice(i, eq).trim().toLowerCase();
    let j = eq + 1;
    while (header[j] === ' ' || header[j] === '\t') j++;
    let paramValue = '';
    if (header[j] === '"') {
      j++;
      while (j < header.length && header[j] !== '"') {
        // A backslash quotes the next character (RFC 9110 quoted-pair).
        if (header[j] === '\\' && j + 1 < header.length) j++;
        paramValue += header[j];
        j++;
      }
      j++; // past the closing quote
      const next = header.indexOf(';', j);
      i = next < 0 ? header.length : next;
    } else {
      const next = header.indexOf(';', j);
      i = next < 0 ? header.length : next;
      paramValue = header.slice(j, i).trim();
    }
    // The first occurrence wins, so a later duplicate cannot redirect the boundary or a part name.
    if (name !== '' && !(name in params)) params[name] = paramValue;
  }
  return { value, params };
}
