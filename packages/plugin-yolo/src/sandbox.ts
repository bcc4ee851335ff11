import { accessSync, constants, existsSync, lstatSync, readlinkSync, realpathSync } from "node:fs";
import { delimiter, isAbsolute, join, relative } from "node:path";

/** What a sandboxed command may touch. */
export interface SandboxPolicy {
  /** The project root (the command's working directory). */
  readonly root: string;
  /** Read-write in act mode for `<sh>`; read-only for `<env>` and in ask mode. */
  readonly writable: boolean;
  /** Whether the command may use the network (RUMMY_SANDBOX_NETWORK). */
  readonly network: boolean;
  /** Folders the command must not see (RUMMY_HOME, the user's home). */
  readonly hidden: readonly string[];
}

/** The sentence a server without bubblewrap answers server-side execution with. */
export const INSTALL_BWRAP =
  "server-side commands run in a bubblewrap sandbox, and bwrap was not found on this server's PATH: " +
  "install it (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: `dnf install bubblewrap`; " +
  "Arch: `pacman -S bubblewrap`), or set RUMMY_SANDBOX=off to run commands unconfined (not recommended)";

/** System folders bound read-only so ordinary tools work; the rest of the host is not there. */
const SYSTEM = ["/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/** The path of an executable `bwrap` on PATH, or null. */
export function findBwrap(path: string | undefined = process.env.PATH): string | null {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, "bwrap");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

/** True when `path` is `parent` or below it. */
function within(parent: string, path: string): boolean {
  const rel = relative(parent, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * The bwrap arguments that run a command under `policy`: its own pid, ipc,
 * uts and (unless allowed) network namespaces, so the server's /proc and
 * loopback are not reachable; no capabilities; only the system folders
 * (read-only), a private /tmp, a fresh /proc and /dev, and the project —
 * read-write or read-only — with RUMMY_HOME and the user's home covered by
 * empty tmpfs where they would otherwise show. The sandbox dies with the
 * server, and killing bwrap takes every process in it along (the pid
 * namespace ends with its first process).
 */
export function sandboxArgs(policy: SandboxPolicy): string[] {
  const root = real(policy.root);
  const args = [
    "--unshare-all",
    ...(policy.network ? ["--share-net"] : []),
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
  ];
  const bound: string[] = [];
  for (const dir of SYSTEM) {
    const stats = lstatOrNull(dir);
    if (!stats) continue;
    if (stats.isSymbolicLink()) args.push("--symlink", readlinkSync(dir), dir);
    else if (stats.isDirectory()) {
      args.push("--ro-bind", dir, dir);
      bound.push(dir);
    }
  }
  // DNS on hosts where /etc/resolv.conf points into /run.
  if (policy.network && existsSync("/run/systemd/resolve"))
    args.push("--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve");
  args.push("--tmpfs", "/tmp");
  const hidden = policy.hidden.map(real);
  // A hidden folder below a system folder is covered before the project goes in (the project may lie inside it).
  for (const dir of hidden)
    if (dir !== root && bound.some((b) => within(b, dir))) args.push("--tmpfs", dir);
  args.push(policy.writable ? "--bind" : "--ro-bind", root, root);
  for (const dir of hidden) if (dir !== root && within(root, dir)) args.push("--tmpfs", dir);
  args.push("--chdir", root);
  return args;
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}
