import { prelude } from './lua-prelude.js';

/**
 * ARGV: box base, consumer name, max, lease ms, ordered ('1' or '0'). Moves due delayed
 * messages into the stream, redelivers released entries whose backoff is over and leases
 * that ran out, then reads new entries (parking those behind the head of their key when
 * ordered). Returns { deliveries, nextDue (-1 for none), server now }; each delivery is
 * { entry id, token, attempt, fields }.
 */
export const claimScript = `${prelude}
local b, c, max, ms, ordered = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'
local s, d, r, a, h = b .. ':s', b .. ':d', b .. ':r', b .. ':a', b .. ':h'
local now = nowms()
local more = false

local due = redis.call('ZRANGEBYSCORE', d, '-inf', now, 'LIMIT', 0, 100)
if #due > 0 then
  ensure(s)
  for _, m in ipairs(due) do
    local e = cjson.decode(m)
    redis.call('XADD', s, '*', unpack(fieldsOf(e[2], e[3], e[4], e[5], e[6])))
  end
  each(due, function(...) redis.call('ZREM', d, ...) end)
  more = #due == 100
end

local function nextDue()
  if more then return now end
  local best = -1
  for _, z in ipairs({d, r}) do
    local first = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
    if first[2] then
      local at = tonumber(first[2])
      if best < 0 or at < best then best = at end
    end
  end
  return best
end
if redis.call('EXISTS', s) == 0 then return {{}, nextDue(), now} end

local out, ids = {}, {}
local hasU = redis.call('EXISTS', b .. ':u') == 1
-- A first delivery (from XREADGROUP) is token 1 and writes nothing; redeliveries count up.
local function deliver(id, f, again)
  local tok = 1
  if again then
    tok = tonumber(redis.call('HGET', a, id) or '1') + 1
    redis.call('HSET', a, id, tok)
  end
  local attempt = tok
  if hasU then attempt = tok - tonumber(redis.call('HGET', b .. ':u', id) or '0') end
  out[#out + 1] = {id, tok, attempt, f}
  ids[#ids + 1] = id
end

local function redeliver(entries)
  local got = {}
  for _, e in ipairs(entries) do
    if e and e[2] then
      local key = ordered and field(e[2], 'k')
      if key and not redis.call('HGET', h, key) then redis.call('HSET', h, key, e[1]) end
      deliver(e[1], e[2], true)
      got[e[1]] = true
    end
  end
  return got
end

-- Released entries whose backoff is over (and parked ones whose turn came) are listed in :r.
local released = redis.call('ZRANGEBYSCORE', r, '-inf', now, 'LIMIT', 0, max)
if #released > 0 then
  each(released, function(...) redis.call('ZREM', r, ...) end)
  local got = {}
  each(released, function(...)
    for id in pairs(redeliver(redis.call('XCLAIM', s, G, c, 0, ...))) do got[id] = true end
  end)
  local gone = {}
  for _, id in ipairs(released) do
    if not got[id] then gone[#gone + 1] = id end
  end
  finish(b, gone)
end

-- Leases that ran out. XAUTOCLAIM looks at no more than 10 x count PEL entries a call, so
-- the scan resumes where the last one stopped; after a sweep that found nothing, the next
-- waits a little, so that a large PEL of live leases is not walked on every claim.
local scan = redis.call('HMGET', b .. ':c', 'scanAt', 'cursor')
if #out < max and now >= tonumber(scan[1] or '0') then
  local claimed = redis.call('XAUTOCLAIM', s, G, c, H, scan[2] or '0-0', 'COUNT', max - #out)
  local before = #out
  local expired = {}
  for _, e in ipairs(claimed[2]) do
    if e and e[2] and not hold(b, c, e[1], now) then expired[#expired + 1] = e end
  end
  redeliver(expired)
  if #out > before and redis.call('EXISTS', r) == 1 then
    for i = before + 1, #out do redis.call('ZREM', r, out[i][1]) end
  end
  -- Entries deleted from the stream while pending: XAUTOCLAIM dropped them from the PEL.
  if claimed[3] and #claimed[3] > 0 then finish(b, claimed[3]) end
  redis.call('HSET', b .. ':c', 'cursor', claimed[1])
  if claimed[1] == '0-0' and #out == before then redis.call('HSET', b .. ':c', 'scanAt', now + 100) end
end

local rounds = 0
while #out < max do
  rounds = rounds + 1
  local want = max - #out
  local res = redis.call('XREADGROUP', 'GROUP', G, c, 'COUNT', want, 'STREAMS', s, '>')
  if not res then break end
  local entries = res[1][2]
  for _, e in ipairs(entries) do
    local key = ordered and field(e[2], 'k')
    local head = key and redis.call('HGET', h, key)
    if head and head ~= e[1] then
      -- Token 0: its first real delivery, when its turn comes, counts as 1.
      redis.call('HSET', a, e[1], 0)
      redis.call('RPUSH', b .. ':p:' .. key, e[1])
      redis.call('HINCRBY', b .. ':c', 'parked', 1)
    else
      if key then redis.call('HSET', h, key, e[1]) end
      deliver(e[1], e[2], false)
    end
  end
  if #entries < want or not ordered then break end
  if rounds >= 8 then
    more = #out < max
    break
  end
end

if #ids > 0 then lease(b, c, ids, ms, true) end
local nd = -1
if #out < max or more then nd = nextDue() end
return {out, nd, now}
`;
