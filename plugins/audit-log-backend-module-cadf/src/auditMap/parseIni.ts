/** An ini file as sections of options; `DEFAULT` holds the defaults section. @public */
export type IniSections = Map<string, Map<string, string>>;

/** Thrown for a malformed ini file; the message names the line. @public */
export class IniParseError extends Error {
  override readonly name = 'IniParseError';
}

const SECTION = /^\[(.+)\]/;
const OPTION = /^(.*?)\s*[=:]\s*(.*)$/;

/**
 * Parses an ini file the way Python's `configparser.ConfigParser()` (with its
 * defaults, as keystonemiddleware creates it) reads audit map files:
 *
 * - `key = value` or `key: value`; keys are lower-cased, keys and values trimmed;
 * - whole-line comments start with `#` or `;` (indented or not); there are no
 *   inline comments, so `a = b # c` has the value `b # c`;
 * - a line indented deeper than its option's line continues the value;
 * - duplicate sections and duplicate keys in a section are errors, as are
 *   options outside any section and lines that are neither.
 *
 * Not supported, and refused with an error rather than misread: `%`
 * interpolation (no audit map uses it).
 *
 * @public
 */
export function parseIni(text: string, source = 'ini file'): IniSections {
  const sections: IniSections = new Map();
  let current: Map<string, string> | undefined;
  let option: string | undefined;
  let optionIndent = Infinity;
  const lines = text.split(/\r\n|\n|\r/);
  const fail = (index: number, message: string): never => {
    throw new IniParseError(`${source}, line ${index + 1}: ${message}`);
  };

  lines.forEach((raw, index) => {
    const stripped = raw.trim();
    if (stripped.startsWith('#') || stripped.startsWith(';')) {
      optionIndent = Infinity;
      return;
    }
    if (!stripped) {
      // A blank line inside a value belongs to it; configparser drops trailing ones.
      if (current && option !== undefined && optionIndent !== Infinity) {
        current.set(option, `${current.get(option)}\n`);
      }
      return;
    }
    const indent = raw.length - raw.trimStart().length;
    if (current && option !== undefined && indent > optionIndent) {
      current.set(option, `${current.get(option)}\n${stripped}`);
      return;
    }
    optionIndent = indent;
    const header = SECTION.exec(stripped);
    if (header) {
      const name = header[1];
      if (sections.has(name)) {
        fail(index, `section [${name}] appears twice`);
      }
      current = new Map();
      sections.set(name, current);
      option = undefined;
      return;
    }
    if (!current) {
      fail(index, 'an option before any [section] header');
    }
    const match = OPTION.exec(stripped);
    if (!match) {
      fail(index, `'${stripped}' is neither a [section] nor a key = value`);
    }
    const key = match![1].trimEnd().toLowerCase();
    if (!key) {
      fail(index, 'an option without a name');
    }
    if (current!.has(key)) {
      fail(index, `option '${key}' appears twice in its section`);
    }
    current!.set(key, match![2].trim());
    option = key;
  });

  for (const [name, options] of sections) {
    for (const [key, value] of options) {
      if (value.includes('%')) {
        throw new IniParseError(
          `${source}, [${name}] ${key}: '%' in a value (interpolation is not supported)`,
        );
      }
      options.set(key, value.replace(/\s+$/, ''));
    }
  }
  return sections;
}
