import { SlipwayError } from '../core/errors.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import { normalizeEntryPath, unsafeEntry } from './archive/entry-path.js';
import { readBody, type TarReadEntry } from './archive/tar-read-entry.js';
import { TREE_KIND_BY_TYPE, unpackTree, type Placement } from './archive/unpack-tree.js';
import { DEFAULT_MAX_APP_BYTES, DYNAMIC_APP_DIR } from './dynamic-packager.js';

const MAX_MANIFEST_BYTES = 1024 * 1024;

/**
 * Unpacks a dynamic release into `destDir` (created when missing, must be empty) and returns
 * its manifest; this is how an agent gets an app ready to run, so it is on the path from
 * "promoted" to "first response". One pass: each entry is checked before it is written, and
 * the writes run several at a time (archive/unpack-tree.ts). `release.json` must come first and be
 * a valid manifest (`invalid_archive`); every other entry must be a directory, file or symlink
 * under `app/` with a safe name, and every symlink must stay inside the app once the other
 * links are followed (`unsafe_archive`: absolute paths, `..`, links leaving `destDir`, hard
 * links, devices). That last check needs every link, so it runs at the end; until then no
 * entry was written through a link (none may sit under one). Files keep their executable bit
 * (0755 or 0644). On failure `destDir` is left empty.
 */
export async function extractDynamicRelease(releasePath: string, destDir: string): Promise<DynamicReleaseManifest> {
  const limits = { maxUploadBytes: Number.MAX_SAFE_INTEGER, maxUnpackedBytes: DEFAULT_MAX_APP_BYTES, maxFiles: Number.MAX_SAFE_INTEGER };
  let manifest: DynamicReleaseManifest | undefined;
  await unpackTree({
    read: { archivePath: releasePath, gzip: true },
    destDir,
    limits,
    place: async (entry, index) => {
      if (index > 0) return classify(entry);
      manifest = await readReleaseManifest(entry);
      if (manifest.image !== undefined) throw invalid('it holds an image (image.tar), which a container driver runs, not an app tree');
      return 'taken';
    },
    verify: () => {
      if (manifest === undefined) throw invalid('the release is empty');
    },
  });
  return manifest as DynamicReleaseManifest;
}

/** The image id a manifest may name: `sha256:` and 64 hex digits. */
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

/**
 * Reads and checks a dynamic release's first entry, `release.json` (`invalid_archive` when it is
 * anything else). An image release ({@link DynamicReleaseManifest.image}) may have an empty run
 * command (the image's own); an app tree's may not.
 */
export async function readReleaseManifest(entry: TarReadEntry): Promise<DynamicReleaseManifest> {
  if (entry.path !== RELEASE_MANIFEST_ENTRY || entry.type !== 'File') throw invalid(`the first entry is not ${RELEASE_MANIFEST_ENTRY}`);
  if (entry.size > MAX_MANIFEST_BYTES) throw invalid(`${RELEASE_MANIFEST_ENTRY} is too large`);
  const body = await readBody(entry);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid(`${RELEASE_MANIFEST_ENTRY} is not JSON`);
  }
  const m = raw as Partial<DynamicReleaseManifest> | null;
  const image = m !== null && typeof m === 'object' && typeof m.image === 'string' && IMAGE_ID.test(m.image) ? m.image : undefined;
  const ok = m !== null && typeof m === 'object' && m.format === 1 && m.kind === 'dynamic'
    && (m.image === undefined || image !== undefined)
    && typeof m.run_command === 'string' && (m.run_command !== '' || image !== undefined) && typeof m.detected === 'string'
    && Number.isInteger(m.port) && (m.port as number) >= 1 && (m.port as number) <= 65535;
  if (!ok) throw invalid(`${RELEASE_MANIFEST_ENTRY} is not a dynamic release manifest`);
  return {
    format: 1, kind: 'dynamic', run_command: m.run_command as string, port: m.port as number, detected: m.detected as string,
    ...(image === undefined ? {} : { image }),
  };
}

/** The entry's place under `destDir`, or `root` for `app/` itself. */
function classify(entry: TarReadEntry): Placement {
  const kind = TREE_KIND_BY_TYPE[entry.type];
  if (kind === undefined) throw unsafeEntry(entry.path, `${entry.type} entries are not allowed`);
  const full = normalizeEntryPath(entry.path);
  if (full === DYNAMIC_APP_DIR) {
    if (kind === 'dir') return 'root';
    throw unsafeEntry(entry.path, 'the app root must be a directory');
  }
  if (!full.startsWith(`${DYNAMIC_APP_DIR}/`)) throw unsafeEntry(entry.path, `entry outside ${DYNAMIC_APP_DIR}/`);
  return { raw: entry.path, path: full.slice(DYNAMIC_APP_DIR.length + 1), kind, size: entry.size, linkpath: entry.linkpath };
}

function invalid(message: string): SlipwayError {
  return new SlipwayError('invalid_archive', `dynamic release: ${message}`);
}
