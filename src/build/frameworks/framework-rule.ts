import type { DynamicAppPlan, StaticAppPlan } from '../app-plan.js';
import type { SourceFacts } from './source-facts.js';

/** The ecosystems a rule belongs to; the docs page groups by them. */
export const ECOSYSTEMS = ['docker', 'node', 'python', 'go', 'elixir', 'hugo', 'ruby', 'static'] as const;
export type Ecosystem = (typeof ECOSYSTEMS)[number];

/**
 * What a rule found for a server app. `runCommand` is absent when the source does not say how to
 * start it; `canBeStatic` then lets an `auto` publish fall back to a static site (a Node project
 * whose `build` script makes one).
 */
export interface AppDetection extends Omit<DynamicAppPlan, 'runCommand'> {
  runCommand?: string;
  canBeStatic: boolean;
  /**
   * With a `packageRoot`: how to start the app from the whole tree instead, for when the user's
   * build command replaces the one that makes that folder (`next start`).
   */
  runWithoutPackageRoot?: string;
}

/** A rule's answer: a static site with its build, or an app to run. */
export type Detection = StaticAppPlan | AppDetection;

/** What the generated docs page says about a rule (docs/detection.md). */
export interface RuleSummary {
  /** What is installed and built, e.g. `npm ci --include=dev`, `npm run build`. */
  build: string;
  /** What is published: a folder (`static: dist`) or what runs (`node build`). */
  serves: string;
  /** The port convention, for an app. */
  port?: number;
}

/**
 * One row of the detection table ({@link FRAMEWORKS}). Rules are tried in order; the first
 * that answers non-null wins, so framework rules come before the generic ecosystem ones.
 */
export interface FrameworkRule {
  /** Stable id, shown as `detected` (`vite`, `nextjs`, `python`). */
  id: string;
  name: string;
  ecosystem: Ecosystem;
  /** One line: what in the source makes this rule match. */
  looksFor: string;
  summary: RuleSummary;
  /**
   * Null when the source is not this framework; otherwise its plan and the reasons. May throw a
   * `SlipwayError` (`build_toolchain_missing`, `dockerfile_requires_container_driver`, …).
   */
  detect(facts: SourceFacts): Promise<Detection | null>;
}
