import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nsPattern, vethPattern } from '../runtime/local/instance-net.js';
import { buildNamePattern, buildRuleset, buildSlotNet, buildTableName, chooseBuildResolvers, parseBuildSubnet, parseNameservers } from './build-net-rules.js';
import { buildPath } from './build-path.js';
import { sandboxedArgv, sandboxEnvArgs } from './build-sandbox.js';

const subnet = parseBuildSubnet('10.214.0.0/16');

test('build slots get their own /30 and names no instance cleanup (or other platform) matches', () => {
  assert.deepEqual(buildSlotNet('slwab12', subnet, 0), { name: 'slwab12-b0', hostIp: '10.214.0.1', buildIp: '10.214.0.2' });
  assert.deepEqual(buildSlotNet('slwab12', subnet, 65), { name: 'slwab12-b65', hostIp: '10.214.1.5', buildIp: '10.214.1.6' });
  const name = buildSlotNet('abcdefgh', subnet, 16_383).name;
  assert.ok(name.length <= 15, `${name} fits an interface name`);
  assert.ok(buildNamePattern('slwab12').test('slwab12-b3'));
  for (const other of ['slwab12-3', 'slwab12v3', 'slwab12b-b3', 'slwab1-b3']) assert.ok(!buildNamePattern('slwab12').test(other), other);
  // The instance driver's sweep must never take a build's namespace or veth, nor the other way round.
  assert.ok(!nsPattern('slwab12').test('slwab12-b3') && !vethPattern('slwab12').test('slwab12-b3'));
  assert.notEqual(buildTableName('slwab12'), 'slipway_slwab12');
  assert.throws(() => parseBuildSubnet('10.214.0.0/24'), /SLIPWAY_BUILD_SUBNET/);
});

test('the build firewall drops the host, private ranges, metadata and instances, and masquerades the rest', () => {
  const rules = buildRuleset({ label: 'slwab12', subnet, instanceSubnet: '10.213.0.0/16', egress: 'eth0', resolvers: ['10.255.255.53', '127.0.0.53'] });
  assert.match(rules, /^table inet slipway_slwab12_build \{\}\ndelete table inet slipway_slwab12_build\n/, 'replaced atomically');
  assert.match(rules, /chain input \{[^}]*iifname "slwab12-b\*" drop/);
  assert.match(rules, /oifname "slwab12-b\*" ct state established,related accept\n\s*oifname "slwab12-b\*" drop/, 'nothing enters a build but replies');
  const blocked = /iifname "slwab12-b\*" ip daddr \{ ([^}]*) \} drop/.exec(rules)?.[1] ?? '';
  for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', '10.213.0.0/16', '10.214.0.0/16']) {
    assert.ok(blocked.includes(range), `${range} is dropped`);
  }
  // DNS to the host's resolver is let through before the private ranges are dropped; a loopback one is not.
  assert.ok(rules.indexOf('10.255.255.53 } meta l4proto { tcp, udp } th dport 53 accept') < rules.indexOf('ip daddr { 0.0.0.0/8'));
  assert.ok(!rules.includes('127.0.0.53'));
  assert.match(rules, /iifname "slwab12-b\*" oifname != "eth0" drop/);
  assert.match(rules, /ip saddr 10\.214\.0\.0\/16 oifname "eth0" masquerade/);
  assert.deepEqual(parseNameservers('# x\nnameserver 10.0.0.2\nsearch lan\n nameserver ::1\n'), ['10.0.0.2', '::1']);
});

test('a host that did not route before only lets replies to builds in through its egress interface', () => {
  const base = { label: 'slwab12', subnet, instanceSubnet: '10.213.0.0/16', egress: 'eth0', resolvers: [] };
  assert.match(buildRuleset({ ...base, dropInboundNew: true }), /iifname "eth0" ct state new drop\n  \}\n  chain postrouting/, 'the last rule of the forward chain');
  // A host that already routed (Docker's published ports, say) keeps routing as it did.
  assert.doesNotMatch(buildRuleset({ ...base, dropInboundNew: false }), /iifname "eth0" ct state new drop/);
});

test('a build joining its namespace starts as root with a fixed environment and drops to the build user before bubblewrap', () => {
  const argv = sandboxedArgv(
    { bwrap: '/usr/bin/bwrap', hide: ['/root', '/var/tmp'], root: ['--ro-bind', '/usr', '/usr'], net: { nsenter: '/usr/bin/nsenter', setpriv: '/usr/bin/setpriv' } },
    { cwd: '/w/1/src', writable: '/w/1', netns: 'slwab12-b0', user: { uid: 100_000, gid: 100_000 } },
    ['/bin/sh', '-c', 'npm ci; echo $HOME'],
  );
  assert.deepEqual(argv.slice(0, 3), ['/usr/bin/nsenter', '--net=/run/netns/slwab12-b0', '--']);
  const setpriv = argv.indexOf('/usr/bin/setpriv');
  const bwrap = argv.indexOf('/usr/bin/bwrap');
  assert.ok(setpriv > 0 && setpriv < bwrap);
  assert.ok(argv.slice(setpriv, bwrap).includes('--reuid=100000') && argv.slice(setpriv, bwrap).includes('--bounding-set=-all'));
  assert.deepEqual(argv.slice(bwrap + 5, bwrap + 8), ['--clearenv', '--args', '3'], 'the build environment comes through fd 3');
  assert.ok(argv.join(' ').includes('--tmpfs /var/tmp'), 'other homes\' build trees are hidden');
  assert.deepEqual(argv.slice(-4), ['--', '/bin/sh', '-c', 'npm ci; echo $HOME'], 'the command stays one argument');
  assert.equal(sandboxEnvArgs({ A: 'x y', B: '' }), '--setenv\0A\0x y\0--setenv\0B\0\0');
  // Without a namespace (no build network), bubblewrap runs as the caller with the environment it was given.
  const plain = sandboxedArgv({ bwrap: '/usr/bin/bwrap', hide: [], root: [] }, { cwd: '/w', writable: '/w' }, ['true']);
  assert.equal(plain[0], '/usr/bin/bwrap');
  assert.ok(!plain.includes('--clearenv'));
});

test('the build PATH is the system folders plus Node\'s and Go\'s own, never the server\'s', () => {
  assert.equal(buildPath('/usr/bin/node', false), '/usr/local/bin:/usr/bin:/bin');
  assert.equal(buildPath('/opt/node-v20/bin/node', true), '/usr/local/bin:/usr/bin:/bin:/opt/node-v20/bin:/usr/local/go/bin');
});

test('builds query the host\'s resolvers, or systemd-resolved\'s upstreams when the host names only its loopback stub', () => {
  assert.deepEqual(chooseBuildResolvers('nameserver 10.255.255.53\n', null), { resolvers: ['10.255.255.53'] });
  assert.deepEqual(chooseBuildResolvers('nameserver 127.0.0.53\n', 'nameserver 192.0.2.53\nnameserver 127.0.0.1\n'), {
    resolvers: ['192.0.2.53'], resolvConf: '/run/systemd/resolve/resolv.conf',
  });
  assert.deepEqual(chooseBuildResolvers('nameserver 127.0.0.53\n', null), { resolvers: [] });
});
