/**
 * The one helper every error formatter uses to quote something the user (or a hostile file) wrote.
 * A message quotes at most the offending token, capped at MAX_QUOTED_CHARS characters with an ellipsis,
 * JSON-escaped (newlines, terminal escape sequences and other control characters are shown as escapes),
 * so a message can never echo a whole file (`tcplab run /proc/self/environ`) or drive the terminal.
 */
export const MAX_QUOTED_CHARS = 60;

// C1 controls, DEL, line/paragraph separators and bidirectional overrides: JSON.stringify leaves these as is.
const INVISIBLE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `"text"` JSON-escaped, cut to `max` characters (code points) with `…` when longer. */
export function quote(text: string, max: number = MAX_QUOTED_CHARS): string {
  return JSON.stringify(clip(text, max)).replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `text` cut to `max` characters (code points) with `…` when longer; not quoted or escaped. */
export function clip(text: string, max: number = MAX_QUOTED_CHARS): string {
  if (text.length <= max) return text;
  const chars = Array.from(text.slice(0, max * 2));
  return chars.length <= max && text.length <= max * 2 ? text : `${chars.slice(0, max).join('')}…`;
}
