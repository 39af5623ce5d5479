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
 *   :h  hash ordering key -> entry id of its head (the one unfinished message delivered)
 *   :p:<key>  list of entries of that key parked behind its head
 *   :c  hash: parked entry count, where the XAUTOCLAIM scan goes on, and when it may next run
 *   :x  stream of dead letters
 *   :w  pub/sub channel that wakes consumers
 *
 * Leases live in the PEL itself. Leases differ per consumer, so a lease of L ms is written
 * as an idle time of H - L (XCLAIM IDLE ... JUSTID), where H is one horizon for the whole
 * group: the lease has run out exactly when the entry has been idle H ms, which is what
 * XAUTOCLAIM with min-idle H collects. Extending a lease rewrites the idle time the same way;
 * a release with a backoff of D ms writes H - D. Parked entries stay idle well below H.
 */
export const prelude = `
local G = 'sluice'
local H = 1000000000000
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
-- Sets the entries' leases to run out in ms (0: due now); returns the ids still in the PEL.
-- A stream that is gone (Redis restarted without persistence) holds no leases.
local function lease(b, c, ids, ms)
  local kept = {}
  if redis.call('EXISTS', b .. ':s') == 0 then return kept end
  local idle = H - math.max(0, math.min(ms, H))
  each(ids, function(...)
    local args = {b .. ':s', G, c, 0, ...}
    args[#args + 1] = 'IDLE'
    args[#args + 1] = idle
    args[#args + 1] = 'JUSTID'
    for _, id in ipairs(redis.call('XCLAIM', unpack(args))) do kept[#kept + 1] = id end
  end)
  return kept
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
  for _, z in ipairs({':a', ':r', ':u'}) do
    if redis.call('EXISTS', b .. z) == 1 then
      each(ids, function(...) redis.call(z == ':r' and 'ZREM' or 'HDEL', b .. z, ...) end)
    end
  end
end
local function fieldsOf(id, key, headers, body, t)
  local f = {'i', id, 'b', body}
  if key ~= '' then f[#f + 1] = 'k'; f[#f + 1] = key end
  if headers ~= '' then f[#f + 1] = 'h'; f[#f + 1] = headers end
  if t then f[#f + 1] = 't'; f[#f + 1] = t end
  return f
end
`;
