// Protocol Buffers text format (what TensorFlow's `pipeline.config`, `*.pbtxt` and `checkpoint` files are
// written in), parsed without a schema into a tree that a typed reader then walks:
//
//   message = field*            field = name ":"? value | name ":"? "{" message "}" | name ":"? "<" message ">"
//   value   = number | identifier (enum, true/false) | string ("..." or '...', adjacent strings concatenate)
//           | "[" value ("," value)* "]" (a repeated field's short form)
//   separators "," and ";" after a field are optional; "#" starts a comment to the end of the line.
//
// No maintained JavaScript library parses the text format (protobufjs and @bufbuild/protobuf read .proto
// schemas and the binary/JSON encodings only), hence these ~150 lines. Errors name the file, line and column.
import { NasnetError } from './errors.js';

/** A scalar as written: numbers parsed, identifiers (enum values, true/false) kept as text. */
export type PbScalar = number | string | { readonly ident: string };
export type PbValue = PbScalar | PbMessage;

/** A message: each field's values in file order (a repeated field has several). */
export interface PbMessage {
  readonly fields: Map<string, PbValue[]>;
  /** Line of each field's first occurrence, for error messages. */
  readonly lines: Map<string, number>;
}

type Token = { kind: 'name' | 'number' | 'string' | 'punct'; text: string; value?: number | string; line: number; col: number };

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const fail = (message: string): never => {
    throw new NasnetError('INVALID_CONFIG', `${file}:${line}:${i - lineStart + 1}: ${message}`, { file, line });
  };
  while (i < text.length) {
    const c = text[i]!;
    const col = i - lineStart + 1;
    if (c === '\n') {
      line++;
      lineStart = ++i;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if ('{}<>[]:,;'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, line, col });
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      while (text[i] !== c) {
        if (i >= text.length || text[i] === '\n') fail(`unterminated string starting at column ${col}`);
        if (text[i] === '\\') {
          const next = text[i + 1] ?? '';
          value += ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" } as Record<string, string>)[next] ?? next;
          i += 2;
        } else value += text[i++];
      }
      i++;
      tokens.push({ kind: 'string', text: value, value, line, col });
    } else {
      const match = /^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|0[xX][0-9a-fA-F]+)[fF]?|^[A-Za-z_][\w.]*|^-?(?:inf|nan)/i.exec(text.slice(i));
      if (match === null) fail(`unexpected character ${JSON.stringify(c)}`);
      const word = match![0];
      const isNumber = /^[-+.\d]/.test(word) || /^-?(inf|nan)$/i.test(word);
      if (isNumber) {
        const body = word.replace(/[fF]$/, '');
        const value = /inf/i.test(body) ? (body.startsWith('-') ? -Infinity : Infinity) : /nan/i.test(body) ? NaN : Number(body);
        if (!/^0[xX]/.test(word) && Number.isNaN(value) && !/nan/i.test(body)) fail(`malformed number ${word}`);
        tokens.push({ kind: 'number', text: word, value, line, col });
      } else tokens.push({ kind: 'name', text: word, line, col });
      i += word.length;
    }
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  private fail(message: string, token = this.tokens[this.pos]): never {
    const where = token === undefined ? 'end of file' : `${token.line}:${token.col}`;
    throw new NasnetError('INVALID_CONFIG', `${this.file}:${where}: ${message}`, { file: this.file, line: token?.line });
  }

  private peek(text: string): boolean {
    const t = this.tokens[this.pos];
    return t?.kind === 'punct' && t.text === text;
  }

  private expect(text: string, context: string): void {
    if (!this.peek(text)) this.fail(`expected "${text}" ${context}; found ${this.describe()}`);
    this.pos++;
  }

  private describe(): string {
    const t = this.tokens[this.pos];
    return t === undefined ? 'end of file' : JSON.stringify(t.text);
  }

  message(close?: string): PbMessage {
    const fields = new Map<string, PbValue[]>();
    const lines = new Map<string, number>();
    while (this.pos < this.tokens.length && !(close !== undefined && this.peek(close))) {
      const nameToken = this.tokens[this.pos]!;
      if (nameToken.kind !== 'name') this.fail(`expected a field name; found ${this.describe()}`);
      this.pos++;
      const name = nameToken.text;
      const hasColon = this.peek(':');
      if (hasColon) this.pos++;
      const values = this.peek('[') ? this.list(name) : [this.value(name, hasColon)];
      fields.set(name, [...(fields.get(name) ?? []), ...values]);
      if (!lines.has(name)) lines.set(name, nameToken.line);
      if (this.peek(',') || this.peek(';')) this.pos++;
    }
    if (close !== undefined) this.expect(close, 'to close the message');
    return { fields, lines };
  }

  private list(name: string): PbValue[] {
    this.pos++; // [
    const values: PbValue[] = [];
    while (!this.peek(']')) {
      values.push(this.value(name, true));
      if (!this.peek(']')) this.expect(',', `between the values of ${name}`);
    }
    this.pos++;
    return values;
  }

  private value(name: string, hasColon: boolean): PbValue {
    if (this.peek('{') || this.peek('<')) {
      const close = this.peek('{') ? '}' : '>';
      this.pos++;
      return this.message(close);
    }
    const t = this.tokens[this.pos];
    if (!hasColon) this.fail(`expected ":" or "{" after field ${name}; found ${this.describe()}`);
    if (t === undefined || t.kind === 'punct') this.fail(`expected a value for field ${name}; found ${this.describe()}`);
    this.pos++;
    if (t!.kind === 'number') return t!.value as number;
    if (t!.kind === 'name') return { ident: t!.text };
    let text = t!.value as string;
    while (this.tokens[this.pos]?.kind === 'string') text += this.tokens[this.pos++]!.value as string;
    return text;
  }
}

/** Parses text-format `text` (read from `file`, named in errors). */
export function parsePbtxt(text: string, file: string): PbMessage {
  return new Parser(tokenize(text, file), file).message();
}
