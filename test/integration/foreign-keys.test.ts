import assert from 'node:assert/strict';
import { before, beforeEach, test } from 'node:test';
import type { Knex } from 'knex';
import {
  buildDeletePlan,
  createDeletePlanCache,
  deleteWithDependents,
  discoverDeletePlan,
  GuardChangedError,
  UndeletableGraphError,
  type DeletePlan,
  type RootGuard,
} from '../../src/db/foreign-keys.js';
import { forEachDatabase } from '../helpers/databases.js';
import { insertSurvey, instant } from '../helpers/fixtures.js';
import {
  CHECKTICK_SURVEY_DEPENDENTS,
  CHECKTICK_TABLES,
  createCheckTickSchema,
  seedCheckTickSurvey,
  type SeededSurvey,
} from '../helpers/checktick-schema.js';

const SURVEY = 'surveys_survey';

/** CheckTick's rule: a survey under an active legal hold (removed_at IS NULL) is never deleted. */
const noActiveHold: RootGuard = (qb) =>
  qb.whereNotExists(function (this: Knex.QueryBuilder) {
    this.select(1).from('surveys_legalhold').whereRaw('?? = ??', ['surveys_legalhold.survey_id', `${SURVEY}.id`]).whereNull('surveys_legalhold.removed_at');
  });

async function rowCounts(knex: Knex): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of CHECKTICK_TABLES) {
    const [r] = await knex(t.name).count({ n: '*' });
    out[t.name] = Number(r.n);
  }
  return out;
}

forEachDatabase(
  'foreign-key discovery and deletion on CheckTick tables',
  (db) => {
    let plan: DeletePlan;
    let a: SeededSurvey;
    let translation: SeededSurvey;
    let other: SeededSurvey;
    let n = 0;

    before(async () => {
      await createCheckTickSchema(db().knex, db().dialect);
      plan = await discoverDeletePlan(db().knex, db().dialect, SURVEY);
    });

    beforeEach(async () => {
      n += 1;
      a = await seedCheckTickSurvey(db().knex, db().dialect, { key: `a${n}`, hold: 'removed' });
      translation = await seedCheckTickSurvey(db().knex, db().dialect, { key: `t${n}`, translatedFrom: a.surveyId });
      other = await seedCheckTickSurvey(db().knex, db().dialect, { key: `o${n}` });
    });

    test('discovery finds every table that references the survey, directly or through its children', () => {
      assert.deepEqual([...plan.dependents].sort(), [...CHECKTICK_SURVEY_DEPENDENTS].sort());
      assert.deepEqual(
        plan.setNull.map((e) => `${e.table}.${e.column}`),
        ['surveys_collectiondefinition.parent_id', 'surveys_survey.translated_from_id'],
      );
      const order = plan.deleteOrder.map((s) => s.table);
      // Leaf-first: every followed edge's child comes before its parent.
      for (const step of plan.deleteOrder) {
        for (const e of step.via) if (e.refTable !== SURVEY) assert.ok(order.indexOf(step.table) < order.indexOf(e.refTable), `${step.table} before ${e.refTable}`);
      }
      const conditions = plan.deleteOrder.find((s) => s.table === 'surveys_surveyquestioncondition');
      assert.deepEqual(conditions?.via.map((e) => e.column).sort(), ['question_id', 'target_question_id']);
      const escrow = plan.deleteOrder.find((s) => s.table === 'surveys_usersurveykekescrow');
      assert.deepEqual(escrow?.via.map((e) => e.refTable), [SURVEY], 'edges out of the survey graph (platform key version, users) are not followed');
    });

    test('deleting a survey removes its rows in every table, counts them, and commits', async () => {
      const before = await rowCounts(db().knex);
      const result = await db().knex.transaction((trx) => deleteWithDependents(trx, db().dialect, plan, [a.surveyId], { guard: noActiveHold }));
      assert.equal(result.roots, 1);
      assert.deepEqual(result.nulled, { 'surveys_collectiondefinition.parent_id': 1, 'surveys_survey.translated_from_id': 1 });
      const expected = Object.fromEntries(Object.entries(a.rows).filter(([, v]) => v > 0));
      assert.deepEqual(
        Object.fromEntries(Object.entries(result.deleted).filter(([, v]) => v > 0)),
        expected,
      );
      assert.equal(Object.keys(expected).length, CHECKTICK_SURVEY_DEPENDENTS.length + 1, 'the seed wrote a row in every dependent table');
      const after = await rowCounts(db().knex);
      for (const t of CHECKTICK_TABLES) assert.equal(after[t.name], before[t.name] - (a.rows[t.name] ?? 0), t.name);
      const survivors = await db().knex(SURVEY).select('id', 'translated_from_id').orderBy('id');
      assert.ok(!survivors.some((s) => Number(s.id) === a.surveyId));
      const t = survivors.find((s) => Number(s.id) === translation.surveyId);
      assert.equal(t?.translated_from_id, null, 'the translation survives, its link set to null');
      for (const s of [translation, other]) {
        for (const table of CHECKTICK_SURVEY_DEPENDENTS) {
          if (!(await db().knex(table).columnInfo()).survey_id) continue;
          const [r] = await db().knex(table).where('survey_id', s.surveyId).count({ n: '*' });
          assert.equal(Number(r.n), s.rows[table] ?? 0, `${table} of survey ${s.surveyId}`);
        }
      }
    });

    test('a survey under an active legal hold is left whole', async () => {
      const held = await seedCheckTickSurvey(db().knex, db().dialect, { key: `h${n}`, hold: 'active' });
      const before = await rowCounts(db().knex);
      const result = await db().knex.transaction((trx) => deleteWithDependents(trx, db().dialect, plan, [held.surveyId, other.surveyId], { guard: noActiveHold }));
      assert.equal(result.roots, 1);
      assert.equal(result.deleted.surveys_legalhold, 0);
      const after = await rowCounts(db().knex);
      for (const t of CHECKTICK_TABLES) assert.equal(after[t.name], before[t.name] - (other.rows[t.name] ?? 0), t.name);
      assert.equal((await db().knex(SURVEY).where('id', held.surveyId)).length, 1);
    });

    test('a hold placed after the roots were fixed is still honoured: the statements re-check it and the deletion rolls back', async () => {
      const before = await rowCounts(db().knex);
      let calls = 0;
      // The guard turns false after a few statements, as a hold placed mid-way would.
      const flipping: RootGuard = (qb) => {
        calls += 1;
        if (calls > 5) qb.whereRaw('1 = 0');
      };
      await assert.rejects(
        db().knex.transaction((trx) => deleteWithDependents(trx, db().dialect, plan, [other.surveyId], { guard: flipping })),
        GuardChangedError,
      );
      assert.deepEqual(await rowCounts(db().knex), before);
    });

    test('a plan that leaves one child table behind fails when the transaction ends, and changes nothing', async () => {
      const incomplete: DeletePlan = { ...plan, deleteOrder: plan.deleteOrder.filter((s) => s.table !== 'surveys_questionimage') };
      const before = await rowCounts(db().knex);
      let statementsDone = false;
      const run = db().knex.transaction(async (trx) => {
        await deleteWithDependents(trx, db().dialect, incomplete, [other.surveyId]);
        statementsDone = true;
      });
      await assert.rejects(run, /foreign key|constraint/i);
      // SQLite keeps the transaction open when COMMIT fails on a deferred key, and knex does not
      // roll it back: the caller must, or the connection goes on inside the failed transaction.
      if (db().dialect === 'sqlite') await db().knex.raw('ROLLBACK');
      // Deferred constraints (Django's on PostgreSQL and SQLite) let every statement pass: only COMMIT fails.
      // MariaDB checks each statement, so the DELETE of the questions fails there.
      assert.equal(statementsDone, db().dialect !== 'mysql');
      assert.deepEqual(await rowCounts(db().knex), before);
    });

    test('the plan cache reads the catalog once per run', async () => {
      const cached = createDeletePlanCache(db().knex, db().dialect);
      const first = cached(SURVEY);
      assert.equal(cached(SURVEY), first);
      assert.deepEqual(await first, plan);
    });

    test('a cycle of NOT NULL foreign keys is refused with the tables named; a nullable one is broken', async () => {
      const k = db().knex;
      await k.schema.createTable('cyc_root', (t) => t.increments('id'));
      await k.schema.createTable('cyc_a', (t) => {
        t.increments('id');
        t.integer('root_id').unsigned().notNullable().references('id').inTable('cyc_root');
        t.integer('b_id').unsigned().notNullable();
      });
      await k.schema.createTable('cyc_b', (t) => {
        t.increments('id');
        t.integer('a_id').unsigned().notNullable().references('id').inTable('cyc_a');
      });
      if (db().dialect !== 'sqlite') await k.schema.alterTable('cyc_a', (t) => t.foreign('b_id').references('id').inTable('cyc_b'));
      else {
        // SQLite cannot add a constraint to a table: recreate cyc_a with it.
        await k.schema.dropTable('cyc_b');
        await k.schema.dropTable('cyc_a');
        await k.raw('CREATE TABLE cyc_a (id integer PRIMARY KEY, root_id integer NOT NULL REFERENCES cyc_root(id), b_id integer NOT NULL REFERENCES cyc_b(id))');
        await k.raw('CREATE TABLE cyc_b (id integer PRIMARY KEY, a_id integer NOT NULL REFERENCES cyc_a(id))');
      }
      await assert.rejects(discoverDeletePlan(k, db().dialect, 'cyc_root'), (err: unknown) => {
        assert.ok(err instanceof UndeletableGraphError);
        assert.deepEqual(err.tables, ['cyc_a', 'cyc_b']);
        assert.match(err.message, /cyc_a\.b_id -> cyc_b\.id/);
        assert.match(err.message, /cyc_b\.a_id -> cyc_a\.id/);
        return true;
      });
      // The survey's plan does not reach these tables and is unchanged.
      assert.deepEqual(await discoverDeletePlan(k, db().dialect, SURVEY), plan);
    });
  },
  { migrate: false },
);

test('a nullable edge closing a cycle between two tables is set to null, and the rest ordered leaf-first', () => {
  const fk = (table: string, column: string, refTable: string, nullable = false) => ({
    constraint: `${table}_${column}`,
    table,
    column,
    refTable,
    refColumn: 'id',
    nullable,
    width: 1,
  });
  const plan = buildDeletePlan([fk('a', 'root_id', 'root'), fk('a', 'b_id', 'b', true), fk('b', 'a_id', 'a'), fk('c', 'b_id', 'b'), fk('x', 'y_id', 'y')], 'root');
  assert.deepEqual(plan.setNull.map((e) => `${e.table}.${e.column}`), ['a.b_id']);
  assert.deepEqual(plan.deleteOrder.map((s) => s.table), ['c', 'b', 'a']);
  assert.deepEqual(plan.dependents, ['a', 'b', 'c']);
  assert.throws(() => buildDeletePlan([fk('a', 'root_id', 'root'), fk('a', 'k', 'b', true)], 'root', { setNull: ['a.root_id'] }), /NOT NULL/);
});

forEachDatabase('foreign-key deletion on ontime\'s own schema', (db) => {
  test('the plan for surveys finds its four child tables, and a deletion under the hold guard removes one survey whole', async () => {
    const { knex, dialect } = db();
    const plan = await discoverDeletePlan(knex, dialect, 'surveys');
    assert.deepEqual(plan.dependents, ['survey_deletion_warnings', 'survey_legal_holds', 'survey_progress', 'survey_responses']);
    assert.deepEqual(plan.setNull, []);
    const gone = await insertSurvey(knex, dialect);
    const kept = await insertSurvey(knex, dialect);
    for (const id of [gone, kept]) {
      await knex('survey_responses').insert([{ survey_id: id }, { survey_id: id }]);
      await knex('survey_legal_holds').insert({ survey_id: id, removed_at: id === kept ? null : instant(dialect, new Date()) });
    }
    const guard: RootGuard = (qb) =>
      qb.whereNotExists(function (this: Knex.QueryBuilder) {
        this.select(1).from('survey_legal_holds').whereRaw('?? = ??', ['survey_legal_holds.survey_id', 'surveys.id']).whereNull('survey_legal_holds.removed_at');
      });
    const r = await knex.transaction((trx) => deleteWithDependents(trx, dialect, plan, [gone, kept], { guard }));
    assert.deepEqual(r.deleted, { survey_deletion_warnings: 0, survey_legal_holds: 1, survey_progress: 0, survey_responses: 2, surveys: 1 });
    assert.deepEqual((await knex('surveys').select('id')).map((s) => Number(s.id)), [kept]);
    assert.equal((await knex('survey_responses').where('survey_id', kept)).length, 2);
  });
});
