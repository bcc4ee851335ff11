/**
 * Just enough semver to check a plugin's `peerDependencies` range for
 * `@rummy/core`: `^`, `~`, comparison operators, x-ranges, hyphen ranges
 * and `||`. Prerelease versions sort before their release.
 */

type Version = readonly [number, number, number, string];

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(?:-([\w.-]+))?(?:\+[\w.-]+)?$/;
const PARTIAL_RE =
  /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([\w.-]+))?(?:\+[\w.-]+)?$/;

export function parseVersion(text: string): Version | null {
  const m = VERSION_RE.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ""] : null;
}

function compare(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d) return Math.sign(d);
  }
  if (a[3] === b[3]) return 0;
  if (!a[3]) return 1;
  if (!b[3]) return -1;
  return a[3] < b[3] ? -1 : 1;
}

type Comparator = { readonly op: "<" | "<=" | ">" | ">=" | "="; readonly version: Version };

/** A partial version (`1`, `1.2`, `1.x`) as its lower bound and how many parts were given. */
function partial(text: string): { low: Version; given: number } | null {
  const m = PARTIAL_RE.exec(text);
  if (!m) return null;
  const parts = [m[1], m[2], m[3]];
  let given = 0;
  for (const part of parts) {
    if (part === undefined || /^[xX*]$/.test(part)) break;
    given++;
  }
  const num = (i: number) => (i < given ? Number(parts[i]) : 0);
  return { low: [num(0), num(1), num(2), given === 3 ? (m[4] ?? "") : ""], given };
}

function bump(v: Version, part: number): Version {
  if (part === 0) return [v[0] + 1, 0, 0, "0"];
  if (part === 1) return [v[0], v[1] + 1, 0, "0"];
  return [v[0], v[1], v[2] + 1, "0"];
}

function comparators(term: string): Comparator[] | null {
  const m = /^(\^|~|>=|<=|>|<|=)?\s*(.*)$/.exec(term);
  if (!m) return null;
  const op = m[1] ?? "";
  const p = partial(m[2] ?? "");
  if (!p) return null;
  const { low, given } = p;
  // "-0" upper bounds exclude the next version's prereleases too.
  switch (op) {
    case "^": {
      const first = low[0] !== 0 || given <= 1 ? 0 : low[1] !== 0 || given === 2 ? 1 : 2;
      return [
        { op: ">=", version: low },
        { op: "<", version: bump(low, first) },
      ];
    }
    case "~":
      return [
        { op: ">=", version: low },
        { op: "<", version: bump(low, given <= 1 ? 0 : 1) },
      ];
    case "":
    case "=":
      if (given === 0) return [];
      if (given === 3) return [{ op: "=", version: low }];
      return [
        { op: ">=", version: low },
        { op: "<", version: bump(low, given - 1) },
      ];
    case ">":
      return given === 3 || given === 0
        ? [{ op: ">", version: given === 0 ? [-1, 0, 0, ""] : low }]
        : [{ op: ">=", version: bump(low, given - 1) }];
    case "<=":
      return given === 3
        ? [{ op: "<=", version: low }]
        : [{ op: "<", version: bump(low, given - 1) }];
    default:
      return [{ op: op as Comparator["op"], version: low }];
  }
}

function test(c: Comparator, v: Version): boolean {
  const d = compare(v, c.version);
  switch (c.op) {
    case "<":
      return d < 0;
    case "<=":
      return d <= 0;
    case ">":
      return d > 0;
    case ">=":
      return d >= 0;
    default:
      return d === 0;
  }
}

/**
 * Whether `version` satisfies `range`. Throws a TypeError naming the range
 * when it is not one this reader understands.
 */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) throw new TypeError(`'${version}' is not a version`);
  return range.split("||").some((alternative) => {
    const text = alternative.trim();
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    const terms = hyphen
      ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`]
      : text
          .replace(/(\^|~|>=|<=|>|<|=)\s+/g, "$1")
          .split(/\s+/)
          .filter(Boolean);
    const set: Comparator[] = [];
    for (const term of terms) {
      const parsed = comparators(term);
      if (!parsed) throw new TypeError(`'${range}' is not a version range`);
      set.push(...parsed);
    }
    // A prerelease only satisfies a range that names a prerelease of the same version.
    if (
      v[3] &&
      !set.some(
        (c) =>
          c.version[3] &&
          c.version[3] !== "0" &&
          c.version.slice(0, 3).join() === v.slice(0, 3).join(),
      )
    )
      return false;
    return set.every((c) => test(c, v));
  });
}
