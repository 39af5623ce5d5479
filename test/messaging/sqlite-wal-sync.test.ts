import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isSluiceError } from '../../src/core/errors.js';
import {
  type DurableSync,
  TransactionBatcher,
} from '../../src/messaging/drivers/sqlite/transaction-batcher.js';
import { type WalFiles, WalSync } from '../../src/messaging/drivers/sqlite/wal-sync.js';
import { unique } from '../conformance/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-wal-sync-'));
const file = () => join(dir, `${unique('db')}.db`);

/** Files whose WAL syncs wait for the test to let each one finish (or fail). */
function scriptedFiles() {
  const syncs: { finish: () => void; fail: (error: Error) => void }[] = [];
  const opened: string[] = [];
  let closed = 0;
  let openError: Error | undefined;
  const files: WalFiles = {
    open: async (path) => {
      if (openError !== undefined && path.endsWith('-wal')) throw openError;
      opened.push(path);
      const handle = {
        datasync: () =>
          new Promise<void>((resolve, reject) => {
            syncs.push({ finish: resolve, fail: reject });
          }),
        sync: async () => {},
        close: async () => {
          closed++;
        },
      };
      return handle as unknown as FileHandle;
    },
  };
  return {
    files,
    syncs,
    opened,
    closed: () => closed,
    failOpen: (error: Error | undefined) => {
      openError = error;
    },
  };
}

const settledSoon = async (promise: Promise<unknown>) => {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return settled;
};

after(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite WAL sync', () => {
  it('shares one sync among callers and queues later callers for exactly one more', async () => {
    const scripted = scriptedFiles();
    const wal = new WalSync(join(dir, 'a.db'), scripted.files);
    const first = wal.flush();
    await new Promise((r) => setImmediate(r));
    assert.equal(scripted.syncs.length, 1);
    // Started while the first sync runs: they may have committed after it began.
    const second = wal.flush();
    const third = wal.flush();
    assert.equal(await settledSoon(second), false);
    scripted.syncs[0]!.finish();
    await first;
    assert.equal(await settledSoon(second), false, 'waits for a sync begun after its call');
    assert.equal(scripted.syncs.length, 2);
    scripted.syncs[1]!.finish();
    await Promise.all([second, third]);
    assert.equal(scripted.syncs.length, 2);
    assert.deepEqual(scripted.opened, [join(dir, 'a.db-wal'), dir]);
    await wal.close();
    assert.equal(scripted.closed(), 2);
  });

  it('rejects with SLUICE_SYNC_FAILED when a sync fails, and the next call syncs again', async () => {
    const scripted = scriptedFiles();
    const wal = new WalSync(join(dir, 'b.db'), scripted.files);
    const failing = wal.flush();
    await new Promise((r) => setImmediate(r));
    const disk = new Error('EIO: i/o error');
    scripted.syncs[0]!.fail(disk);
    await assert.rejects(failing, (error: unknown) => {
      assert.ok(isSluiceError(error, 'SLUICE_SYNC_FAILED'));
      assert.equal((error as Error).cause, disk);
      return true;
    });
    const retried = wal.flush();
    await new Promise((r) => setImmediate(r));
    scripted.syncs[1]!.finish();
    await retried;
    await wal.close();
  });

  it('rejects when the WAL cannot be opened and opens it again on the next call', async () => {
    const scripted = scriptedFiles();
    const wal = new WalSync(join(dir, 'c.db'), scripted.files);
    scripted.failOpen(new Error('ENOENT'));
    await assert.rejects(wal.flush(), (error: unknown) =>
      isSluiceError(error, 'SLUICE_SYNC_FAILED'),
    );
    scripted.failOpen(undefined);
    const next = wal.flush();
    await new Promise((r) => setImmediate(r));
    scripted.syncs[0]!.finish();
    await next;
    await wal.close();
  });

  it('close waits for the sync under way, then refuses new ones', async () => {
    const scripted = scriptedFiles();
    const wal = new WalSync(join(dir, 'd.db'), scripted.files);
    const running = wal.flush();
    await new Promise((r) => setImmediate(r));
    const closing = wal.close();
    assert.equal(await settledSoon(closing), false);
    scripted.syncs[0]!.finish();
    await Promise.all([running, closing]);
    await assert.rejects(wal.flush(), (error: unknown) =>
      isSluiceError(error, 'SLUICE_SYNC_FAILED'),
    );
  });

  it('fdatasyncs the real WAL file once per flush, and the directory once', async () => {
    const path = file();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x)');
    const datasyncs: string[] = [];
    const dirSyncs: string[] = [];
    // Real handles, counted: a WalSync that skipped the sync would leave both lists empty.
    const counted: WalFiles = {
      open: async (opened) => {
        const handle = await open(opened, 'r');
        const { datasync, sync } = handle;
        handle.datasync = () => {
          datasyncs.push(opened);
          return datasync.call(handle);
        };
        handle.sync = () => {
          dirSyncs.push(opened);
          return sync.call(handle);
        };
        return handle;
      },
    };
    const wal = new WalSync(path, counted);
    db.exec("INSERT INTO t VALUES ('a')");
    await wal.flush();
    assert.deepEqual(datasyncs, [`${path}-wal`]);
    assert.deepEqual(dirSyncs, [dir]);
    db.exec("INSERT INTO t VALUES ('b')");
    await wal.flush();
    assert.equal(datasyncs.length, 2, 'each flush after a commit syncs again');
    await wal.close();
    db.close();
  });
});

/** A DurableSync the test completes or fails by hand. */
function manualSync() {
  const waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  const sync: DurableSync = {
    flush: () =>
      new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject });
      }),
    close: async () => {},
  };
  return { sync, waiting };
}

describe('sqlite group commit with a WAL sync', () => {
  const open = () => {
    const db = new Database(file());
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x)');
    return db;
  };

  it('resolves durable writes after the sync and others at commit, when all are visible', async () => {
    const db = open();
    const { sync, waiting } = manualSync();
    const commit = new TransactionBatcher(db, sync);
    const committed: string[] = [];
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const durable = commit.run(
      () => insert.run('durable').changes,
      true,
      () => committed.push('durable'),
    );
    const light = commit.run(() => insert.run('light').changes, false);
    assert.equal(await light, 1);
    assert.deepEqual(committed, ['durable']);
    assert.equal(db.prepare('SELECT COUNT(*) FROM t').pluck().get(), 2);
    assert.equal(await settledSoon(durable), false, 'a durable write waits for the sync');
    assert.equal(waiting.length, 1);
    waiting[0]!.resolve();
    assert.equal(await durable, 1);
    await commit.close();
    db.close();
  });

  it('rejects the durable writes of a failed sync, keeping the commit and the others', async () => {
    const db = open();
    const { sync, waiting } = manualSync();
    const commit = new TransactionBatcher(db, sync);
    const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
    const a = commit.run(() => insert.run('a'), true);
    const b = commit.run(() => insert.run('b'), true);
    const light = commit.run(() => insert.run('c'), false);
    await light;
    assert.equal(waiting.length, 1, 'one sync for the whole group');
    const failure = new Error('sync failed');
    waiting[0]!.reject(failure);
    await assert.rejects(a, failure);
    await assert.rejects(b, failure);
    assert.equal(db.prepare('SELECT COUNT(*) FROM t').pluck().get(), 3);
    await commit.close();
    db.close();
  });

  it('does not run the commit hook of a write that failed', async () => {
    const db = open();
    const { sync, waiting } = manualSync();
    const commit = new TransactionBatcher(db, sync);
    const hooks: string[] = [];
    const failing = commit.run(
      () => {
        throw new Error('full');
      },
      true,
      () => hooks.push('failing'),
    );
    const ok = commit.run(
      () => db.prepare('INSERT INTO t (x) VALUES (1)').run(),
      true,
      () => hooks.push('ok'),
    );
    await assert.rejects(failing, /full/);
    waiting[0]!.resolve();
    await ok;
    assert.deepEqual(hooks, ['ok']);
    await commit.close();
    db.close();
  });
});
