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
  /** Where the built site is (static only); replaces the detected folder. */
  outputPath?: string;
  /**
   * Publish the files with no detection, no build and no `build_required` refusal (the release
   * rules still leave out files never served; nothing is marked immutable). Static only.
   */
  asIs?: boolean;
  /** The `PATH` tools are looked up in (default `BUILD_PATH`); the build sees the same one. */
  pathEnv?: string;
  /**
   * True when this host builds a root `Dockerfile` into an image and runs it as containers
   * (SLIPWAY_RUNTIME_DRIVER=docker); false (default): a Dockerfile is refused with
   * `dockerfile_requires_container_driver` unless a run command says to run the source as a process.
   */
  containerImages?: boolean;
}

/**
 * The source is a static site: install and build (when there is anything to build), then
 * package the output folder with the static builder.
 */
export interface StaticAppPlan {
  kind: 'static';
  /** How it was recognised, for humans: a framework id (`vite`, `astro`, …) or `static` for plain files. */
  detected: string;
  /** Why each choice was made, one line each, for `slipway detect` and the build log. */
  reasons: string[];
  /** As for a dynamic app: package managers the host lacks, fetched for the build. */
  fetchTools?: string[];
  /** Install steps (devDependencies included), each an argument vector run in the source root. Empty for plain files. */
  install: string[][];
  /** Run by `/bin/sh -c` after the install steps: the user's, or the detected one. */
  buildCommand?: string;
  /**
   * Where the site is, relative to the source root (`''` is the root). Absent: the root when
   * nothing is built, else the first of `dist`, `build`, `out`, `public` that the build made.
   */
  outputPath?: string;
}

/** The source is an app to run. */
export interface DynamicAppPlan {
  kind: 'dynamic';
  /** How it was recognised, for humans: `node (npm)`, `python`, `go`, `explicit`. */
  detected: string;
  /** Why each choice was made, one line each, for `slipway detect` and the build log. */
  reasons: string[];
  /**
   * npm package specs (`pnpm@9`) installed into the build's own tool folder, which is on the
   * build's `PATH`, before the install steps: a package manager the host lacks.
   */
  fetchTools?: string[];
  /** Install steps, each an argument vector run in the app directory (never through a shell). */
  install: string[][];
  /** Run by `/bin/sh -c` after the install steps: the user's, or the detected one. */
  buildCommand?: string;
  /**
   * Starts the app, by `/bin/sh -c` in the release's app directory (in the image, for a
   * Dockerfile build; empty there means the image's own CMD/ENTRYPOINT).
   */
  runCommand: string;
  port: number;
  /**
   * A folder of the built tree (`.next/standalone`) that is the whole release: only it is
   * packaged, and the run command starts there. Absent: the whole tree.
   */
  packageRoot?: string;
  /**
   * Set for a source built from its Dockerfile (this path, relative to the source root) into an
   * image by the host's Docker engine: `install` is then empty and there is no build command;
   * the Dockerfile's steps are the build.
   */
  dockerfile?: string;
}

/** The plan for one source tree. */
export type AppPlan = StaticAppPlan | DynamicAppPlan;

/** The port an app is given when the publish names none. */
export const DEFAULT_PORTS = { node: 3000, python: 8000, go: 8080, elixir: 4000, explicit: 3000 } as const;
