import { IniParseError, parseIni } from './parseIni';

describe('parseIni (configparser semantics)', () => {
  it('reads sections, lower-cases keys, keeps inline # and joins continuation lines', () => {
    const ini = parseIni(
      [
        '# comment',
        '[DEFAULT]',
        'target_endpoint_type = None # not a comment',
        '[path_keywords]',
        'Servers : server',
        'long = first',
        '    second',
        '',
        '    third',
        '  ; indented comment',
        'next=value',
      ].join('\n'),
    );
    expect(ini.get('DEFAULT')?.get('target_endpoint_type')).toBe(
      'None # not a comment',
    );
    expect([...ini.get('path_keywords')!]).toEqual([
      ['servers', 'server'],
      ['long', 'first\nsecond\n\nthird'],
      ['next', 'value'],
    ]);
  });

  it.each([
    ['x = 1\n', 'line 1: an option before any [section] header'],
    ['[a]\n[a]\n', 'line 2: section [a] appears twice'],
    ['[a]\nx = 1\nX = 2\n', "line 3: option 'x' appears twice in its section"],
    [
      '[a]\njust words\n',
      "line 2: 'just words' is neither a [section] nor a key = value",
    ],
    ['[a]\n= 1\n', 'line 2: an option without a name'],
    [
      '[a]\nx = 50%\n',
      "[a] x: '%' in a value (interpolation is not supported)",
    ],
  ])('refuses %j: %s', (text, message) => {
    expect(() => parseIni(text, 'map.conf')).toThrow(IniParseError);
    expect(() => parseIni(text, 'map.conf')).toThrow(`map.conf`);
    expect(() => parseIni(text, 'map.conf')).toThrow(message);
  });
});
