import { prelude } from './lua-prelude.js';

/** ARGV: box base. Returns { depth, in flight, delayed, oldest publish time (-1), dead, now }. */
export const statsScript = `${prelude}
local b = ARGV[1]
local s, d = b .. ':s', b .. ':d'
local now = nowms()
local stored, inFlight, backoff = 0, 0, 0
if redis.call('EXISTS', s) == 1 then
  stored = redis.call('XLEN', s)
  backoff = redis.call('ZCOUNT', b .. ':r', '(' .. now, '+inf')
  local pending = redis.call('XPENDING', s, G)[1]
  -- Idle past the horizon: run out, unless the next claim will put it back (see hold).
  local expired = 0
  local holding = redis.call('EXISTS', b .. ':r', b .. ':e') > 0 or redis.call('HLEN', b .. ':a') > 0
  for _, p in ipairs(redis.call('XPENDING', s, G, 'IDLE', H, '-', '+', 100000)) do
    if not holding or outUntil(b, p[1], now) == nil then expired = expired + 1 end
  end
  local parked = tonumber(redis.call('HGET', b .. ':c', 'parked') or '0')
  inFlight = math.max(0, pending - expired - backoff - parked)
end
local oldest = -1
local first = redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1]
if first then
  oldest = tonumber(field(first[2], 't') or string.sub(first[1], 1, string.find(first[1], '-', 1, true) - 1))
end
for _, m in ipairs(redis.call('ZRANGE', d, 0, 99)) do
  local t = cjson.decode(m)[6]
  if oldest < 0 or t < oldest then oldest = t end
end
return {stored - inFlight - backoff, inFlight, redis.call('ZCARD', d) + backoff, oldest, redis.call('XLEN', b .. ':x'), now}
`;

/** ARGV: box base, dead-letter entry ids... Moves them back as fresh messages. */
export const replayScript = `${prelude}
local b = ARGV[1]
local s, x = b .. ':s', b .. ':x'
ensure(s)
local moved = 0
for i = 2, #ARGV do
  local e = redis.call('XRANGE', x, ARGV[i], ARGV[i])[1]
  if e then
    redis.call('XADD', s, '*', unpack(messageOf(e[2])))
    redis.call('XDEL', x, ARGV[i])
    moved = moved + 1
  end
end
if moved > 0 then redis.call('PUBLISH', b .. ':w', '1') end
return moved
`;

/** ARGV: box base, consumer. Forgets a consumer that holds nothing, so groups do not fill up with dead names. */
export const forgetConsumerScript = `${prelude}
local s = ARGV[1] .. ':s'
if redis.call('EXISTS', s) == 0 then return 0 end
if #redis.call('XPENDING', s, G, '-', '+', 1, ARGV[2]) > 0 then return 0 end
return redis.call('XGROUP', 'DELCONSUMER', s, G, ARGV[2])
`;
