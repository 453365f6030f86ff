import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerfileExposedPort } from './dockerfile-expose.js';

const port = (dockerfile: string): number | undefined => dockerfileExposedPort(dockerfile)?.port;

test('the first TCP port of the final stage: UDP, ranges, protocols and case', () => {
  assert.equal(port('FROM a\nEXPOSE 3000\n'), 3000);
  assert.equal(port('FROM a\nexpose 53/udp 8000/TCP\n'), 8000);
  assert.equal(port('FROM a\nEXPOSE 53/udp\nEXPOSE 7000-7005\n'), 7000, 'a range gives its first port');
  assert.equal(port('FROM a\nEXPOSE 0 70000 abc 4000\n'), 4000, 'impossible ports are passed over');
  assert.equal(port('FROM a\nEXPOSE \\\n  5000\n'), 5000, 'continuation lines');
  assert.equal(port('FROM a\n# EXPOSE 1234\n'), undefined, 'a comment is not an EXPOSE');
  assert.equal(port('EXPOSE 1234\nFROM a\n'), undefined, 'nothing before the first FROM counts');
});

test('only the final stage, or the earlier stage it is built FROM', () => {
  assert.equal(port('FROM a AS build\nEXPOSE 3000\nFROM b\nCOPY --from=build /x /x\n'), undefined, 'another stage\'s EXPOSE is not inherited by COPY');
  const inherited = dockerfileExposedPort('FROM a AS Base\nEXPOSE 3000\nFROM base AS run\nRUN x\nFROM run\n');
  assert.deepEqual(inherited, { port: 3000, line: 'EXPOSE 3000', inheritedFrom: 'base' });
  assert.deepEqual(dockerfileExposedPort('FROM a AS base\nEXPOSE 3000\nFROM base\nEXPOSE 4000\n'), { port: 4000, line: 'EXPOSE 4000', inheritedFrom: null });
  // FROM names only earlier stages: a stage defined later is an image of that name, not the parent.
  assert.equal(port('FROM y AS x\nFROM b AS y\nEXPOSE 1\nFROM x\n'), undefined);
  assert.equal(port('FROM a AS b\nEXPOSE 1\nFROM c AS d\nFROM b\n'), 1);
});

test('variables: ENV and ARG values in the stage, global ARG defaults brought in by ARG', () => {
  assert.equal(port('FROM a\nENV PORT=5000\nEXPOSE $PORT\n'), 5000);
  assert.equal(port('FROM a\nENV PORT 5001\nEXPOSE ${PORT}/tcp\n'), 5001, 'the old ENV NAME value form');
  assert.equal(port('ARG P=6000\nFROM a\nARG P\nEXPOSE $P\n'), 6000);
  assert.equal(port('ARG P=6000\nFROM a\nEXPOSE $P\n'), undefined, 'a global ARG is not in scope until the stage declares it');
  assert.equal(port('FROM a\nARG P\nEXPOSE $P 7000\n'), 7000, 'an unknown value is passed over');
});
