// The Asterisk Manager Interface wire format: after a one-line banner
// ("Asterisk Call Manager/<version>"), messages of "Key: Value" lines, each
// message ended by a blank line, lines ended by CRLF.

export const AMI_BANNER_PREFIX = 'Asterisk Call Manager/';

// A message this large without its blank line is not AMI: stop instead of buffering forever.
const MAX_BUFFER_CHARS = 1024 * 1024;

export class AmiProtocolError extends Error {
  override readonly name = 'AmiProtocolError';
}

/** One AMI message; keys are matched case-insensitively (Asterisk versions spell Uniqueid/UniqueID differently). */
export class AmiMessage {
  constructor(
    /** The message as received, without its terminating blank line. */
    readonly raw: string,
    readonly fields: ReadonlyArray<readonly [string, string]>,
  ) {}

  get(name: string): string | undefined {
    const n = name.toLowerCase();
    return this.fields.find(([k]) => k.toLowerCase() === n)?.[1];
  }

  get event(): string | undefined {
    return this.get('Event');
  }

  get response(): string | undefined {
    return this.get('Response');
  }

  /**
   * Channel variables listed in manager.conf `channelvars`, which Asterisk adds
   * to channel events as "ChanVariable: NAME=value" (older versions:
   * "ChanVariable(<channel>): NAME=value").
   */
  channelVariables(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, v] of this.fields) {
      if (!/^chanvariable(\(.*\))?$/i.test(k)) continue;
      const eq = v.indexOf('=');
      if (eq > 0) out.set(v.slice(0, eq).trim().toUpperCase(), v.slice(eq + 1));
    }
    return out;
  }
}

export function parseAmiMessage(raw: string): AmiMessage {
  const fields: Array<[string, string]> = [];
  for (const line of raw.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return new AmiMessage(raw, fields);
}

/** Splits the byte stream of one connection into the banner and messages. */
export class AmiStreamParser {
  private buffer = '';
  banner: string | undefined;

  push(chunk: string): AmiMessage[] {
    this.buffer += chunk;
    const out: AmiMessage[] = [];
    if (this.banner === undefined) {
      const eol = this.buffer.indexOf('\n');
      if (eol < 0) {
        if (this.buffer.length > 256) throw new AmiProtocolError('no AMI banner: is this an Asterisk manager port?');
        return out;
      }
      const banner = this.buffer.slice(0, eol).replace(/\r$/, '');
      if (!banner.startsWith(AMI_BANNER_PREFIX)) throw new AmiProtocolError(`unexpected banner "${banner.slice(0, 80)}": is this an Asterisk manager port?`);
      this.banner = banner;
      this.buffer = this.buffer.slice(eol + 1);
    }
    for (;;) {
      const end = /\r?\n\r?\n/.exec(this.buffer);
      if (!end) break;
      const raw = this.buffer.slice(0, end.index);
      this.buffer = this.buffer.slice(end.index + end[0].length);
      if (raw.trim()) out.push(parseAmiMessage(raw));
    }
    if (this.buffer.length > MAX_BUFFER_CHARS) throw new AmiProtocolError('AMI message too large');
    return out;
  }
}

/** Serialises an action. Values cannot carry line breaks: they would start another header (injection). */
export function amiAction(fields: ReadonlyArray<readonly [string, string]>): string {
  for (const [k, v] of fields) {
    if (/[\r\n]/.test(k) || /[\r\n]/.test(v)) throw new AmiProtocolError(`AMI field ${k.replace(/[\r\n]/g, ' ')} contains a line break`);
  }
  return `${fields.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}
