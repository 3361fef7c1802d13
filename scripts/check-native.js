/* eslint-disable */
// npm 11 may skip dependency install scripts; make sure better-sqlite3's native
// binding exists after `npm ci`, and build it from source if it does not.
const { execSync } = require('child_process');
function works() {
  try {
    const Database = require('better-sqlite3');
    new Database(':memory:').prepare('select 1').get();
    return true;
  } catch (e) {
    return false;
  }
}
function installed() {
  try {
    require.resolve('better-sqlite3');
    return true;
  } catch (e) {
    return false; // e.g. `npm install --package-lock-only`: nothing to check
  }
}
if (installed() && !works()) {
  console.log(
    '[postinstall] better-sqlite3 native binding missing: rebuilding from source',
  );
  execSync('npm rebuild better-sqlite3 --foreground-scripts', {
    stdio: 'inherit',
  });
  if (!works()) {
    console.error(
      '[postinstall] better-sqlite3 still does not load; see README "Troubleshooting"',
    );
    process.exit(1);
  }
}
