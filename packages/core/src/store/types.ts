import type { Attributes, EntryState, Visibility, Writer } from "../types.js";

/** Where a write or read happens: inside a run (through its views) or at project/global level. */
export interface Locus {
  /** The run whose view is read or written. Implies the project. */
  readonly runId?: number;
  /** Required for project-scoped entries when no run is given. */
  readonly projectId?: number;
}

export interface SetInput extends Locus {
  readonly path: string;
  /** New body. Omitted: the body is left as it is (or empty on create). */
  readonly body?: string;
  /** Append `body` to the existing body instead of replacing it. */
  readonly append?: boolean;
  readonly state?: EntryState;
  /** Why an entry failed or was cancelled (`permission:403`, `exit:1`). `null` clears it. */
  readonly outcome?: string | null;
  readonly visibility?: Visibility;
  /** Shallow-merged into the existing attributes; a `null` value deletes the key. */
  readonly attributes?: Attributes;
  readonly turn?: number;
  readonly loopId?: number | null;
  readonly writer?: Writer;
}

/** A bulk change of the run's views of every entry matching a glob. Bodies never change in bulk. */
export interface SetPatternInput extends Locus {
  readonly pattern: string;
  readonly state?: EntryState;
  readonly outcome?: string | null;
  readonly visibility?: Visibility;
  readonly attributes?: Attributes;
  readonly writer?: Writer;
  /** Only entries whose view is currently in one of these visibilities. */
  readonly whereVisibility?: Visibility | readonly Visibility[];
  /** Only entries whose body matches (glob; plain text matches as a substring). */
  readonly bodyFilter?: string;
}

export interface WriteResult {
  readonly ok: boolean;
  /** HTTP-style status of the write: the entry's projected status, or why it failed. */
  readonly status: number;
  readonly path: string;
  readonly state?: EntryState;
  readonly outcome?: string | null;
  readonly entryId?: number;
  readonly created?: boolean;
  /** How many entries a pattern or removal touched. */
  readonly count?: number;
  readonly paths?: readonly string[];
  /** A sentence for whoever made the write when it did not succeed. */
  readonly error?: string;
}

export interface GetQuery extends Locus {
  /** An exact path. */
  readonly path?: string;
  /** A glob over paths (`known://*`, `src/*.ts`); `*` crosses `/`. */
  readonly pattern?: string;
  /** A glob over bodies; text without wildcards matches as a substring. */
  readonly bodyFilter?: string;
  readonly scheme?: string | readonly string[];
  readonly state?: EntryState | readonly EntryState[];
  readonly visibility?: Visibility | readonly Visibility[];
  /** Leave bodies out (empty strings) when only metadata is needed. Default true. */
  readonly includeBody?: boolean;
  /**
   * Read only these top-level keys of each entry's attributes (the others are left out, as are
   * keys the entry does not have): a reader that needs a field or two of a large record does not
   * pay for copying and parsing all of it. Default: all of them.
   */
  readonly attributeKeys?: readonly string[];
  readonly order?: "path" | "id" | "updated";
  readonly limit?: number;
  readonly offset?: number;
}

/** What `sizes` filters by: `get`'s filters, without what shapes whole entries. */
export type SizesQuery = Omit<
  GetQuery,
  "includeBody" | "attributeKeys" | "order" | "limit" | "offset"
>;

/** One entry's size as `sizes` reads it. */
export interface EntrySize {
  readonly path: string;
  readonly scheme: string;
  /** The run's view of it (null outside a run). */
  readonly visibility: Visibility | null;
  /** Full tokens of the body. */
  readonly tokens: number;
}

export interface RemoveInput extends Locus {
  readonly path?: string;
  readonly pattern?: string;
  /** With a pattern: only entries whose body matches. */
  readonly bodyFilter?: string;
  readonly writer?: Writer;
}

export interface CopyInput extends Locus {
  readonly from: string;
  readonly to: string;
  readonly writer?: Writer;
  readonly turn?: number;
  readonly loopId?: number | null;
  readonly visibility?: Visibility;
}

export type StoreChange =
  | {
      readonly op: "set";
      readonly runId: number | null;
      readonly path: string;
      readonly scope: string;
      readonly state: EntryState | null;
      readonly visibility: Visibility | null;
      readonly created: boolean;
      readonly appended: boolean;
      readonly writer: Writer;
    }
  | {
      readonly op: "rm";
      readonly runId: number | null;
      readonly path: string;
      readonly scope: string;
      readonly writer: Writer;
    };

export type StoreObserver = (change: StoreChange) => void;
