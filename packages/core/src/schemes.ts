import type { Db } from "./db/open.js";
import { badRequest } from "./errors.js";
import {
  type Entry,
  SCHEME_CATEGORIES,
  SCOPE_KINDS,
  type SchemeCategory,
  type ScopeKind,
  WRITERS,
  type Writer,
} from "./types.js";

/** How an entry of a scheme is shown to the model at a given visibility. */
export type EntryRenderer = (entry: Entry) => string;

export interface SchemeDefinition {
  /** Lowercase scheme name: `known` for `known://…`; `file` for bare paths. */
  readonly name: string;
  readonly category?: SchemeCategory;
  readonly defaultScope?: ScopeKind;
  /** Tiers allowed to write. Tiers rank system > plugin > client > model; a tier may write wherever a lower tier may. */
  readonly writableBy?: readonly Writer[];
  readonly render?: {
    readonly visible?: EntryRenderer;
    readonly summarized?: EntryRenderer;
  };
}

export interface Scheme {
  readonly name: string;
  readonly category: SchemeCategory;
  readonly defaultScope: ScopeKind;
  readonly writableBy: readonly Writer[];
  readonly plugin: string | null;
  readonly render: NonNullable<SchemeDefinition["render"]>;
}

const RANK: Record<Writer, number> = { model: 0, client: 1, plugin: 2, system: 3 };
const NAME_RE = /^[a-z][a-z0-9+.-]*$/;

/** Whether `writer` may write entries of `scheme` (the tier hierarchy applied to `writableBy`). */
export function mayWrite(scheme: Scheme, writer: Writer): boolean {
  if (writer === "system") return true;
  return scheme.writableBy.some((tier) => RANK[writer] >= RANK[tier]);
}

/**
 * The schemes known to this core. Definitions live in memory (they carry
 * render functions) and are mirrored to the `schemes` table so SQL views
 * and external tools can see category, scope and permissions.
 */
export class SchemeRegistry {
  readonly #schemes = new Map<string, Scheme>();
  readonly #persist: (scheme: Scheme) => void;
  readonly #forget: (name: string) => void;

  constructor(db: Db) {
    const upsert = db.prepare(
      `INSERT INTO schemes (name, category, default_scope, writable_by, plugin)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET category = excluded.category,
         default_scope = excluded.default_scope, writable_by = excluded.writable_by,
         plugin = excluded.plugin`,
    );
    const remove = db.prepare("DELETE FROM schemes WHERE name = ?");
    this.#persist = (s) =>
      upsert.run(s.name, s.category, s.defaultScope, JSON.stringify(s.writableBy), s.plugin);
    this.#forget = (name) => remove.run(name);
  }

  /** Registers a scheme; returns a function that unregisters it. */
  register(definition: SchemeDefinition, plugin: string | null = null): () => void {
    const scheme = normalize(definition, plugin);
    const existing = this.#schemes.get(scheme.name);
    if (existing && existing.plugin !== plugin) {
      throw badRequest(
        `scheme '${scheme.name}' is already registered by ${existing.plugin ?? "the core"}`,
      );
    }
    this.#schemes.set(scheme.name, scheme);
    this.#persist(scheme);
    return () => {
      if (this.#schemes.get(scheme.name) === scheme) {
        this.#schemes.delete(scheme.name);
        this.#forget(scheme.name);
      }
    };
  }

  get(name: string): Scheme | undefined {
    return this.#schemes.get(name);
  }

  list(): Scheme[] {
    return [...this.#schemes.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

function normalize(def: SchemeDefinition, plugin: string | null): Scheme {
  if (!NAME_RE.test(def.name)) throw badRequest(`invalid scheme name '${def.name}'`);
  const category = def.category ?? "data";
  if (!SCHEME_CATEGORIES.includes(category)) {
    throw badRequest(`scheme '${def.name}': invalid category '${category}'`);
  }
  const defaultScope = def.defaultScope ?? "run";
  if (!SCOPE_KINDS.includes(defaultScope)) {
    throw badRequest(`scheme '${def.name}': invalid default scope '${defaultScope}'`);
  }
  const writableBy: Writer[] = [...new Set<Writer>(def.writableBy ?? ["plugin"])];
  for (const w of writableBy) {
    if (!WRITERS.includes(w)) throw badRequest(`scheme '${def.name}': invalid writer '${w}'`);
  }
  return {
    name: def.name,
    category,
    defaultScope,
    writableBy,
    plugin,
    render: { ...def.render },
  };
}
