#!/usr/bin/env node
// `npm run test:vm`: the isolation tests of the local runtime driver on a real cgroup v2 kernel.
// Current distributions boot with cgroup v2 only, while this project's development and CI
// hosts are cgroup v1, so the v2 code would otherwise never meet a kernel. This boots a Debian
// kernel under qemu (software emulation: no KVM needed) with a root file system built from
// Debian packages (scripts/vm/build-image.sh, cached by its inputs), shares the repository
// read-only over 9p, runs the test files inside, and fails when any test fails or is skipped.
//
// Needs root and Debian's qemu-system-x86, mmdebstrap, cpio and kmod (`.ci/run` installs them).
// SLIPWAY_VM_CACHE: where images are kept (default /var/cache/slipway-vm as root).
// SLIPWAY_VM_TIMEOUT_S: the whole guest run's limit (default 1500).
// Usage: npm run test:vm [-- <test file> ...]
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_FILES = [
  'src/runtime/local/local-driver.test.ts',
  'src/runtime/local/local-driver-scratch.test.ts',
  'src/runtime/local/local-driver.conformance.test.ts',
];
const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : DEFAULT_FILES;

const fail = (message) => {
  console.error(`test:vm: ${message}`);
  process.exit(1);
};
if (process.getuid?.() !== 0) fail('needs root (the guest image is built with mmdebstrap and the tests run as root inside)');
for (const tool of ['qemu-system-x86_64', 'mmdebstrap', 'cpio', 'depmod']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    fail(`${tool} is missing: apt-get install qemu-system-x86 mmdebstrap cpio kmod`);
  }
}
if (!existsSync(join(root, 'node_modules', 'tsx'))) fail('node_modules is missing: run npm ci first');

// The image depends on its two scripts, the kernel Debian offers and the node binary copied in.
const kernel = spawnSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' }).stdout.match(/Depends: (linux-image-\d\S*)/)?.[1];
if (!kernel) fail('apt-cache knows no linux-image-amd64: run apt-get update first');
const key = createHash('sha256')
  .update(readFileSync(join(root, 'scripts/vm/build-image.sh')))
  .update(readFileSync(join(root, 'scripts/vm/guest-init.sh')))
  .update(`${kernel} ${process.version} ${process.execPath}`)
  .digest('hex')
  .slice(0, 16);
const cache = process.env.SLIPWAY_VM_CACHE ?? '/var/cache/slipway-vm';
const image = join(cache, key);
const started = Date.now();
if (!existsSync(join(image, 'initrd.cpio.gz'))) {
  console.log(`test:vm: building the guest image in ${image}`);
  const built = spawnSync(join(root, 'scripts/vm/build-image.sh'), [image], { stdio: 'inherit' });
  if (built.status !== 0) fail('the guest image did not build');
  console.log(`test:vm: image built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // Images of other inputs (an older kernel, node or script) are not used again: ~100 MB each.
  for (const name of readdirSync(cache)) {
    if (/^[0-9a-f]{16}$/.test(name) && name !== key) rmSync(join(cache, name), { recursive: true, force: true });
  }
} else {
  console.log(`test:vm: using the cached guest image ${image}`);
}

const out = mkdtempSync(join(tmpdir(), 'slipway-vm-out-'));
const argv = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...files];
writeFileSync(join(out, 'cmd.sh'), [
  'export HOME=/root CI=true SLIPWAY_TEST_VM=1',
  `exec node ${argv.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')}`,
  '',
].join('\n'));

const timeoutS = Number(process.env.SLIPWAY_VM_TIMEOUT_S ?? 1500);
const qemu = spawn('qemu-system-x86_64', [
  '-machine', 'pc', '-cpu', 'max', '-smp', '2', '-m', '3072', '-nographic', '-no-reboot', '-nic', 'none',
  '-kernel', join(image, 'vmlinuz'), '-initrd', join(image, 'initrd.cpio.gz'),
  '-append', 'console=ttyS0 quiet panic=-1 rdinit=/init',
  '-virtfs', `local,path=${root},mount_tag=repo,security_model=none,readonly=on`,
  '-virtfs', `local,path=${out},mount_tag=out,security_model=none`,
], { stdio: ['ignore', 'pipe', 'inherit'] });
// The serial console: the guest's own output, without the terminal control codes of the BIOS.
qemu.stdout.on('data', (chunk) => process.stdout.write(chunk.toString('utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '')));
const timer = setTimeout(() => {
  console.error(`test:vm: the guest did not finish within ${timeoutS} s`);
  qemu.kill('SIGKILL');
}, timeoutS * 1000);
qemu.on('exit', () => {
  clearTimeout(timer);
  const code = existsSync(join(out, 'exit')) ? Number(readFileSync(join(out, 'exit'), 'utf8').trim()) : null;
  const log = existsSync(join(out, 'log')) ? readFileSync(join(out, 'log'), 'utf8') : '';
  rmSync(out, { recursive: true, force: true });
  const count = (name) => Number(log.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
  const [passed, failed, skipped] = [count('pass'), count('fail'), count('skipped')];
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (code === null) fail(`the guest stopped without a result after ${seconds} s`);
  if (code !== 0 || failed > 0) fail(`tests failed in the guest (exit ${code}) after ${seconds} s`);
  if (!(passed > 0)) fail('the guest ran no test');
  // A skip here means the guest lacked what the tests are for: that is a failure, not a pass.
  if (skipped > 0) fail(`${skipped} test(s) skipped in the guest: the cgroup v2 sandbox was not used`);
  console.log(`test:vm: ${passed} passed in the cgroup v2 guest, ${seconds} s in all`);
});
