import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  checkRequestSource,
  parseAllowedOrigins,
  resolveToken,
  rotateToken,
  type SourcePolicy,
  tokenMatches,
} from "../src/index.js";

const policy: SourcePolicy = {
  host: "127.0.0.1",
  port: 3044,
  allowedOrigins: parseAllowedOrigins("https://app.example.test, http://localhost:5173"),
};

describe("checkRequestSource: the Origin/Host decision", () => {
  test("no Origin (a CLI, a script) with a loopback Host passes", () => {
    for (const host of ["127.0.0.1:3044", "localhost:3044", "[::1]:3044", "LOCALHOST", "127.5.6.7"])
      assert.deepEqual(checkRequestSource({ host }, policy), { ok: true }, host);
  });

  test("the server's own origins and the listed ones pass; trailing slashes and case do not matter", () => {
    for (const origin of [
      "http://127.0.0.1:3044",
      "http://localhost:3044",
      "http://[::1]:3044",
      "https://app.example.test",
      "https://APP.example.test/",
      "http://localhost:5173",
    ])
      assert.equal(checkRequestSource({ host: "localhost:3044", origin }, policy).ok, true, origin);
  });

  test("any other Origin is refused with 403", () => {
    fc.assert(
      fc.property(fc.webUrl(), (url) => {
        const origin = new URL(url).origin;
        fc.pre(!policy.allowedOrigins.has(origin));
        const decision = checkRequestSource({ host: "127.0.0.1:3044", origin }, policy);
        assert.equal(decision.ok, false, origin);
        assert.equal(!decision.ok && decision.status, 403);
      }),
      { numRuns: 300 },
    );
    for (const origin of [
      "null",
      "file://",
      "http://localhost:3045",
      "https://localhost:3044",
      "garbage",
    ])
      assert.equal(
        checkRequestSource({ host: "127.0.0.1:3044", origin }, policy).ok,
        false,
        origin,
      );
  });

  test("a Host that is not a loopback name or the configured host is refused (DNS rebinding)", () => {
    fc.assert(
      fc.property(fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 })), (domain, port) => {
        fc.pre(domain !== "localhost" && !domain.endsWith("."));
        const host = port === null ? domain : `${domain}:${port}`;
        assert.equal(checkRequestSource({ host }, policy).ok, false, host);
      }),
      { numRuns: 300 },
    );
    for (const host of [
      "",
      "192.168.1.5:3044",
      "user@127.0.0.1",
      "127.0.0.1/x",
      "localhost.evil.test",
    ])
      assert.equal(checkRequestSource({ host }, policy).ok, false, host);
    assert.equal(checkRequestSource({}, policy).ok, false, "no Host header at all");
  });

  test("a configured host is accepted; listening on every interface accepts address literals only", () => {
    assert.equal(
      checkRequestSource({ host: "rummy.lan:3044" }, { ...policy, host: "rummy.lan" }).ok,
      true,
    );
    const wildcard = { ...policy, host: "0.0.0.0" };
    assert.equal(checkRequestSource({ host: "192.168.1.5:3044" }, wildcard).ok, true);
    assert.equal(checkRequestSource({ host: "evil.example:3044" }, wildcard).ok, false);
  });

  test("a malformed RUMMY_ALLOWED_ORIGINS entry stops the boot", () => {
    assert.throws(
      () => parseAllowedOrigins("https://ok.test,not an origin"),
      /RUMMY_ALLOWED_ORIGINS/,
    );
  });
});

describe("tokens", () => {
  test("tokenMatches: equal strings only, any length, non-strings refused", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        assert.equal(tokenMatches(a, b), a === b);
      }),
    );
    for (const presented of [undefined, null, 42, {}, ["x"]])
      assert.equal(tokenMatches(presented, "x"), false);
  });

  test("the token file: created 0600 once, shared by every reader, repaired, rotated; env wins; off is off", () => {
    const home = mkdtempSync(join(tmpdir(), "rummy-token-"));
    try {
      assert.equal(
        resolveToken(home, {}, { create: false }).token,
        null,
        "readers do not invent one",
      );
      const first = resolveToken(home, {});
      assert.equal(first.created, true);
      assert.equal(statSync(first.path).mode & 0o777, 0o600);
      assert.equal(resolveToken(home, {}).token, first.token);
      writeFileSync(first.path, `${first.token}\n`, { mode: 0o644 });
      resolveToken(home, {});
      assert.equal(
        statSync(first.path).mode & 0o777,
        0o600,
        "a widened file is made private again",
      );
      const rotated = rotateToken(home);
      assert.notEqual(rotated.token, first.token);
      assert.equal(resolveToken(home, {}).token, rotated.token);
      assert.equal(statSync(first.path).mode & 0o777, 0o600);
      assert.equal(resolveToken(home, { RUMMY_TOKEN: "shell" }).token, "shell");
      assert.deepEqual(
        [
          resolveToken(home, { RUMMY_TOKEN: "off" }).token,
          resolveToken(home, { RUMMY_TOKEN: "off" }).source,
        ],
        [null, "off"],
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
