#!/usr/bin/env node
// Development launcher: runs the TypeScript sources through tsx. Published
// builds point the bin at dist/main.js instead.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
