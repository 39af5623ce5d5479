const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

// RFC 9110 section 5.6.7: IMF-fixdate, the obsolete RFC 850 form and asctime(), nothing else.
const IMF = /^([A-Za-z]{3}), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
const RFC850 = /^([A-Za-z]{6,9}), (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;
const ASCTIME = /^([A-Za-z]{3}) ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/**
 * The time (ms since the epoch) an HTTP-date names, or null when the text is not one of the
 * three forms RFC 9110 allows. `Date.parse` accepts far more (`UTC`, other zones, one-digit
 * hours), and a cache must treat such an `Expires` as already expired. Names are matched
 * case-insensitively, as recipients commonly do.
 */
export function parseHttpDate(text: unknown, now = Date.now()): number | null {
  if (typeof text !== 'string') return null;
  let m = IMF.exec(text);
  if (m) {
    if (!dayIs(m[1]!, DAYS)) return null;
    return build(Number(m[4]), m[3]!, m[2]!, m[5]!, m[6]!, m[7]!);
  }
  m = RFC850.exec(text);
  if (m) {
    if (!dayIs(m[1]!, LONG_DAYS)) return null;
    return build(fullYear(Number(m[4]), now), m[3]!, m[2]!, m[5]!, m[6]!, m[7]!);
  }
  m = ASCTIME.exec(text);
  if (m) {
    if (!dayIs(m[1]!, DAYS)) return null;
    return build(Number(m[7]), m[2]!, m[3]!.trim(), m[4]!, m[5]!, m[6]!);
  }
  return null;
}

/** RFC 9110 section 5.6.7: a two-digit year more than 50 years ahead is in the past century. */
function fullYear(yy: number, now: number): number {
  const current = new Date(now).getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + yy;
  if (year > current + 50) year -= 100;
  return year;
}

function dayIs(name: string, names: readonly string[]): boolean {
  const lower = name.toLowerCase();
  return names.some((n) => n.toLowerCase() === lower);
}

function build(
  year: number,
  monthName: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | null {
  const lower = monthName.toLowerCase();
  const month = MONTHS.findIndex((m) => m.toLowerCase() === lower);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (month < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const time = Date.UTC(year, month, d, h, mi, Math.min(s, 59));
  // 31 Feb rolls over into March with Date.UTC: that is no date.
  if (new Date(time).getUTCDate() !== d) return null;
  return time;
}

/** An IMF-fixdate for `time` (ms since the epoch). */
export function formatHttpDate(time: number): string {
  return new Date(time).toUTCString();
}
