/**
 * Code and docs cite docs/architecture.md by section (and, in the publish pipeline, by step):
 * every such citation in src/, test/, docs/ and the README names a heading (and a step) the
 * page has, and a file the page places under one step cites that step, not another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listFiles, repoRoot } from './repo-files.js';

const ARCHITECTURE = 'docs/architecture.md';

/** One `## §N Title` of the page, with the numbered steps of its top-level list. */
interface Section {
  title: string;
  /** Step number → the step's text (continuation lines included). */
  steps: Map<number, string>;
}

/** The page's sections by number. */
function parseSections(page: string): Map<number, Section> {
  const sections = new Map<number, Section>();
  let current: Section | undefined;
  let step: number | undefined;
  for (const line of page.split('\n')) {
    const heading = /^## §(\d+) (.+)$/.exec(line);
    if (heading) {
      current = { title: heading[2]!.trim(), steps: new Map() };
      sections.set(Number(heading[1]), current);
      step = undefined;
      continue;
    }
    if (!current) continue;
    const item = /^(\d+)\. /.exec(line);
    if (item) {
      step = Number(item[1]);
      current.steps.set(step, line);
    } else if (step !== undefined && /^\s+\S/.test(line)) {
      current.steps.set(step, `${current.steps.get(step)}\n${line}`);
    } else if (line.trim() !== '') {
      step = undefined;
    }
  }
  return sections;
}

/** GitHub's anchor for a heading: lower case, punctuation (the `§` too) dropped, spaces to hyphens. */
function anchorOf(number: number, section: Section): string {
  return `§${number} ${section.title}`.toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').trim().replace(/\s/g, '-');
}

/** A citation found in a file. */
interface Citation {
  section: number;
  step?: number;
  text: string;
}

// A citation may wrap onto the next comment line (` * ` or `// `): join those first.
const joinWrapped = (text: string) => text.replace(/\n[ \t]*(?:\*(?!\/)|\/\/)?[ \t]*/g, ' ');
const SECTION_REF = String.raw`§\d+(?:\s+step\s+\d+)?`;
const CITATION = new RegExp(String.raw`architecture(?:\.md)?\]?\s+(${SECTION_REF}(?:(?:,\s*|\s+and\s+)${SECTION_REF})*)`, 'g');

/**
 * The citations in `text`: `architecture.md §N`, `architecture §N step M`, lists such as
 * `§4, §8`; in the page itself, every bare `§N` (it cites its own sections that way).
 */
function findCitations(text: string, isThePage = false): Citation[] {
  const joined = joinWrapped(text);
  const refs: string[] = [];
  if (isThePage) {
    for (const m of joined.matchAll(new RegExp(String.raw`(?<!RFC \d+ )${SECTION_REF}`, 'g'))) refs.push(m[0]);
  } else {
    for (const m of joined.matchAll(CITATION)) refs.push(...m[1]!.match(new RegExp(SECTION_REF, 'g'))!);
  }
  return refs.map((ref) => {
    const [, section, step] = /^§(\d+)(?:\s+step\s+(\d+))?$/.exec(ref)!;
    return { section: Number(section), ...(step ? { step: Number(step) } : {}), text: ref.replace(/\s+/g, ' ') };
  });
}

/** What is wrong with the citations of `file` (its text `text`), one line each. */
function wrongCitations(file: string, text: string, sections: Map<number, Section>): string[] {
  const wrong: string[] = [];
  for (const c of findCitations(text, file === ARCHITECTURE)) {
    const section = sections.get(c.section);
    if (!section) {
      wrong.push(`${file}: "${c.text}": ${ARCHITECTURE} has no heading "## §${c.section} …"`);
      continue;
    }
    if (c.step === undefined) continue;
    if (!section.steps.has(c.step)) {
      wrong.push(`${file}: "${c.text}": §${c.section} ${section.title} has no step ${c.step}`);
      continue;
    }
    const namedIn = [...section.steps].filter(([, body]) => body.includes(`\`${file}\``)).map(([n]) => n);
    if (namedIn.length > 0 && !namedIn.includes(c.step)) {
      wrong.push(`${file}: "${c.text}": §${c.section} names this file under step ${namedIn.join(', ')}, not ${c.step}`);
    }
  }
  for (const m of text.matchAll(/architecture\.md#([\w%-]+)/g)) {
    const anchors = [...sections].map(([n, s]) => anchorOf(n, s));
    if (!anchors.includes(m[1]!)) wrong.push(`${file}: link to #${m[1]}: ${ARCHITECTURE} has the anchors ${anchors.join(', ')}`);
  }
  return wrong;
}

const page = `# Architecture

## §1 Object model

Text (§2).

## §2 The publish pipeline

1. **Snapshot**: \`src/build/snapshot.ts\`.
2. **Version**: one transaction.
3. **Build**: the mode is decided
   by \`src/build/detect-app.ts\`.

After the list.
`;

test('the check refuses a missing section, a missing step, a step the page does not place the file under, and a bad anchor', () => {
  const sections = parseSections(page);
  assert.deepEqual([...sections.keys()], [1, 2]);
  assert.deepEqual([...sections.get(2)!.steps.keys()], [1, 2, 3]);
  const check = (file: string, text: string) => wrongCitations(file, text, sections);

  assert.deepEqual(check('src/build/detect-app.ts', '/**\n * Decides how it is built (docs/architecture.md §2\n * step 3), with a reason.\n */'), []);
  assert.match(check('src/build/detect-app.ts', '// docs/architecture.md §2 step 2').join(), /names this file under step 3, not 2/);
  assert.match(check('src/x.ts', '// docs/architecture.md §2 step 4').join(), /has no step 4/);
  assert.match(check('src/x.ts', '// see docs/architecture.md §1, §9').join(), /no heading "## §9/);
  assert.match(check('docs/x.md', '[architecture §3](architecture.md#3-states)').join(), /no heading "## §3.*link to #3-states/s);
  assert.deepEqual(check('docs/x.md', '[architecture §2](architecture.md#2-the-publish-pipeline)'), []);
  assert.deepEqual(check('src/x.ts', '// RFC 9110 §7.6.1 and §12'), [], 'other documents’ sections are not citations');
  assert.match(check(ARCHITECTURE, 'as §2 step 3 and §5 say').join(), /no heading "## §5/);
});

test('every docs/architecture.md citation in src/, test/, docs/ and the README names a heading and step it has', async () => {
  const sections = parseSections(await readFile(join(repoRoot, ARCHITECTURE), 'utf8'));
  assert.ok(sections.size >= 8, `found only ${sections.size} "## §N" headings in ${ARCHITECTURE}: the page changed shape`);
  const text = (p: string) => /\.(ts|mts|mjs|js|md)$/.test(p);
  const files = [
    ...(await listFiles('src', text)),
    ...(await listFiles('test', (p) => text(p) && p !== 'test/house/architecture-citations.test.ts')),
    ...(await listFiles('docs', text)),
    'README.md',
  ];
  let cited = 0;
  const wrong: string[] = [];
  for (const file of files) {
    const body = await readFile(join(repoRoot, file), 'utf8');
    cited += findCitations(body, file === ARCHITECTURE).length;
    wrong.push(...wrongCitations(file, body, sections));
  }
  assert.ok(cited > 15, `found only ${cited} citations: the pattern no longer matches how the code cites the page`);
  assert.deepEqual(wrong, [], `fix these citations (or the page):\n  ${wrong.join('\n  ')}`);
});
