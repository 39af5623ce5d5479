import type { Directives } from './cache-control.js';
import { fieldValue } from './cache-control.js';

/**
 * Parses a targeted cache-control field (RFC 9213: `CDN-Cache-Control`, or one named for
 * this gateway such as `Sluice-Cache-Control`), a Structured Field Dictionary (RFC 8941).
 * Integers become delta-seconds arguments, `true` booleans bare directives; a member of
 * another type is dropped. Null when the field is absent, does not parse, or leaves no
 * directive: then the cache behaves as if it were not there (RFC 9213 section 2.1).
 */
export function parseTargeted(value: string | string[] | number | undefined): Directives | null {
  const text = fieldValue(value);
  if (text === undefined) return null;
  const members = new DictionaryParser(text).parse();
  if (members === null) return null;
  const out = new Map<string, string | true>();
  for (const [name, item] of members) {
    if (item === true) out.set(name, true);
    else if (typeof item === 'number' && Number.isInteger(item)) out.set(name, String(item));
  }
  return out.size === 0 ? null : out;
}

type Item = number | boolean | string | symbol | Item[];
const OTHER = Symbol('other');

class DictionaryParser {
  #i = 0;
  constructor(readonly text: string) {}

  parse(): Map<string, Item> | null {
    const out = new Map<string, Item>();
    const t = this.text;
    this.#skip(' ');
    if (this.#i === t.length) return null;
    while (this.#i < t.length) {
      const key = this.#key();
      if (key === null) return null;
      let value: Item | null = true;
      if (t[this.#i] === '=') {
        this.#i++;
        value = t[this.#i] === '(' ? this.#innerList() : this.#bareItem();
        if (value === null) return null;
      }
      if (!this.#parameters()) return null;
      out.set(key, value);
      this.#skip(' \t');
      if (this.#i === t.length) return out;
      if (t[this.#i] !== ',') return null;
      this.#i++;
      this.#skip(' \t');
      if (this.#i === t.length) return null;
    }
    return out;
  }

  #skip(chars: string): void {
    while (this.#i < this.text.length && chars.includes(this.text[this.#i]!)) this.#i++;
  }

  #key(): string | null {
    const m = /^[a-z*][a-z0-9_\-.*]*/.exec(this.text.slice(this.#i));
    if (!m) return null;
    this.#i += m[0].length;
    return m[0];
  }

  #parameters(): boolean {
    while (this.text[this.#i] === ';') {
      this.#i++;
      this.#skip(' ');
      if (this.#key() === null) return false;
      if (this.text[this.#i] === '=') {
        this.#i++;
        if (this.#bareItem() === null) return false;
      }
    }
    return true;
  }

  #innerList(): Item | null {
    this.#i++;
    const items: Item[] = [];
    for (;;) {
      this.#skip(' ');
      if (this.text[this.#i] === ')') {
        this.#i++;
        return this.#parameters() ? items : null;
      }
      const item = this.#bareItem();
      if (item === null || !this.#parameters()) return null;
      items.push(item);
      const next = this.text[this.#i];
      if (next !== ' ' && next !== ')') return null;
    }
  }

  #bareItem(): Item | null {
    const rest = this.text.slice(this.#i);
    let m = /^-?\d{1,15}(\.\d{1,3})?/.exec(rest);
    if (m) {
      if (!m[1] && m[0].replace('-', '').length > 15) return null;
      this.#i += m[0].length;
      return Number(m[0]);
    }
    m = /^"((?:[ !#-[\]-~]|\\["\\])*)"/.exec(rest);
    if (m) {
      this.#i += m[0].length;
      return m[1]!.replace(/\\(.)/g, '$1');
    }
    m = /^\?[01]/.exec(rest) ?? /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/.exec(rest);
    if (m) {
      this.#i += m[0].length;
      return m[0] === '?1' ? true : m[0] === '?0' ? false : OTHER;
    }
    m = /^:[A-Za-z0-9+/=]*:/.exec(rest);
    if (m) {
      this.#i += m[0].length;
      return OTHER;
    }
    return null;
  }
}
