import { quote } from '../lab/quote-token.js';
/**
 * Splits a command line into words the way a POSIX shell would for plain words, quotes and backslashes,
 * without running a shell. Anything that only a shell would act on (`;`, `|`, `&`, redirections, `$`
 * expansions, backticks) is refused: we never use a shell, so such characters mean the user expected one.
 */
export type SplitResult = { readonly ok: true; readonly words: string[] } | { readonly ok: false; readonly message: string; readonly index: number };

const SHELL_ONLY: Readonly<Record<string, string>> = {
  ';': 'a command separator',
  '|': 'a pipe',
  '&': 'a background/and operator',
  '>': 'a redirection',
  '<': 'a redirection',
  '`': 'command substitution',
  $: 'a shell expansion',
};

/** Splits `text` into words (quotes '…' and "…", backslash escapes); refuses shell syntax with its position. */
export function splitShellWords(text: string): SplitResult {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string)) current += text[++i];
      else if (ch === '$' || ch === '`') return refuse(ch, i, text);
      else current += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= text.length) return { ok: false, index: i, message: 'a trailing backslash escapes nothing; remove it' };
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (Object.hasOwn(SHELL_ONLY, ch)) {
      return refuse(ch, i, text);
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) return { ok: false, index: text.length, message: `unclosed ${quote} quote; close it` };
  if (inWord) words.push(current);
  return { ok: true, words };
}

function refuse(ch: string, index: number, text: string): SplitResult {
  return {
    ok: false,
    index,
    message: `${quote(ch)} at column ${index + 1} of ${quote(text)} is shell syntax (${SHELL_ONLY[ch] ?? 'shell'}); rules are run as iptables arguments without a shell, so write one rule per step, or quote the character with '…' if it is literal`,
  };
}
