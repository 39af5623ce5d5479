import { createHash } from 'node:crypto';

/**
 * GCRA in one atomic step. Times are microseconds from the server's own `TIME`, so every
 * process shares one clock. The TAT is written with `%.0f` because `tostring` keeps only
 * 14 significant digits, too few for microseconds since the epoch.
 *
 * KEYS[1] the key; ARGV: emission interval (µs), tolerance (µs), cost.
 * Returns { allowed (0|1), remaining, reset after (µs), retry after (µs) }.
 */
export const GCRA_SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + interval * cost
local allow_at = nxt - tolerance
if allow_at > now then
  local remaining = math.floor((tolerance - (tat - now)) / interval + 1e-6)
  return { 0, remaining, math.ceil(tat - now), math.ceil(allow_at - now) }
end
local ttl = math.ceil((nxt - now) / 1000)
if ttl > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', math.ceil(nxt)), 'PX', ttl)
end
local remaining = math.floor((tolerance - (nxt - now)) / interval + 1e-6)
return { 1, remaining, math.ceil(nxt - now), 0 }
`;

export const GCRA_SHA = createHash('sha1').update(GCRA_SCRIPT).digest('hex');
