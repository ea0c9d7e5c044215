// Lists every source line over 160 characters (issue 12 §2). Prettier wraps code at that width but
// leaves long strings and comments alone, so this catches what it cannot fix.
//   node scripts/check-line-length.mjs   prints `file:line: N characters`, exits 1 when there is any
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const maxLength = 160;
const root = new URL('../', import.meta.url);

// docs/ is prose and examples; generated code is never edited (and .gitignored, but be explicit).
const excluded = (file) => file.startsWith('docs/') || file.split('/').includes('generated');

const files = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.mts', '*.mjs', '*.js'], { cwd: root, encoding: 'utf8' })
  .split('\0')
  .filter((file) => file !== '' && !excluded(file));

let count = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(new URL(file, root), 'utf8');
  } catch (error) {
    // A file deleted in the work tree but still in the index is not a source line anyone reads.
    if (error.code === 'ENOENT') continue;
    throw error;
  }
  text.split(/\r?\n/).forEach((line, index) => {
    // Characters as a reader counts them: code points, not UTF-16 units.
    const length = [...line].length;
    if (length > maxLength) {
      count++;
      console.log(`${file}:${index + 1}: ${length} characters`);
    }
  });
}
if (count > 0) {
  console.error(`${count} line${count === 1 ? '' : 's'} over ${maxLength} characters`);
  process.exit(1);
}
