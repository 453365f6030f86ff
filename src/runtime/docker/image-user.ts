/**
 * The user an instance's container runs as, from its image. A user given by number is judged
 * as a number (`0`, `00`, `0:0` are all root); a user given by name is looked up in the image's
 * own `/etc/passwd`, the file the engine itself resolves it through, because any name can map
 * to uid 0 there. The file is read with the Engine API's archive endpoint from a container
 * that is created but never started.
 */
import { isSlipwayError } from '../../core/errors.js';
import { readTarEntries } from '../../util/tar-entries.js';
import type { EngineApi } from './engine-api.js';
import { OWNER_LABEL } from './engine.js';
import { instanceUser, userNeedsPasswd } from './container-spec.js';
import { blankHandleLabels } from './container-handles.js';

// A passwd file larger than this is not a plausible one; it is treated as unreadable.
const MAX_PASSWD_BYTES = 1024 * 1024;

/** The user `image` (an image id) runs as: see {@link instanceUser}; named users via its /etc/passwd. */
export async function resolveInstanceUser(api: EngineApi, image: string, imageUser: string | undefined): Promise<string> {
  const passwd = userNeedsPasswd(imageUser) ? await readImagePasswd(api, image) : null;
  return instanceUser(imageUser, passwd);
}

/**
 * The text of `image`'s `/etc/passwd`, or null when it has none that is a regular file (a
 * symlink, say): a named user then cannot be resolved and falls back to the unprivileged one.
 */
export async function readImagePasswd(api: EngineApi, image: string): Promise<string | null> {
  const created = await api.json<{ Id: string }>({
    method: 'POST',
    path: '/containers/create',
    // Never started: the command only has to be present for the engine to accept the body. Every
    // label the driver reads is set blank: the image's own labels would otherwise be copied on
    // and could make this container look like an instance.
    json: {
      Image: image, Cmd: ['/nonexistent'], Entrypoint: [], NetworkDisabled: true,
      Labels: { ...blankHandleLabels(), [OWNER_LABEL]: 'true' }, HostConfig: { NetworkMode: 'none' },
    },
  });
  try {
    const body = await api.stream({ method: 'GET', path: `/containers/${created.Id}/archive`, query: { path: '/etc/passwd' }, timeoutMs: 30_000 });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_PASSWD_BYTES + 4096) {
        body.destroy();
        return null;
      }
      chunks.push(chunk);
    }
    const entries = readTarEntries(Buffer.concat(chunks));
    const file = entries.length === 1 ? entries[0] : undefined;
    return file === undefined ? null : file.data.toString('utf8');
  } catch (err) {
    if (isSlipwayError(err, 'not_found') || isSlipwayError(err, 'invalid_archive')) return null;
    throw err;
  } finally {
    await api.json({ method: 'DELETE', path: `/containers/${created.Id}`, query: { force: true } }).catch(() => {
      // Labelled: the engine's cleanup removes it if this did not.
    });
  }
}
