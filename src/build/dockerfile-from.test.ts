import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerfileBaseImages, dockerfileStages } from './dockerfile-from.js';
import { imageInRegistryUrl } from './dockerfile-build.js';

test('base images: every external FROM once, without scratch or earlier stages', () => {
  const dockerfile = [
    '# syntax=docker/dockerfile:1',
    'ARG NODE=20',
    'FROM --platform=$BUILDPLATFORM node:${NODE}-slim AS Deps',
    'RUN npm ci',
    'from deps as build',
    'RUN npm run build',
    'FROM scratch AS empty',
    'FROM gcr.io:443/distroless/nodejs:20 \\',
    '  AS runtime',
    'COPY --from=build /app /app',
    'FROM node:20-slim',
  ].join('\n');
  assert.deepEqual(dockerfileStages(dockerfile).map((s) => s.name), ['deps', 'build', 'empty', 'runtime', null]);
  assert.deepEqual(dockerfileBaseImages(dockerfile), ['node:20-slim', 'gcr.io:443/distroless/nodejs:20']);
});

test('a FROM whose variable has no default is left to the engine', () => {
  assert.deepEqual(dockerfileBaseImages('ARG BASE\nFROM ${BASE}\n'), []);
  assert.deepEqual(dockerfileBaseImages('ARG BASE=alpine:3\nFROM $BASE\n'), ['alpine:3']);
  // An ARG after the first FROM is a stage's, not in scope for later FROM lines.
  assert.deepEqual(dockerfileBaseImages('FROM a:1\nARG B=b:1\nFROM ${B}\n'), ['a:1']);
});

test('the image named in an engine registry error', () => {
  const message = 'failed to do request: Head "https://registry-1.docker.io/v2/library/node/manifests/20-slim": dial tcp: lookup registry-1.docker.io: no such host';
  assert.equal(imageInRegistryUrl(message), 'node:20-slim');
  assert.equal(imageInRegistryUrl('Head "https://ghcr.io/v2/acme/app/manifests/sha256:abc"'), 'acme/app@sha256:abc');
  assert.equal(imageInRegistryUrl('executor failed running [/bin/sh -c false]'), undefined);
});
