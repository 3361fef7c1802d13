const ISO = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/;

function parts(iso: string): [string, string, string] {
  let m = ISO.exec(iso);
  if (!m) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
      throw new Error(`Not a timestamp: '${iso}'`);
    }
    m = ISO.exec(date.toISOString())!;
  }
  return [m[1], m[2], (m[3] ?? '').padEnd(6, '0')];
}

/**
 * A record timestamp as pycadf writes event times:
 * `2026-11-24T03:16:52.055000+0000` (`%Y-%m-%dT%H:%M:%S.%f%z`, UTC).
 *
 * @public
 */
export function cadfTime(iso: string): string {
  const [day, time, micros] = parts(iso);
  return `${day}T${time}.${micros}+0000`;
}

/**
 * A record timestamp as oslo.messaging writes notification timestamps:
 * `2026-11-24 03:16:52.055000` (UTC, no zone).
 *
 * @public
 */
export function osloTime(iso: string): string {
  const [day, time, micros] = parts(iso);
  return `${day} ${time}.${micros}`;
}
