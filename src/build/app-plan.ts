/**
 * What {@link detectApp} decides about a source tree: a static site (left to the static
 * builder) or a dynamic app with the steps that install, build and start it.
 */

/** The `kind` a publish asks for; `auto` lets the source decide. */
export const REQUESTED_KINDS = ['auto', 'static', 'dynamic'] as const;
export type RequestedKind = (typeof REQUESTED_KINDS)[number];

/** Options for `detectApp`, from the publish. */
export interface DetectAppOptions {
  kind: RequestedKind;
  /** The user's build command; replaces the detected one (`npm run build`, `go build …`). */
  buildCommand?: string;
  /** The user's run command; makes the app dynamic and replaces the detected one. */
  runCommand?: string;
  /** The port the app listens on; default per ecosystem ({@link DEFAULT_PORTS}). */
  port?: number;
  /** The `PATH` tools are looked up in (default `BUILD_PATH`); the build sees the same one. */
  pathEnv?: string;
}

/** The source is a static site: build (if asked) and package it with the static builder. */
export interface StaticAppPlan {
  kind: 'static';
}

/** The source is an app to run. */
export interface DynamicAppPlan {
  kind: 'dynamic';
  /** How it was recognised, for humans: `node (npm)`, `python`, `go`, `explicit`. */
  detected: string;
  /**
   * npm package specs (`pnpm@9`) installed into the build's own tool folder, which is on the
   * build's `PATH`, before the install steps: a package manager the host lacks.
   */
  fetchTools?: string[];
  /** Install steps, each an argument vector run in the app directory (never through a shell). */
  install: string[][];
  /** Run by `/bin/sh -c` after the install steps: the user's, or the detected one. */
  buildCommand?: string;
  /** Starts the app, by `/bin/sh -c` in the release's app directory. */
  runCommand: string;
  port: number;
}

/** The plan for one source tree. */
export type AppPlan = StaticAppPlan | DynamicAppPlan;

/** The port an app is given when the publish names none. */
export const DEFAULT_PORTS = { node: 3000, python: 8000, go: 8080, elixir: 4000, explicit: 3000 } as const;

/**
 * What one ecosystem detector found. `runCommand` is absent when the source does not say how
 * to start it; `canBeStatic` then lets an `auto` publish fall back to a static site.
 */
export interface EcosystemPlan {
  detected: string;
  fetchTools?: string[];
  install: string[][];
  buildCommand?: string;
  runCommand?: string;
  port: number;
  canBeStatic: boolean;
}
