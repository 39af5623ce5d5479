import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  length: number,
) => Promise<Buffer>;

interface User {
  salt: Buffer;
  hash: Buffer;
}

/** In-memory users with scrypt-hashed passwords; the demo accounts are seeded at start. */
export class Users {
  readonly #users = new Map<string, User>();

  async add(name: string, password: string): Promise<void> {
    const salt = randomBytes(16);
    this.#users.set(name, { salt, hash: await derive(password, salt, 32) });
  }

  async verify(name: string, password: string): Promise<boolean> {
    const user = this.#users.get(name);
    // Hash even for an unknown name, so timing does not reveal which names exist.
    const salt = user?.salt ?? randomBytes(16);
    const hash = await derive(password, salt, 32);
    return user !== undefined && timingSafeEqual(hash, user.hash);
  }
}

/** Each demo user's password is its name followed by `-password`. */
export const demoUsers: [string, string][] = ['alice', 'bob', 'carol', 'dave'].map((name) => [
  name,
  `${name}-password`,
]);
