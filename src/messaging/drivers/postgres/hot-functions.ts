import { ackDeleteSql, claimSql, claimUpdateSql, nextDueSql } from './leases.js';

/**
 * The settings the hot statements run under. The claim's rows are found through
 * `messages_claim` in claim order, stopping after `max` live rows. Left to itself the
 * planner often prefers a bitmap scan and a sort, because the statistics of a queue table
 * are nearly always stale (it fills and drains between two ANALYZEs): that scan visits
 * every index entry of the source below `now`, the dead ones too (each claim moves a row's
 * due_at, each ack deletes it), and marks none of them dead, so each claim costs more than
 * the one before until VACUUM runs. An ordered index scan stops early and marks the dead
 * entries it passes, so the next scan skips them. With a queue of 30,000 messages this cut
 * the server time of the claims five-fold and of the acks three-fold.
 */
export const pinned = 'SET enable_bitmapscan = off SET enable_seqscan = off';

/**
 * PL/pgSQL rather than SQL: it keeps each statement's plan for the session (a SQL
 * function would parse and plan its body again on every call). Every column the bodies
 * name is qualified; `use_column` settles any clash with the output columns anyway.
 */
function body(statement: string): string {
  return `#variable_conflict use_column
    BEGIN ${statement}; END`;
}

/**
 * Schema version 2: the claim (plain and by key) and the ack as SQL functions carrying
 * those settings, so they apply to these statements only, never to the application's
 * queries on a shared pool. Additive: processes of version 1 keep running their own
 * statements against the same tables.
 */
export function hotFunctions(s: string): string[] {
  const claimColumns = `seq bigint, lease_token bigint, id text, key text, headers text,
    body text, attempt integer, published_at bigint, next_due bigint`;
  return [
    `CREATE OR REPLACE FUNCTION ${s}.claim(text, integer, bigint)
       RETURNS TABLE (${claimColumns}) LANGUAGE plpgsql VOLATILE ${pinned}
       AS $body$ ${body(`RETURN QUERY ${claimSql(s, false)}`)} $body$`,
    `CREATE OR REPLACE FUNCTION ${s}.claim_by_key(text, integer, bigint)
       RETURNS TABLE (${claimColumns}) LANGUAGE plpgsql VOLATILE ${pinned}
       AS $body$ ${body(`RETURN QUERY ${claimSql(s, true)}`)} $body$`,
    // Completing a keyed message unblocks the next one of its key: wake the consumers.
    `CREATE OR REPLACE FUNCTION ${s}.ack(text, bigint[], bigint[], text)
       RETURNS void LANGUAGE plpgsql VOLATILE ${pinned}
       AS $body$ #variable_conflict use_column
       DECLARE keyed boolean;
       BEGIN
         WITH done AS (${ackDeleteSql(s)})
         SELECT bool_or(done.key IS NOT NULL) INTO keyed FROM done;
         IF keyed THEN PERFORM pg_notify($4, $1); END IF;
       END $body$`,
  ];
}

/** The claimed rows as a delivery needs them: the receipt in one column, in seq order. */
function claimedRows(s: string, orderByKey: boolean): string {
  return `RETURN QUERY WITH c AS (${claimUpdateSql(s, orderByKey)})
    SELECT c.seq || ':' || c.lease_token, c.id, c.key, c.headers, c.body, c.attempt,
      c.published_at
    FROM c ORDER BY c.seq`;
}

/**
 * Schema version 4: the claim ($4: by key) returning only what a delivery needs. Only a
 * claim that found fewer than $2 rows looks up when the next message falls due, in one
 * more row without a receipt whose `published_at` carries it (NULL: nothing stored). It
 * runs after the claim, so it sees the rows just leased, due again when their lease ends.
 * The lookup walks the index entries of the acked rows whose lease would have run on,
 * so a full claim, whose consumer does not wait, is spared it. Additive: processes of
 * versions 2 and 3 keep running `claim`.
 */
export function claimFunctions(s: string): string[] {
  return [
    `CREATE OR REPLACE FUNCTION ${s}.claim_batch(text, integer, bigint, boolean)
       RETURNS TABLE (receipt text, id text, key text, headers text, body text,
         attempt integer, published_at bigint)
       LANGUAGE plpgsql VOLATILE ${pinned}
       AS $body$ #variable_conflict use_column
       DECLARE claimed integer;
       BEGIN
         IF $4 THEN ${claimedRows(s, true)};
         ELSE ${claimedRows(s, false)};
         END IF;
         GET DIAGNOSTICS claimed = ROW_COUNT;
         IF claimed < $2 THEN
           RETURN QUERY SELECT NULL::text, NULL::text, NULL::text, NULL::text, NULL::text,
             NULL::integer, ${nextDueSql(s)};
         END IF;
       END $body$`,
  ];
}
