// @ts-check

/**
 * The audit trail. One row per record; `record` holds the record exactly as
 * it was written to stdout (already redacted), the other columns are the
 * filters the query API offers.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('audit_events', table => {
    table.comment(
      'Audit records: who did what, when, from where, and did it work',
    );
    table
      .string('id', 36)
      .primary()
      .notNullable()
      .comment('Record id (UUID), assigned once by the writer');
    table
      .bigInteger('ts_ms')
      .notNullable()
      .comment('Record timestamp, epoch milliseconds');
    table.string('plugin', 64).notNullable();
    table.string('event_name', 128).notNullable();
    table.string('stage', 16).notNullable();
    table.string('status', 16).notNullable();
    table.string('actor_id', 255).nullable();
    table.string('audit_id', 128).notNullable();
    table.string('task_id', 64).nullable().comment('meta.taskId');
    table.string('entity_ref', 255).nullable().comment('meta.entityRef');
    table.text('url').nullable().comment('request.url, redacted');
    table.text('record').notNullable().comment('The whole record as JSON');
    // Keyset pagination walks (ts_ms, id); every filter below pages the same way.
    table.index(['ts_ms', 'id'], 'audit_events_ts_idx');
    table.index(['event_name', 'ts_ms', 'id'], 'audit_events_event_ts_idx');
    table.index(['actor_id', 'ts_ms', 'id'], 'audit_events_actor_ts_idx');
    table.index(['audit_id'], 'audit_events_audit_id_idx');
    table.index(['task_id'], 'audit_events_task_id_idx');
    table.index(['entity_ref', 'ts_ms'], 'audit_events_entity_ref_idx');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('audit_events');
};
