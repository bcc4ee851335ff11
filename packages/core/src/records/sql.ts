/** SQLite's current time in the ISO format every record's timestamps use. */
export const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/** What a run or model alias may look like (it travels in paths and on the wire). */
export const ALIAS_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/;
