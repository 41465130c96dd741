// Image names and image_id references: canonical forms, refusals naming field/value/rule, names
// taken from archive tags and file names, and docker refs fully qualified (a short name would
// match any local image ending with it, another user's import included).

import { describe, expect, it } from 'vitest';
import { StintError } from '../core/errors.js';
import { canonicalName, nameFromArchiveTag, nameFromFileName, parseImageId, qualifyDockerRef, validateImageName } from './image-names.js';

describe('image names', () => {
  it('adds :latest when no tag is written, keeps a tag and a path', () => {
    expect(canonicalName('python')).toBe('python:latest');
    expect(canonicalName('python:3.11')).toBe('python:3.11');
    expect(canonicalName('lab/base-env:v2')).toBe('lab/base-env:v2');
    expect(canonicalName('ghcr.io/org/x:1')).toBe('ghcr.io/org/x:1');
  });

  it('refuses names with upper case, spaces, options or digests, naming the field, value and rule', () => {
    for (const bad of ['Python', 'a b', '--rm', '-x', 'a//b', 'x@sha256:00', '', 'a:', 'x'.repeat(201)]) {
      expect(canonicalName(bad)).toBeNull();
    }
    const error = (() => { try { validateImageName('Bad!', 'name'); } catch (e) { return e as StintError; } })();
    expect(error?.details).toMatchObject({ field: 'name', value: 'Bad!' });
    expect(error?.message).toMatch(/accepted: lower-case letters/);
  });

  it('takes a name from an archive tag or a file name', () => {
    expect(nameFromArchiveTag('docker.io/library/python:3.11')).toBe('python:3.11');
    expect(nameFromArchiveTag('localhost/stint/env:1')).toBe('env:1');
    expect(nameFromArchiveTag('1.0')).toBeNull();
    expect(nameFromArchiveTag(null)).toBeNull();
    expect(nameFromFileName('/x/My Env.tar.gz')).toBe('my-env:latest');
    expect(nameFromFileName('layout')).toBe('layout:latest');
    expect(nameFromFileName('...')).toBeNull();
  });
});

describe('image_id', () => {
  it('parses stint:, docker: and oci:, refusing anything else with what is accepted', () => {
    expect(parseImageId('stint:env')).toEqual({ kind: 'stint', name: 'env:latest' });
    expect(parseImageId('docker:python:3.11')).toEqual({ kind: 'docker', ref: 'python:3.11' });
    expect(parseImageId('oci:/data/layout')).toEqual({ kind: 'oci', dir: '/data/layout' });
    for (const bad of ['python:3.11', 'docker:', 'docker:--privileged', 'docker:a b']) {
      expect(() => parseImageId(bad)).toThrow(/resources\.image_id/);
    }
  });

  it('qualifies docker refs as Docker Hub reads them and refuses stint\'s own namespace', () => {
    expect(qualifyDockerRef('python:3.11')).toBe('docker.io/library/python:3.11');
    expect(qualifyDockerRef('python')).toBe('docker.io/library/python:latest');
    expect(qualifyDockerRef('org/x')).toBe('docker.io/org/x:latest');
    expect(qualifyDockerRef('ghcr.io/org/x:1')).toBe('ghcr.io/org/x:1');
    expect(qualifyDockerRef('localhost:5000/x')).toBe('localhost:5000/x:latest');
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(qualifyDockerRef(`ubuntu@${digest}`)).toBe(`docker.io/library/ubuntu@${digest}`);
    expect(() => qualifyDockerRef('localhost/stint/env:1')).toThrow(/write stint:env:1/);
  });
});
