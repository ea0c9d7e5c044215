import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MigrationError, readMigrations, splitStatements } from './migration-runner.js';

function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'calltrack-migrations-unit-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

describe('splitStatements', () => {
  it('splits at a line ending in ; or a line holding only ;', () => {
    assert.deepEqual(splitStatements("CREATE TABLE a (x String)\nENGINE = Memory\n;\nINSERT INTO a VALUES ('1');\r\nSELECT 1"), [
      'CREATE TABLE a (x String)\nENGINE = Memory',
      "INSERT INTO a VALUES ('1')",
      'SELECT 1',
    ]);
  });

  it('keeps a ; inside a line and in comment lines, and drops comment-only chunks', () => {
    assert.deepEqual(splitStatements("-- header; still a comment\nSELECT 'a;b', 1 ;  \n-- trailing note\n\n"), ["-- header; still a comment\nSELECT 'a;b', 1"]);
  });
});

describe('readMigrations', () => {
  it('orders files by number, hashes them and ignores non-SQL files', () =>
    withDir({ '0002_create_b.sql': 'SELECT 2;', '0001_create_a.sql': 'SELECT 1;', 'README.md': '#' }, async (dir) => {
      const files = await readMigrations(dir);
      assert.deepEqual(
        files.map((f) => [f.version, f.name, f.statements]),
        [
          [1, '0001_create_a', ['SELECT 1']],
          [2, '0002_create_b', ['SELECT 2']],
        ],
      );
      assert.match(files[0]?.checksum ?? '', /^[0-9a-f]{64}$/);
      assert.notEqual(files[0]?.checksum, files[1]?.checksum);
    }));

  it('throws on a gap', () =>
    withDir({ '0001_create_a.sql': 'SELECT 1;', '0003_create_c.sql': 'SELECT 3;' }, async (dir) => {
      await assert.rejects(readMigrations(dir), /gap: expected 2, found 0003_create_c/);
    }));

  it('throws when numbering does not start at 0001', () =>
    withDir({ '0002_create_b.sql': 'SELECT 2;' }, async (dir) => {
      await assert.rejects(readMigrations(dir), MigrationError);
    }));

  it('throws on a duplicate number', () =>
    withDir({ '0001_create_a.sql': 'SELECT 1;', '0001_create_b.sql': 'SELECT 1;' }, async (dir) => {
      await assert.rejects(readMigrations(dir), /duplicate migration number 1/);
    }));

  it('throws on a misnamed SQL file or an empty migration', async () => {
    await withDir({ '1_create_a.sql': 'SELECT 1;' }, async (dir) => {
      await assert.rejects(readMigrations(dir), /not named NNNN_verb_noun.sql/);
    });
    await withDir({ '0001_create_a.sql': '-- nothing\n' }, async (dir) => {
      await assert.rejects(readMigrations(dir), /no statements/);
    });
  });
});
