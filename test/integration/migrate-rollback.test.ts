/** `migrate --rollback` refuses while tables hold data unless --force-drop-data names the database. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDatabaseUrl } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { forEachDatabase } from '../helpers/databases.js';

forEachDatabase('migrate --rollback with data', (db) => {
  test('refused (64, naming the database and the tables) until --force-drop-data repeats its name', async () => {
    const { knex, url } = db();
    await db().migrate();
    await knex('cases').insert({ reference: 'KEEP', title: 'data', status: 10 });
    await knex('surveys').insert({ name: 'S', owner_email: 'o@example.test', retention_months: 6 });
    const config = parseDatabaseUrl(url);
    const name = config.dialect === 'sqlite' ? 'test.sqlite3' : config.database!;
    const env = { DATABASE_URL: url };

    const refused = await runCli(['migrate', '--rollback', '--yes'], env);
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, new RegExp(`database "${name}" that hold rows: .*surveys.*cases`));
    assert.match(refused.stderr, new RegExp(`--force-drop-data ${name}`));
    const wrongName = await runCli(['migrate', '--rollback', '--yes', '--force-drop-data', 'production'], env);
    assert.equal(wrongName.code, 64);
    assert.equal(await knex.schema.hasTable('cases'), true);
    assert.equal((await knex('cases').select('reference'))[0].reference, 'KEEP');

    const forced = await runCli(['migrate', '--rollback', '--yes', '--force-drop-data', name], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(await knex.schema.hasTable('cases'), false);
    await db().migrate();
  });
});
