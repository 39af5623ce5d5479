/**
 * Helpers every queue script starts with. A box is one consumer group's share of the work:
 * a queue, or one group of a topic (each group has its own stream, so retries, limits and
 * dead letters stay per group). Under a box's base key live:
 *   :s  stream of stored messages, read through the consumer group `sluice`
 *   :d  sorted set of delayed messages (score = due time), moved to :s when due
 *   :r  sorted set of released entries (still in the PEL) waiting out their retry backoff,
 *       and of parked entries whose turn has come (score = when they are due)
 *   :a  hash entry id -> deliveries so far (the lease token); absent means 1, so a first
 *       delivery writes nothing
 *   :u  hash entry id -> deliveries that did not count as attempts
 *   :e  sorted set of leases longer than the horizon (score = when they run out)
 *   :h  hash ordering key -> entry id of its head (the one unfinished message delivered)
 *   :p:<key>  list of entries of that key parked behind its head
 *   :c  hash: parked entry count, where the XAUTOCLAIM scan goes on, and when it may next run
 *   :x  stream of dead letters
 *   :w  pub/sub channel that wakes consumers
 *
 * Leases live in the PEL itself. XAUTOCLAIM with a min-idle of H (the horizon: the
 * consumers' default lease) collects the entries whose lease ran out. An entry delivered or
 * claimed has idle time 0, so a lease of exactly H costs no write at all: the common case
 * pays nothing per message. A shorter lease L is written as an idle time of H - L
 * (XCLAIM IDLE ... JUSTID), and so is a release with a backoff of D <= H ms. Whatever must
 * stay out longer than H (a longer lease, kept in :e; a longer backoff, in :r; an entry
 * parked behind its key's head) is collected by XAUTOCLAIM after H and put back by the claim
 * script (see hold) instead of being delivered: one bounce every H ms, not a cost per claim.
 */
/** H: leases of exactly this long (the consumers' default) cost no write per message. */
export const leaseHorizonMs = 30_000;

export const prelude = `
local G = 'sluice'
local H = ${leaseHorizonMs}
local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensure(s)
  if redis.call('EXISTS', s) == 0 then
    redis.call('XGROUP', 'CREATE', s, G, '0', 'MKSTREAM')
  end
end
local function field(f, name)
  for i = 1, #f, 2 do
    if f[i] == name then return f[i + 1] end
  end
  return nil
end
local function each(list, fn)
  for i = 1, #list, 500 do
    fn(unpack(list, i, math.min(i + 499, #list)))
  end
end
-- Gives the entries a lease of ms from now and returns the ids still in the PEL. fresh: they
-- were just delivered or claimed (idle 0), so a lease of H needs no write. A stream that is
-- gone (Redis restarted without persistence) holds no leases.
local function lease(b, c, ids, ms, fresh)
  local kept = ids
  if not fresh or ms < H then
    kept = {}
    if redis.call('EXISTS', b .. ':s') == 0 then return kept end
    local idle = H - math.max(0, math.min(ms, H))
    each(ids, function(...)
      local args = {b .. ':s', G, c, 0, ...}
      args[#args + 1] = 'IDLE'
      args[#args + 1] = idle
      args[#args + 1] = 'JUSTID'
      for _, id in ipairs(redis.call('XCLAIM', unpack(args))) do kept[#kept + 1] = id end
    end)
  end
  local e = b .. ':e'
  if ms > H and #kept > 0 then
    local at = nowms() + ms
    each(kept, function(...)
      local args = {e}
      for _, id in ipairs({...}) do args[#args + 1] = at; args[#args + 1] = id end
      redis.call('ZADD', unpack(args))
    end)
  elseif #kept > 0 and redis.call('EXISTS', e) == 1 then
    each(kept, function(...) redis.call('ZREM', e, ...) end)
  end
  return kept
end
-- For an entry idle past H: when it is due (its backoff or long lease goes on), true when
-- it is parked behind the head of its key (token 0), or nil when it is to be delivered.
local function outUntil(b, id, now)
  local released = redis.call('ZSCORE', b .. ':r', id)
  if released then
    released = tonumber(released)
    if released > now then return released end
    return nil
  end
  local long = redis.call('ZSCORE', b .. ':e', id)
  if long and tonumber(long) > now then return tonumber(long) end
  if redis.call('HGET', b .. ':a', id) == '0' then return true end
  return nil
end
-- For an entry XAUTOCLAIM just collected (idle 0 again): whether it stays out, put back
-- until it is due.
local function hold(b, c, id, now)
  local due = outUntil(b, id, now)
  if type(due) == 'number' and due - now < H then
    redis.call('XCLAIM', b .. ':s', G, c, 0, id, 'IDLE', H - (due - now), 'JUSTID')
  end
  return due ~= nil
end
local function parse(receipt)
  local p1 = string.find(receipt, '|', 1, true)
  if not p1 then return nil end
  local p2 = string.find(receipt, '|', p1 + 1, true)
  if p2 then
    return string.sub(receipt, 1, p1 - 1), string.sub(receipt, p1 + 1, p2 - 1), string.sub(receipt, p2 + 1)
  end
  return string.sub(receipt, 1, p1 - 1), string.sub(receipt, p1 + 1), nil
end
local function token(b, id)
  return redis.call('HGET', b .. ':a', id) or '1'
end
local function valid(b, id, tok)
  return id ~= nil and token(b, id) == tok
end
-- After the head of a key finishes, its next parked entry becomes due at once.
local function advance(b, c, key, id)
  local h = b .. ':h'
  if redis.call('HGET', h, key) ~= id then return false end
  local nxt = redis.call('LPOP', b .. ':p:' .. key)
  if nxt then
    redis.call('HSET', h, key, nxt)
    redis.call('HINCRBY', b .. ':c', 'parked', -1)
    lease(b, c, {nxt}, 0)
    redis.call('ZADD', b .. ':r', nowms(), nxt)
    return true
  end
  redis.call('HDEL', h, key)
  return false
end
-- Removes finished entries from the stream and every index.
local function finish(b, ids)
  if #ids == 0 then return end
  local s = b .. ':s'
  each(ids, function(...)
    redis.call('XACK', s, G, ...)
    redis.call('XDEL', s, ...)
  end)
  for _, z in ipairs({':a', ':r', ':u', ':e'}) do
    if redis.call('EXISTS', b .. z) == 1 then
      local op = (z == ':r' or z == ':e') and 'ZREM' or 'HDEL'
      each(ids, function(...) redis.call(op, b .. z, ...) end)
    end
  end
end
-- A dead letter's message fields (as stored: id and body packed or apart, key, headers,
-- publish time), without the fields the dead-letter script added.
local function messageOf(f)
  local out = {}
  for i = 1, #f, 2 do
    local name = f[i]
    if name ~= 'a' and name ~= 'f' and name ~= 'e' then
      out[#out + 1] = name
      out[#out + 1] = f[i + 1]
    end
  end
  return out
end
local function fieldsOf(id, key, headers, body, t)
  local f = {'i', id, 'b', body}
  if key ~= '' then f[#f + 1] = 'k'; f[#f + 1] = key end
  if headers ~= '' then f[#f + 1] = 'h'; f[#f + 1] = headers end
  if t then f[#f + 1] = 't'; f[#f + 1] = t end
  return f
end
`;
